//! Starting and stopping the simulator, and the handle tests drive it with: credentials,
//! events (also added late, while it runs), faults, and the log of requests it received.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Extension;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use jcwatch_model::time::parse_timestamp;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::api::{
    self, ConnectionKill, CredentialKind, RecordedRequest, Shared, SimCredential, State, lock,
};
use crate::directory::Directory;
use crate::faults::{FaultQueue, FaultRule, Target};
use crate::ids::IdSource;
use crate::query::Limits;

/// Why the simulator could not start or take events.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("the simulator could not listen on loopback: {0}")]
    Listen(#[from] std::io::Error),
    /// Directory Insights indexes events on their `timestamp`; one without it cannot be served.
    #[error("event {index} (id {id:?}) cannot be stored: {reason}")]
    BadEvent {
        index: usize,
        id: Option<String>,
        reason: String,
    },
}

/// Configures a simulator; [`SimulatorBuilder::start`] runs it.
#[derive(Debug)]
pub struct SimulatorBuilder {
    credentials: Vec<SimCredential>,
    limits: Limits,
    token_lifetime: Duration,
    events: Vec<(String, Vec<Value>)>,
    directories: HashMap<String, Directory>,
    seed: u64,
}

impl Default for SimulatorBuilder {
    fn default() -> Self {
        Self {
            credentials: Vec::new(),
            limits: Limits::default(),
            token_lifetime: Duration::from_secs(3_600),
            events: Vec::new(),
            directories: HashMap::new(),
            seed: 0x006a_6377_6174_6368,
        }
    }
}

impl SimulatorBuilder {
    /// An administrator API key of one organisation; `x-org-id` may be left out.
    pub fn api_key(mut self, key: impl Into<String>, org_id: impl Into<String>) -> Self {
        self.credentials.push(SimCredential {
            kind: CredentialKind::ApiKey(key.into()),
            orgs: vec![org_id.into()],
            org_required: false,
        });
        self
    }

    /// A multi-tenant (MSP) key: every request must name one or more of `org_ids` with
    /// `x-org-id`, else 401 `no organization selected`.
    pub fn msp_api_key<I, S>(mut self, key: impl Into<String>, org_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.credentials.push(SimCredential {
            kind: CredentialKind::ApiKey(key.into()),
            orgs: org_ids.into_iter().map(Into::into).collect(),
            org_required: true,
        });
        self
    }

    /// A service account. Its bearer tokens, like JumpCloud's, must come with `x-org-id`.
    pub fn service_account<I, S>(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        org_ids: I,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.credentials.push(SimCredential {
            kind: CredentialKind::ServiceAccount {
                client_id: client_id.into(),
                secret: client_secret.into(),
            },
            orgs: org_ids.into_iter().map(Into::into).collect(),
            org_required: true,
        });
        self
    }

    /// How long issued tokens stay valid (`expires_in` rounds up to whole seconds).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// Page sizes: `default` for a missing or nonsensical `limit`, `max` the largest served.
    pub fn limits(mut self, default: usize, max: usize) -> Self {
        self.limits = Limits {
            default: default.max(1),
            max: max.max(1),
        };
        self
    }

    /// Events present from the start.
    pub fn events(mut self, org_id: impl Into<String>, events: Vec<Value>) -> Self {
        self.events.push((org_id.into(), events));
        self
    }

    /// The organisation's directory (users, administrators, groups) served from the start.
    pub fn directory(mut self, org_id: impl Into<String>, directory: Directory) -> Self {
        self.directories.insert(org_id.into(), directory);
        self
    }

    /// Seeds the internal ids, so a scripted run orders ties the same way every time.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Listens on `127.0.0.1` on a free port and serves until the handle is shut down or
    /// dropped. Must be called inside a Tokio runtime.
    pub async fn start(self) -> Result<Simulator, SimError> {
        let mut state = State {
            credentials: self.credentials,
            limits: self.limits,
            token_lifetime: self.token_lifetime,
            stores: HashMap::new(),
            tokens: HashMap::new(),
            faults: FaultQueue::default(),
            log: Vec::new(),
            ids: IdSource::new(self.seed),
            directories: self.directories,
        };
        for (org, events) in self.events {
            insert_events(&mut state, &org, events)?;
        }
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let shared: Shared = Arc::new(Mutex::new(state));
        let (shutdown, stopped) = watch::channel(false);

        let task = tokio::spawn(serve(listener, api::router(shared.clone()), stopped));

        tracing::debug!(%address, "Directory Insights simulator listening");
        Ok(Simulator {
            address,
            base_url: format!("http://{address}"),
            shared,
            shutdown,
            task: Some(task),
        })
    }
}

