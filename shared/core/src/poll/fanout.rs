//! A sink that hands each batch to several sinks in turn (the CLI writes the events file and,
//! later, runs detection on the same batches).

use std::sync::Arc;

use async_trait::async_trait;
use jcwatch_model::Batch;

use crate::ports::{BatchSink, HandOffError, Rejected};

/// Hands every batch and every rejected event to each inner sink, in order. The first error
/// stops the hand-off and is returned, so the poll does not move its cursor; the sinks before
/// it will see the batch again on the next run and must be idempotent (every sink in this
/// project is: detection by event id, the events file by the ids it holds).
#[derive(Clone, Default)]
pub struct FanOutSink {
    sinks: Vec<Arc<dyn BatchSink>>,
}

impl std::fmt::Debug for FanOutSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FanOutSink")
            .field("sinks", &self.sinks.len())
            .finish()
    }
}

impl FanOutSink {
    pub fn new(sinks: Vec<Arc<dyn BatchSink>>) -> Self {
        FanOutSink { sinks }
    }

    pub fn push(&mut self, sink: Arc<dyn BatchSink>) {
        self.sinks.push(sink);
    }

    pub fn len(&self) -> usize {
        self.sinks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }
}

#[async_trait]
impl BatchSink for FanOutSink {
    async fn hand_off(&self, batch: &Batch) -> Result<(), HandOffError> {
        for sink in &self.sinks {
            sink.hand_off(batch).await?;
        }
        Ok(())
    }

    async fn reject(&self, rejected: &Rejected) -> Result<(), HandOffError> {
        for sink in &self.sinks {
            sink.reject(rejected).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::RecordingSink;
    use jcwatch_model::Event;
    use serde_json::json;

    fn batch() -> Batch {
        let event = Event::from_value(json!({"id": "e1", "timestamp": "2024-01-01T00:00:00Z"}));
        Batch::new(None, vec![event.unwrap()])
    }

    #[tokio::test]
    async fn every_sink_receives_the_batch() {
        let a = Arc::new(RecordingSink::default());
        let b = Arc::new(RecordingSink::default());
        let fan = FanOutSink::new(vec![a.clone(), b.clone()]);

        fan.hand_off(&batch()).await.unwrap();

        assert_eq!(a.event_ids(), ["e1"]);
        assert_eq!(b.event_ids(), ["e1"]);
    }

    #[tokio::test]
    async fn a_failing_sink_fails_the_hand_off_and_stops_later_sinks() {
        let a = Arc::new(RecordingSink::default());
        a.fail_next(1);
        let b = Arc::new(RecordingSink::default());
        let fan = FanOutSink::new(vec![a.clone(), b.clone()]);

        let result = fan.hand_off(&batch()).await;

        assert!(result.is_err());
        assert!(b.event_ids().is_empty());
    }
}
