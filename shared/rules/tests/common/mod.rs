//! Shared test support: a stream of events that exercises every kind of rule.

#![allow(dead_code)]

pub mod org;

use jcwatch_model::Event;
use jcwatch_rules::fixtures::*;
use serde_json::json;

pub const USERS: &[&str] = &["ana", "ben", "cleo", "dan", "eva", "finn", "gus", "hana"];

/// Five days: ordinary logins, an HR sync through an API key, and on days three and four a
/// brute force that succeeds, a spray that succeeds, impossible travel, a first-seen country
/// on a new device, a stolen API key, MFA removed and used, MFA reset and re-enrolled, push
/// fatigue, a lockout wave and a short-lived admin.
pub fn mixed_stream() -> Vec<Event> {
    let mut t = Timeline::new("mixed", "2024-05-06T07:30:00Z");
    for day in 0..5 {
        for (i, user) in USERS.iter().enumerate() {
            t.wait("7m").push(user_login(user));
            t.wait("2m").push(sso(user, "Slack"));
            if i % 3 == 0 {
                t.wait("1m").push(radius(user));
            }
        }
        t.wait("20m").push(admin_login("it.admin@corp.example"));
        for i in 0..6 {
            t.wait("3m").push(
                admin_change("user_update", "hr.sync@corp.example")
                    .api_key()
                    .from(&ASHBURN_DC)
                    .ua(&GO_CLIENT)
                    .on_user(USERS[i % USERS.len()])
                    .change(
                        "title",
                        Some(json!("Engineer")),
                        json!(format!("Engineer {day}")),
                    ),
            );
        }
        if day == 2 {
            attacks_day_three(&mut t);
        }
        if day == 3 {
            attacks_day_four(&mut t);
        }
        for user in USERS {
            t.wait("11m").push(sso(user, "Google Workspace"));
        }
        t.wait("10h");
    }
    t.parsed()
}

fn attacks_day_three(t: &mut Timeline) {
    t.wait("5m").repeat(12, "15s", |_| {
        user_login_failed("ben").from(&HANOI).ua(&CURL)
    });
    t.wait("20s")
        .push(user_login("ben").from(&HANOI).ua(&CURL).mfa(false));
    t.wait("10m").repeat(12, "20s", |i| {
        user_login_failed(USERS[i % USERS.len()])
            .from(&LAGOS.via("105.112.66.99"))
            .ua(&PYTHON_REQUESTS)
            .set("initiated_by.username", json!(format!("staff{i}")))
    });
    t.wait("1m").push(
        user_login("staff3")
            .from(&LAGOS.via("105.112.66.99"))
            .ua(&PYTHON_REQUESTS)
            .mfa(false),
    );
    t.wait("30m")
        .push(sso("cleo", "Slack").from(&NEW_YORK).ua(&FIREFOX_WINDOWS));
    t.wait("40m")
        .push(sso("dan", "Salesforce").from(&SAO_PAULO).ua(&EDGE_WINDOWS));
    t.wait("5m").push(
        admin_change("user_update", "hr.sync@corp.example")
            .api_key()
            .from(&MOSCOW)
            .ua(&PYTHON_REQUESTS)
            .on_user("eva")
            .change("manager", Some(json!("ana")), json!("mallory")),
    );
}

fn attacks_day_four(t: &mut Timeline) {
    t.wait("5m").push(
        admin_change("user_update", "it.admin@corp.example")
            .on_user("finn")
            .change(
                "enable_user_portal_multifactor",
                Some(json!(true)),
                json!(false),
            ),
    );
    t.wait("30m").push(
        user_login("finn")
            .from(&SINGAPORE)
            .ua(&EDGE_WINDOWS)
            .mfa(false),
    );
    t.wait("5m").push(
        Ev::new("totp_delete_enrollment", "directory")
            .by_admin("it.admin@corp.example")
            .on_user("gus")
            .from(&PARIS)
            .ok(true),
    );
    t.wait("40m").push(
        Ev::new("totp_finish_enrollment", "directory")
            .by_user("gus")
            .on_user("gus")
            .from(&PARIS)
            .ok(true),
    );
    t.wait("5m")
        .repeat(4, "1m", |_| push_login("hana", false).from(&TOKYO));
    t.wait("1m").push(push_login("hana", true).from(&TOKYO));
    t.wait("10m").repeat(4, "2m", |i| {
        Ev::new("user_lockout", "directory")
            .by_user(USERS[i])
            .on_user(USERS[i])
            .from(&PARIS)
            .ok(true)
    });
    t.wait("5m")
        .push(admin_change("admin_create", "it.admin@corp.example").on_admin("ghost@corp.example"));
    t.wait("30m")
        .push(admin_change("admin_delete", "it.admin@corp.example").on_admin("ghost@corp.example"));
}
