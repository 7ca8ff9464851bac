//! Times a scan of a large synthetic export (forty people for a week, repeated over several
//! organisations' worth of users): `cargo run --release -p jcwatch-rules --example scan_timing`.

use std::time::Instant;

use jcwatch_rules::Engine;
use jcwatch_rules::fixtures::*;

fn main() {
    let mut t = Timeline::new("timing", "2024-05-06T06:00:00Z");
    let users: Vec<String> = (0..300).map(|i| format!("user{i:03}")).collect();
    for _day in 0..7 {
        for (i, user) in users.iter().enumerate() {
            t.wait("7s").push(user_login(user));
            for app in ["Slack", "Zoom", "Jira", "Google Workspace"] {
                t.wait("9s").push(sso(user, app));
            }
            if i % 3 == 0 {
                t.wait("5s").push(radius(user));
            }
            if i % 9 == 0 {
                t.wait("5s").push(user_login_failed(user));
            }
        }
        for k in 0..500 {
            t.wait("2s").push(
                admin_change("user_update", "hr.sync@corp.example")
                    .api_key()
                    .from(&ASHBURN_DC)
                    .on_user(&users[k % users.len()]),
            );
        }
        t.wait("8h");
    }
    let events = t.parsed();

    let started = Instant::now();
    let alerts = Engine::with_defaults().scan(events.clone());
    let took = started.elapsed();

    println!(
        "{} events, {} alerts, {:.2?} ({:.0} events/s)",
        events.len(),
        alerts.len(),
        took,
        events.len() as f64 / took.as_secs_f64()
    );
}
