//! Helpers shared by the `detect_*` integration tests: alerts to work with, and the
//! emulator harness of `jcwatch_tests::moto`.

#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use jcwatch_model::{Alert, Area, Route, Severity, Source};
use std::collections::BTreeMap;

pub use jcwatch_tests::moto::{Moto, unique_name as unique};

pub fn at(minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 6, 10, minute, second)
        .unwrap()
}

/// A plain alert with the given id and events.
pub fn alert(id: &str, events: &[&str]) -> Alert {
    Alert {
        alert_id: id.to_string(),
        rule_id: "auth.brute_force_user".into(),
        title: "Brute force against alice@example.com".into(),
        severity: Severity::High,
        area: Area::AuthAndAdmin,
        route: Route::Alert,
        org: Some("org-1".into()),
        actor: Some("alice@example.com".into()),
        target: None,
        source: Source {
            ip: Some("198.51.100.7".into()),
            ..Source::default()
        },
        changes: Vec::new(),
        event_ids: events.iter().map(|e| e.to_string()).collect(),
        first_seen: at(0, 0),
        last_seen: at(1, 0),
        count: events.len() as u64,
        notified: false,
        first_action: "Reset the password.".into(),
        technique: "T1110.001".into(),
        details: BTreeMap::new(),
        enrichment: None,
    }
}
