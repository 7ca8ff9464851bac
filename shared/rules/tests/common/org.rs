//! A synthetic ordinary organisation: forty people working a week, with the noise real
//! tenants have (typos, forgotten passwords, travel, SSO and Wi-Fi traffic, a new hire,
//! routine admin work, an HR system syncing through an API key, SCIM provisioning).

use chrono::{DateTime, Duration as TimeDelta, Utc};
use jcwatch_model::Event;
use jcwatch_rules::fixtures::*;
use serde_json::{Value, json};

/// A small deterministic random generator.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

pub const ADMIN: &str = "it.admin@corp.example";
pub const HELPDESK: &str = "helpdesk@corp.example";
pub const HR_SYNC: &str = "hr.sync@corp.example";
pub const APPS: &[&str] = &[
    "Slack",
    "Google Workspace",
    "Salesforce",
    "Zoom",
    "Jira",
    "GitHub",
];

/// The office's shared address.
pub const OFFICE: Place = PARIS;

pub struct Person {
    pub name: String,
    pub home: Place,
    pub device: Ua,
    pub phone: bool,
    pub push: bool,
    pub wifi: bool,
}

const FIRST: &[&str] = &[
    "ana", "ben", "cleo", "dan", "eva", "finn", "gus", "hana", "ivan", "jade", "kai", "lina",
    "max", "nina", "omar", "pia", "quinn", "rosa", "sam", "tara", "ugo", "vera", "will", "xena",
    "yann", "zoe", "adam", "bea", "carl", "dora", "eli", "faye", "gabe", "hugo", "iris", "joel",
    "kira", "leo", "mona", "nils",
];
const LAST: &[&str] = &["martin", "bernard", "dubois", "moreau", "laurent"];

fn home_ip(i: usize) -> &'static str {
    // Residential addresses, each person on their own line, spread over a few providers.
    let providers = ["82.65", "90.14", "86.246", "78.192"];
    let text = format!(
        "{}.{}.{}",
        providers[i % providers.len()],
        10 + i,
        20 + (i * 7) % 200
    );
    Box::leak(text.into_boxed_str())
}

pub fn people() -> Vec<Person> {
    let devices = [CHROME_MAC, EDGE_WINDOWS, FIREFOX_WINDOWS, CHROME_MAC];
    (0..40)
        .map(|i| {
            let name = format!("{}.{}", FIRST[i], LAST[i % LAST.len()]);
            let base = match i % 10 {
                7 => LYON,
                8 => LONDON,
                _ => PARIS,
            };
            Person {
                name,
                home: base.via(home_ip(i)),
                device: devices[i % devices.len()],
                phone: i % 3 == 0,
                push: i % 2 == 0,
                wifi: i % 4 != 3,
                // `push` users answer JumpCloud Protect prompts, the others type TOTP codes.
            }
        })
        .collect()
}

/// The traveller (Paris to New York and back) and the new hire.
pub const TRAVELLER: usize = 5;
pub const FORGETFUL: usize = 11;
pub const NEW_HIRE: &str = "noe.petit";

fn login(p: &Person, from: &Place, ua: &Ua) -> Ev {
    let ev = if p.push {
        push_login(&p.name, true)
    } else {
        user_login(&p.name)
    };
    ev.from(from).ua(ua)
}

