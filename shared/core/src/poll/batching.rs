//! Cutting a page's events into hand-off batches.
//!
//! A batch's JSON payload stays within [`MAX_BATCH_BYTES`] so that, if the detect function
//! fails on it, Lambda's failure record (the payload plus an envelope) still fits the
//! dead-letter queue. Events are grouped by principal (`Event::actor`), and a principal's
//! events stay together and in time order inside a batch when they fit, so per-user rules see
//! a user's activity in one invocation as often as possible (their correctness does not depend
//! on it: rule state is mergeable). Groups are placed first-fit, in the order of their first
//! event, which keeps batches few and full. A group too large for one batch is cut into
//! consecutive time-ordered runs.
//!
//! A single event larger than a batch goes alone into its own batch when that batch stays
//! within [`MAX_SINGLE_EVENT_BATCH_BYTES`]; a larger event cannot be handed over at all and is
//! returned as oversize, for the caller to log, count and reject by id.

use std::collections::HashMap;

use jcwatch_model::{Batch, Event, MAX_BATCH_BYTES};

/// The largest payload of a batch holding one oversized event. Lambda accepts 1 MB for an
/// asynchronous invocation and SQS 1 MiB per message; leaving 256 KiB of that for Lambda's
/// failure-record envelope and error keeps even this batch able to reach the dead-letter
/// queue (whose maximum message size must be set to 1 MiB).
pub const MAX_SINGLE_EVENT_BATCH_BYTES: usize = 768 * 1024;

/// The batches of one page, and the events too large to hand over.
#[derive(Debug, Default)]
pub struct BatchPlan {
    pub batches: Vec<Batch>,
    pub oversize: Vec<Oversize>,
}

/// An event whose batch would exceed [`MAX_SINGLE_EVENT_BATCH_BYTES`].
#[derive(Debug)]
pub struct Oversize {
    pub event: Event,
    /// The payload the event's own batch would have had.
    pub batch_bytes: usize,
}

/// Size limits, separate so tests can use small ones.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_batch_bytes: usize,
    pub max_single_event_batch_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_batch_bytes: MAX_BATCH_BYTES,
            max_single_event_batch_bytes: MAX_SINGLE_EVENT_BATCH_BYTES,
        }
    }
}

/// An open batch under construction: its events and its payload size so far.
struct Open {
    events: Vec<Event>,
    bytes: usize,
}

impl Open {
    /// The payload after adding `len` bytes of events.
    fn with(&self, items: usize, len: usize) -> usize {
        // One comma between neighbouring events in the array.
        let commas = if self.events.is_empty() {
            items.saturating_sub(1)
        } else {
            items
        };
        self.bytes + len + commas
    }
}

/// Cuts `events` (already deduplicated) into batches for `org_id`.
pub fn plan(org_id: Option<&str>, events: Vec<Event>, limits: Limits) -> BatchPlan {
    // The empty batch's JSON: `{"batch_id":"…","org_id":"…","events":[]}`. Adding events
    // adds their own JSON and the commas between them, so sizes below are exact.
    let envelope = serde_json::to_vec(&Batch::new(org_id.map(str::to_owned), Vec::new()))
        .map(|v| v.len())
        .unwrap_or(0);
    let mut plan = BatchPlan::default();
    let mut open: Vec<Open> = Vec::new();

    for group in principal_groups(events) {
        for run in runs_that_fit(org_id, group, envelope, limits, &mut plan) {
            place_first_fit(&mut open, run, envelope, limits.max_batch_bytes);
        }
    }

    plan.batches.extend(
        open.into_iter()
            .map(|o| Batch::new(org_id.map(str::to_owned), o.events)),
    );
    plan
}

/// Groups events by principal, each group in time order, the groups ordered by their first
/// event.
fn principal_groups(events: Vec<Event>) -> Vec<Vec<Event>> {
    let mut index: HashMap<Option<String>, usize> = HashMap::new();
    let mut groups: Vec<Vec<Event>> = Vec::new();
    for event in events {
        let slot = *index.entry(event.actor()).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[slot].push(event);
    }
    for group in &mut groups {
        group.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    }
    groups.sort_by(|a, b| a[0].order_key().cmp(&b[0].order_key()));
    groups
}

/// A run of one principal's events with their total JSON size.
struct Run {
    events: Vec<Event>,
    len: usize,
}

/// Splits one group into time-ordered runs that each fit a batch. Events too large for any
/// batch go into `plan` directly (alone in a batch, or as oversize).
fn runs_that_fit(
    org_id: Option<&str>,
    group: Vec<Event>,
    envelope: usize,
    limits: Limits,
    plan: &mut BatchPlan,
) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut current = Run {
        events: Vec::new(),
        len: 0,
    };
    for event in group {
        let len = event.json_len();
        let alone = envelope + len;
        if alone > limits.max_batch_bytes {
            if alone <= limits.max_single_event_batch_bytes {
                plan.batches
                    .push(Batch::new(org_id.map(str::to_owned), vec![event]));
            } else {
                plan.oversize.push(Oversize {
                    event,
                    batch_bytes: alone,
                });
            }
            continue;
        }
        let commas = current.events.len();
        if envelope + current.len + commas + len > limits.max_batch_bytes {
            runs.push(std::mem::replace(
                &mut current,
                Run {
                    events: Vec::new(),
                    len: 0,
                },
            ));
        }
        current.len += len;
        current.events.push(event);
    }
    if !current.events.is_empty() {
        runs.push(current);
    }
    runs
}

