//! The hand-off between the poll and detect functions: a batch of events of one organisation.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::event::Event;

/// Largest JSON payload of one batch. Lambda accepts 1 MB for an asynchronous invocation and
/// SQS 1 MiB per message, but a batch that fails lands in the dead-letter queue wrapped in
/// Lambda's failure record (the payload plus an envelope and the error), so the batch keeps
/// well under a quarter of that.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// A batch of events handed from the poll function to the detect function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Deterministic: the same events always make the same batch id.
    pub batch_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    pub events: Vec<Event>,
}

impl Batch {
    pub fn new(org_id: Option<String>, events: Vec<Event>) -> Self {
        let mut hasher = Sha256::new();
        for event in &events {
            hasher.update(event.id.as_bytes());
            hasher.update([0]);
        }
        let digest = hasher.finalize();
        let batch_id = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        Batch {
            batch_id,
            org_id,
            events,
        }
    }
}