/// One ordinary week, Monday 6 May 2024 to Friday 10 May, as parsed events.
pub fn ordinary_week(seed: u64) -> Vec<Event> {
    let mut rng = Rng(seed);
    let people = people();
    let mut events: Vec<(DateTime<Utc>, Ev)> = Vec::new();
    let monday: DateTime<Utc> = "2024-05-06T00:00:00Z".parse().expect("a date");

    for day in 0..5i64 {
        let date = monday + TimeDelta::days(day);
        let at = |h: i64, m: i64| date + TimeDelta::hours(h) + TimeDelta::minutes(m);

        for (i, p) in people.iter().enumerate() {
            let travelling = i == TRAVELLER && day >= 2;
            let in_office = i % 10 < 7 && (day + i as i64) % 3 != 0 && !travelling;
            let mut place = if in_office { OFFICE } else { p.home };
            if travelling {
                place = NEW_YORK.via("72.229.28.185");
            }
            let start = match (i == TRAVELLER, day) {
                (true, 2) => at(20, 30),
                (true, 3) | (true, 4) => at(12, rng.below(60) as i64),
                _ => at(7, rng.below(120) as i64),
            };
            let mut t = start;

            // Morning login, sometimes after a typo or two; one person forgets their password.
            if i == FORGETFUL && day == 1 {
                for k in 0..6 {
                    events.push((
                        t + TimeDelta::seconds(20 * k),
                        user_login_failed(&p.name).from(&place).ua(&p.device),
                    ));
                }
                events.push((
                    t + TimeDelta::minutes(3),
                    Ev::new("user_lockout", "directory")
                        .by_user(&p.name)
                        .on_user(&p.name)
                        .from(&place)
                        .ok(true),
                ));
                events.push((
                    t + TimeDelta::minutes(9),
                    Ev::new("user_password_reset_request", "directory")
                        .by_user(&p.name)
                        .on_user(&p.name)
                        .from(&place)
                        .ok(true),
                ));
                events.push((
                    t + TimeDelta::minutes(14),
                    Ev::new("user_password_change", "directory")
                        .by_user(&p.name)
                        .on_user(&p.name)
                        .from(&place)
                        .ua(&p.device)
                        .ok(true),
                ));
                t += TimeDelta::minutes(15);
            } else if rng.chance(12) {
                let typos = 1 + rng.below(2) as i64;
                for k in 0..typos {
                    events.push((
                        t + TimeDelta::seconds(15 * k),
                        user_login_failed(&p.name).from(&place).ua(&p.device),
                    ));
                }
                t += TimeDelta::seconds(15 * typos + 10);
            }
            if p.push && rng.chance(6) {
                events.push((
                    t,
                    push_login(&p.name, false)
                        .from(&place)
                        .ua(&p.device)
                        .error("push timed out"),
                ));
                t += TimeDelta::seconds(50);
            }
            events.push((t, login(p, &place, &p.device)));

            // SSO through the day, with the odd MFA step and unassigned application.
            let apps = if i == TRAVELLER && day == 4 {
                1
            } else {
                2 + rng.below(4)
            };
            for _ in 0..apps {
                t += TimeDelta::minutes(20 + rng.below(120) as i64);
                let app = APPS[rng.below(APPS.len() as u64) as usize];
                if rng.chance(8) {
                    events.push((
                        t - TimeDelta::seconds(30),
                        sso(&p.name, app)
                            .from(&place)
                            .ua(&p.device)
                            .set("sso_token_success", json!(false))
                            .error(""),
                    ));
                }
                if rng.chance(4) {
                    events.push((
                        t - TimeDelta::seconds(90),
                        sso_failed(&p.name, "GitHub", "not authorized")
                            .from(&place)
                            .ua(&p.device),
                    ));
                }
                events.push((t, sso(&p.name, app).from(&place).ua(&p.device)));
            }

            // Office Wi-Fi, the phone, the laptop.
            if in_office && p.wifi {
                events.push((start - TimeDelta::minutes(5), radius(&p.name).from(&OFFICE)));
            }
            if p.phone && rng.chance(60) {
                let mobile = place.via(if place.country == "US" {
                    "174.205.9.14"
                } else {
                    "176.144.30.77"
                });
                events.push((
                    t + TimeDelta::minutes(40),
                    sso(&p.name, "Slack").from(&mobile).ua(&SAFARI_IPHONE),
                ));
            }
            if rng.chance(30) {
                let host = format!("{}-LAPTOP", p.name.to_uppercase());
                events.push((
                    start - TimeDelta::minutes(2),
                    device_login(&p.name, &host)
                        .set("client_ip", json!("10.0.8.21"))
                        .without("geoip"),
                ));
            }
        }

        // The traveller's last login in Paris before the flight, and back on Friday.
        if day == 2 {
            let p = &people[TRAVELLER];
            events.push((at(6, 40), login(p, &p.home, &p.device)));
        }

        // Admins at work: console logins and routine changes.
        for (admin, h) in [(ADMIN, 8), (HELPDESK, 9)] {
            events.push((at(h, 5), admin_login(admin).from(&OFFICE)));
            for k in 0..(3 + rng.below(5) as i64) {
                let who = &people[rng.below(40) as usize].name;
                let when = at(h, 10 + 17 * k);
                let ev = match rng.below(5) {
                    0 => admin_change("user_update", admin).from(&OFFICE).on_user(who).change("jobTitle", Some(json!("Analyst")), json!("Senior Analyst")),
                    1 => admin_change("association_change", admin).from(&OFFICE).set("association", json!({"op": "add", "action_source": "manual", "attributes": null,
                        "connection": {"from": {"type": "user_group", "name": "Sales", "object_id": object_id("Sales")}, "to": {"type": "user", "name": who, "object_id": object_id(who)}}})),
                    2 => admin_change("user_password_reset_request", admin).from(&OFFICE).on_user(who),
                    3 => admin_change("group_update", admin).from(&OFFICE).on("user_group", "Engineering").change("description", Some(json!("Eng")), json!("Engineering team")),
                    _ => admin_change("system_update", admin).from(&OFFICE).on("system", "BUILD-01").change("displayName", Some(json!("build01")), json!("BUILD-01")),
                };
                events.push((when, ev));
            }
        }

        // A new hire on Tuesday: created, activated, first logins from Wednesday.
        if day == 1 {
            events.push((
                at(10, 0),
                admin_change("user_create", HELPDESK)
                    .from(&OFFICE)
                    .on_user(NEW_HIRE)
                    .change("enable_user_portal_multifactor", None, json!(true))
                    .change("state", None, json!("STAGED")),
            ));
            events.push((
                at(10, 5),
                admin_change("user_update", HELPDESK)
                    .from(&OFFICE)
                    .on_user(NEW_HIRE)
                    .change("state", Some(json!("STAGED")), json!("ACTIVATED")),
            ));
        }
        if day >= 2 {
            let hire = Person {
                name: NEW_HIRE.into(),
                home: LYON.via("90.12.40.99"),
                device: CHROME_MAC,
                phone: false,
                push: false,
                wifi: false,
            };
            let t0 = at(8, rng.below(60) as i64);
            if day == 2 {
                events.push((
                    t0 - TimeDelta::minutes(10),
                    Ev::new("totp_finish_enrollment", "directory")
                        .by_user(NEW_HIRE)
                        .on_user(NEW_HIRE)
                        .from(&hire.home)
                        .ua(&hire.device)
                        .ok(true),
                ));
            }
            events.push((t0, login(&hire, &hire.home, &hire.device)));
            events.push((
                t0 + TimeDelta::minutes(30),
                sso(NEW_HIRE, "Slack").from(&hire.home).ua(&hire.device),
            ));
        }

        // A lost phone on Thursday: TOTP reset by the help desk, the user re-enrolls.
        if day == 3 {
            let p = &people[14];
            events.push((
                at(11, 0),
                admin_change("totp_delete_enrollment", HELPDESK)
                    .from(&OFFICE)
                    .on_user(&p.name),
            ));
            events.push((
                at(11, 40),
                Ev::new("totp_finish_enrollment", "directory")
                    .by_user(&p.name)
                    .on_user(&p.name)
                    .from(&p.home)
                    .ua(&p.device)
                    .ok(true),
            ));
        }

        // The HR system syncs every night through an API key, from its cloud address.
        let hr_ip = ASHBURN_DC.via(["54.210.77.14", "54.210.77.15"][day as usize % 2]);
        for k in 0..(120 + rng.below(60) as i64) {
            let who = &people[(k as usize * 7 + day as usize) % 40].name;
            let field = [
                "department",
                "jobTitle",
                "manager",
                "costCenter",
                "employeeIdentifier",
            ][k as usize % 5];
            events.push((
                at(2, 0) + TimeDelta::seconds(3 * k),
                admin_change("user_update", HR_SYNC)
                    .api_key()
                    .from(&hr_ip)
                    .ua(&GO_CLIENT)
                    .on_user(who)
                    .change(
                        field,
                        Some(json!(format!("old-{k}"))),
                        json!(format!("new-{k}-{day}")),
                    ),
            ));
        }
        if day == 0 || day == 3 {
            for k in 0..4 {
                let who = format!("contractor{}{k}", day);
                events.push((
                    at(2, 30) + TimeDelta::seconds(5 * k),
                    admin_change("user_create", HR_SYNC)
                        .api_key()
                        .from(&hr_ip)
                        .ua(&GO_CLIENT)
                        .on_user(&who)
                        .change("state", None, json!("STAGED")),
                ));
            }
        }
        if day == 4 {
            // Leavers: the HR system suspends three accounts.
            for k in 0..3 {
                let who = &people[30 + k].name;
                events.push((
                    at(2, 40) + TimeDelta::seconds(5 * k as i64),
                    admin_change("user_update", HR_SYNC)
                        .api_key()
                        .from(&hr_ip)
                        .ua(&GO_CLIENT)
                        .on_user(who)
                        .change("suspended", Some(json!(false)), json!(true))
                        .change("state", Some(json!("ACTIVATED")), json!("SUSPENDED")),
                ));
            }
        }

        // SCIM provisioning from the identity provider's rotating cloud addresses.
        for k in 0..20i64 {
            let ip = ["3.120.45.201", "18.196.12.9", "52.28.77.130", "35.157.4.66"]
                [(k as usize + day as usize) % 4];
            let who = &people[(k as usize * 3 + 1) % 40].name;
            events.push((
                at(6, 0) + TimeDelta::minutes(k),
                admin_change("user_update", "okta.scim@corp.example")
                    .source("scim")
                    .api_key()
                    .from(&FRANKFURT_DC.via(ip))
                    .ua(&GO_CLIENT)
                    .on_user(who)
                    .change(
                        "phoneNumbers",
                        Some(json!([])),
                        json!([{"type": "work", "value": format!("+33 1 00 00 {k:02}")}]),
                    ),
            ));
        }

        // An application server binds to LDAP with its service account every hour.
        for h in 0..24 {
            events.push((
                at(h, 15),
                ldap_bind("svc.wiki").from(&ASHBURN_DC.via("54.210.80.3")),
            ));
        }
    }

    // The traveller flies back on Friday night and checks mail from home on Saturday.
    let p = &people[TRAVELLER];
    let saturday = monday + TimeDelta::days(5);
    events.push((saturday + TimeDelta::hours(9), login(p, &p.home, &p.device)));

    place_in_time("ordinary", events)
}

/// Gives events their times and ids (ids from `tag`, so streams can be mixed).
pub fn place_in_time(tag: &str, mut events: Vec<(DateTime<Utc>, Ev)>) -> Vec<Event> {
    events.sort_by_key(|(t, _)| *t);
    let mut timeline = Timeline::new(tag, "2024-05-06T00:00:00Z");
    for (t, ev) in events {
        timeline.at(&t.to_rfc3339());
        timeline.push(ev);
    }
    timeline.parsed()
}

/// A value helper for scenario code.
pub fn v(x: impl Into<Value>) -> Value {
    x.into()
}