/// A running simulator. Dropping it stops the server (and closes open connections).
#[derive(Debug)]
pub struct Simulator {
    address: SocketAddr,
    base_url: String,
    shared: Shared,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Simulator {
    pub fn builder() -> SimulatorBuilder {
        SimulatorBuilder::default()
    }

    /// `http://127.0.0.1:<port>`: the base URL to give a client instead of a region host.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The OAuth token endpoint for service accounts.
    pub fn token_url(&self) -> String {
        format!("{}{}", self.base_url, api::TOKEN_PATH)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Adds events to an organisation, now or at any later moment (late arrivals: their
    /// timestamps may lie in the past). All or nothing: one bad event stores none.
    /// Returns how many were added.
    pub fn add_events(
        &self,
        org_id: &str,
        events: impl IntoIterator<Item = Value>,
    ) -> Result<usize, SimError> {
        insert_events(
            &mut lock(&self.shared),
            org_id,
            events.into_iter().collect(),
        )
    }

    /// How many events an organisation holds.
    pub fn event_count(&self, org_id: &str) -> usize {
        lock(&self.shared).stores.get(org_id).map_or(0, |s| s.len())
    }

    /// Replaces an organisation's directory while the simulator runs.
    pub fn set_directory(&self, org_id: &str, directory: Directory) {
        lock(&self.shared)
            .directories
            .insert(org_id.to_owned(), directory);
    }

    /// Queues a fault; faults fire in the order they were pushed.
    pub fn push_fault(&self, rule: FaultRule) {
        lock(&self.shared).faults.push(rule);
    }

    /// Removes every queued fault, permanent ones included.
    pub fn clear_faults(&self) {
        lock(&self.shared).faults.clear();
    }

    /// Invalidates every bearer token issued so far, as a revocation would.
    pub fn revoke_tokens(&self) {
        lock(&self.shared).tokens.clear();
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared).log.clone()
    }

    /// The requests received for one endpoint.
    pub fn requests_to(&self, target: Target) -> Vec<RecordedRequest> {
        lock(&self.shared)
            .log
            .iter()
            .filter(|r| r.target == Some(target))
            .cloned()
            .collect()
    }

    /// Stops accepting, closes every connection and waits for the server task to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn insert_events(state: &mut State, org: &str, events: Vec<Value>) -> Result<usize, SimError> {
    let mut keyed = Vec::with_capacity(events.len());
    for (index, event) in events.into_iter().enumerate() {
        let ms = event_millis(&event).map_err(|reason| SimError::BadEvent {
            index,
            id: event.get("id").and_then(Value::as_str).map(str::to_owned),
            reason,
        })?;
        keyed.push((ms, event));
    }

    let count = keyed.len();
    for (ms, event) in keyed {
        let key = (ms, state.ids.sort_id());
        state
            .stores
            .entry(org.to_owned())
            .or_default()
            .insert(key, event);
    }
    Ok(count)
}

/// The event's time in epoch milliseconds, the precision Directory Insights sorts on.
fn event_millis(event: &Value) -> Result<i64, String> {
    let object = event.as_object().ok_or("it is not a JSON object")?;
    let text = object
        .get("timestamp")
        .and_then(Value::as_str)
        .ok_or("it has no timestamp string")?;
    let time = parse_timestamp(text).map_err(|e| format!("timestamp {text:?}: {e}"))?;
    Ok(time.timestamp_millis())
}

/// The accept loop. Each connection is served by hyper directly (rather than `axum::serve`)
/// so that a [`crate::Fault::Drop`] can close it without an answer.
async fn serve(listener: TcpListener, router: axum::Router, mut stopped: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors and the like: wait a moment instead of spinning.
                tracing::warn!(%error, "simulator accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let kill = Arc::new(Notify::new());
        let service = TowerToHyperService::new(
            router
                .clone()
                .layer(Extension(ConnectionKill(kill.clone()))),
        );

        connections.spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = kill.notified() => {}
            }
        });
    }
    // Dropping the set aborts every open connection.
    drop(connections);
}
