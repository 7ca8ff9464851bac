//! Poll runs against the Directory Insights simulator: a simulator holding generated events,
//! a client pointed at it, and the ids to compare what was handed over with.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Duration, DurationRound, Utc};
use jcwatch_core::ports::Clock;
use jcwatch_dirinsights::{Client, ClientConfig, Credential, RetryPolicy, Secret};
use jcwatch_simulator::Simulator;
use jcwatch_simulator::generate::EventFactory;
use serde_json::Value;

/// The API key the simulators below accept.
pub const API_KEY: &str = "jca_integration_test_key_0123456789";

/// `count` ordinary events of `org_id`, one every 15 seconds, the last one ten minutes ago
/// (well before the default lag).
pub fn recent_events(org_id: &str, count: usize) -> Vec<Value> {
    let now = Utc::now()
        .duration_trunc(Duration::milliseconds(1))
        .unwrap();
    let spacing = Duration::seconds(15);
    let start = now - Duration::minutes(10) - spacing * i32::try_from(count).unwrap();
    EventFactory::new(org_id).ordinary_activity(start, count, spacing)
}

/// The ids of `events`.
pub fn ids(events: &[Value]) -> BTreeSet<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().expect("event id").to_string())
        .collect()
}

/// A simulator with an API key ([`API_KEY`]) of `org_id` holding `events`.
pub async fn simulator(org_id: &str, events: Vec<Value>) -> Simulator {
    Simulator::builder()
        .api_key(API_KEY, org_id)
        .events(org_id, events)
        .start()
        .await
        .expect("simulator starts")
}

/// A Directory Insights client for `sim` with `key`, asking for `page_limit` events a page,
/// retrying quickly so fault tests stay short.
pub fn client(sim: &Simulator, key: &str, page_limit: u32) -> Client {
    let mut config = ClientConfig::new(Credential::ApiKey(Secret::new(key)));
    config.base_url = Some(sim.base_url().to_string());
    config.page_limit = page_limit;
    config.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: std::time::Duration::from_millis(10),
        max_delay: std::time::Duration::from_millis(100),
        max_total: std::time::Duration::from_secs(10),
    };
    Client::new(config).expect("client config")
}

/// The real clock until [`JumpingClock::jump`], then a day ahead: lets a test put a poll past
/// its deadline at an exact point.
#[derive(Debug, Default)]
pub struct JumpingClock {
    jumped: AtomicBool,
}

impl JumpingClock {
    pub fn new() -> Arc<Self> {
        Arc::new(JumpingClock::default())
    }

    pub fn jump(&self) {
        self.jumped.store(true, Ordering::SeqCst);
    }
}

impl Clock for JumpingClock {
    fn now(&self) -> DateTime<Utc> {
        if self.jumped.load(Ordering::SeqCst) {
            Utc::now() + Duration::days(1)
        } else {
            Utc::now()
        }
    }
}