/// Puts a run into the first open batch with room for it, or a new one.
fn place_first_fit(open: &mut Vec<Open>, run: Run, envelope: usize, max: usize) {
    let items = run.events.len();
    if let Some(batch) = open.iter_mut().find(|b| b.with(items, run.len) <= max) {
        batch.bytes = batch.with(items, run.len);
        batch.events.extend(run.events);
        return;
    }
    let mut batch = Open {
        events: Vec::new(),
        bytes: envelope,
    };
    batch.bytes = batch.with(items, run.len);
    batch.events = run.events;
    open.push(batch);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: &str, second: u32, actor: &str, padding: usize) -> Event {
        Event::from_value(json!({
            "id": id,
            "timestamp": format!("2024-05-01T12:00:{second:02}Z"),
            "initiated_by": {"email": actor},
            "padding": "x".repeat(padding),
        }))
        .unwrap()
    }

    fn payload(batch: &Batch) -> usize {
        serde_json::to_vec(batch).unwrap().len()
    }

    fn small_limits(max: usize) -> Limits {
        Limits {
            max_batch_bytes: max,
            max_single_event_batch_bytes: max * 3,
        }
    }

    fn planned(org: Option<&str>, events: Vec<Event>, limits: Limits) -> BatchPlan {
        plan(org, events, limits)
    }

    #[test]
    fn every_batch_payload_stays_within_the_limit_and_no_event_is_lost() {
        let events: Vec<Event> = (0..200)
            .map(|i| {
                event(
                    &format!("e{i:03}"),
                    i % 60,
                    &format!("u{}", i % 7),
                    50 + i as usize * 3,
                )
            })
            .collect();
        let limits = small_limits(4_000);

        let plan = planned(Some("org1"), events, limits);

        assert!(plan.batches.len() > 5, "the test must actually split");
        for batch in &plan.batches {
            assert!(payload(batch) <= 4_000, "{} bytes", payload(batch));
            assert_eq!(batch.org_id.as_deref(), Some("org1"));
        }
        let mut ids: Vec<&str> = plan
            .batches
            .iter()
            .flat_map(|b| b.events.iter().map(|e| e.id.as_str()))
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 200);
    }

    #[test]
    fn the_size_accounting_is_exact_at_the_boundary() {
        let a = event("a", 1, "u", 100);
        let b = event("b", 2, "u", 100);
        let exact = payload(&Batch::new(Some("o".into()), vec![a.clone(), b.clone()]));

        let fits = planned(Some("o"), vec![a.clone(), b.clone()], small_limits(exact));
        let one_less = planned(Some("o"), vec![a, b], small_limits(exact - 1));

        assert_eq!(fits.batches.len(), 1);
        assert_eq!(payload(&fits.batches[0]), exact);
        assert_eq!(one_less.batches.len(), 2);
    }

    #[test]
    fn one_principals_events_stay_together_and_in_time_order() {
        let events = vec![
            event("b2", 5, "bob", 10),
            event("a1", 1, "alice", 10),
            event("b1", 2, "bob", 10),
            event("a2", 3, "alice", 10),
            event("a3", 4, "alice", 10),
        ];

        let plan = planned(None, events, Limits::default());

        assert_eq!(plan.batches.len(), 1);
        let ids: Vec<&str> = plan.batches[0]
            .events
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(ids, ["a1", "a2", "a3", "b1", "b2"]);
    }

    #[test]
    fn a_principal_too_large_for_one_batch_spills_over_in_time_order() {
        let events: Vec<Event> = (0..30)
            .rev()
            .map(|i| event(&format!("e{i:02}"), i, "carol", 200))
            .collect();

        let plan = planned(None, events, small_limits(1_500));

        assert!(plan.batches.len() > 1);
        let order: Vec<&str> = plan
            .batches
            .iter()
            .flat_map(|b| b.events.iter().map(|e| e.id.as_str()))
            .collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "runs are consecutive and time ordered");
    }

    #[test]
    fn a_small_group_fills_an_earlier_batch_with_room() {
        let events = vec![
            event("a1", 1, "alice", 600),
            event("b1", 2, "bob", 900),
            event("c1", 3, "carol", 100),
        ];

        let plan = planned(None, events, small_limits(1_200));

        let layout: Vec<Vec<&str>> = plan
            .batches
            .iter()
            .map(|b| b.events.iter().map(|e| e.id.as_str()).collect())
            .collect();
        assert_eq!(layout, [vec!["a1", "c1"], vec!["b1"]]);
    }

    #[test]
    fn an_event_larger_than_a_batch_goes_alone_when_under_the_single_event_limit() {
        let events = vec![
            event("small", 1, "dave", 10),
            event("big", 2, "dave", 2_000),
            event("small2", 3, "dave", 10),
        ];

        let plan = planned(Some("o"), events, small_limits(1_000));

        assert!(plan.oversize.is_empty());
        let alone: Vec<&Batch> = plan
            .batches
            .iter()
            .filter(|b| b.events.iter().any(|e| e.id == "big"))
            .collect();
        assert_eq!(alone.len(), 1);
        assert_eq!(alone[0].events.len(), 1);
        assert_eq!(alone[0].org_id.as_deref(), Some("o"));
        assert!(payload(alone[0]) <= 3_000);
    }

    #[test]
    fn an_event_too_large_even_alone_is_returned_as_oversize_with_its_id() {
        let events = vec![event("huge", 1, "erin", 5_000), event("ok", 2, "erin", 10)];

        let plan = planned(None, events, small_limits(1_000));

        assert_eq!(plan.oversize.len(), 1);
        assert_eq!(plan.oversize[0].event.id, "huge");
        assert!(plan.oversize[0].batch_bytes > 3_000);
        assert_eq!(plan.batches.len(), 1);
        assert_eq!(plan.batches[0].events[0].id, "ok");
    }

    #[test]
    fn no_events_make_no_batches() {
        let plan = planned(None, Vec::new(), Limits::default());

        assert!(plan.batches.is_empty());
        assert!(plan.oversize.is_empty());
    }
}
