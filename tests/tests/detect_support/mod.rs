//! Helpers shared by the `detect_*` integration tests: the emulator's SDK configuration,
//! unique resource names, and alerts and tables to work with.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use chrono::{DateTime, TimeZone, Utc};
use jcwatch_model::{Alert, Area, Route, Severity, Source};

/// The emulator endpoint from `JCWATCH_TEST_AWS_ENDPOINT`; the test fails without it.
pub fn endpoint() -> String {
    std::env::var("JCWATCH_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "JCWATCH_TEST_AWS_ENDPOINT is not set: start the local AWS emulator with \
             `.ci/emulators start` (or `moto_server -H 127.0.0.1 -p 5055`) and export \
             JCWATCH_TEST_AWS_ENDPOINT=http://127.0.0.1:5055"
        )
    })
}

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .load()
        .await
}

/// A name no other test uses: the prefix plus nanoseconds and a counter.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!(
        "{prefix}-{nanos}-{}",
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

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
