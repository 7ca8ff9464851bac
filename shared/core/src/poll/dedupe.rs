//! Deduplication of events already handed over.
//!
//! Windows overlap on purpose (late arrivals), and a page boundary or a restart can split the
//! events of one millisecond, so the same event is fetched more than once. The cursor keeps
//! `seen`: the `(timestamp, id)` of every event handed over whose time is at or after the next
//! window's start. An event whose id is in `seen` is dropped; anything older than the next
//! start cannot come back and is pruned.
//!
//! `seen` is bounded ([`MAX_SEEN_EVENTS`]) because the DynamoDB cursor item must stay under
//! 400 KB. When more events than that were handed over inside one overlap, the newest are kept
//! and the oldest forgotten; if one of those is fetched again it is handed over a second
//! time. N.B. that is harmless in effect: detection derives alert ids and rule state from
//! event ids idempotently, and the CLI's events file skips ids it already holds.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use jcwatch_model::Event;

use crate::ports::SeenEvent;

/// The most `seen` entries a cursor stores. One entry is about 70 bytes in the cursor item
/// (an RFC 3339 timestamp of up to 30 characters and an id of 24 to 36), so 4,000 entries
/// stay near 280 KB, under DynamoDB's 400 KB item limit with room for the rest of the item.
pub const MAX_SEEN_EVENTS: usize = 4_000;

/// The events handed over that may still reappear, keyed by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeenSet {
    by_id: HashMap<String, DateTime<Utc>>,
}

/// A page's events split into those to hand over and the count dropped as already handed over.
#[derive(Debug, Default)]
pub struct Fresh {
    pub events: Vec<Event>,
    pub duplicates: u64,
}

impl SeenSet {
    pub fn from_saved(saved: &[SeenEvent]) -> Self {
        SeenSet {
            by_id: saved.iter().map(|s| (s.id.clone(), s.timestamp)).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// Keeps the events not handed over yet, dropping ids already seen and ids repeated
    /// within `events` itself. Nothing is recorded: that happens after the hand-off.
    pub fn fresh(&self, events: Vec<Event>) -> Fresh {
        let mut in_page = HashSet::new();
        let mut fresh = Fresh::default();
        for event in events {
            if self.contains(&event.id) || !in_page.insert(event.id.clone()) {
                fresh.duplicates += 1;
                continue;
            }
            fresh.events.push(event);
        }
        fresh
    }

    /// Remembers events that were handed over.
    pub fn record<'a>(&mut self, events: impl IntoIterator<Item = &'a Event>) {
        for event in events {
            self.by_id.insert(event.id.clone(), event.timestamp);
        }
    }

    /// Forgets events older than `floor`: the next window starts at `floor`, so they cannot
    /// be fetched again.
    pub fn prune(&mut self, floor: DateTime<Utc>) {
        self.by_id.retain(|_, timestamp| *timestamp >= floor);
    }

    /// The entries to store in the cursor, oldest first, at most `max` of them (the newest).
    /// Returns how many were left out.
    pub fn to_saved(&self, max: usize) -> (Vec<SeenEvent>, usize) {
        let mut saved: Vec<SeenEvent> = self
            .by_id
            .iter()
            .map(|(id, timestamp)| SeenEvent {
                timestamp: *timestamp,
                id: id.clone(),
            })
            .collect();
        saved.sort();
        let dropped = saved.len().saturating_sub(max);
        saved.drain(..dropped);
        (saved, dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: &str, timestamp: &str) -> Event {
        Event::from_value(json!({"id": id, "timestamp": timestamp})).unwrap()
    }

    fn ids(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn events_seen_in_the_overlap_are_dropped_and_new_ones_kept() {
        let mut seen = SeenSet::default();
        seen.record(&[
            event("a", "2024-05-01T11:59:00Z"),
            event("b", "2024-05-01T11:59:30Z"),
        ]);

        let fresh = seen.fresh(vec![
            event("a", "2024-05-01T11:59:00Z"),
            event("b", "2024-05-01T11:59:30Z"),
            event("c", "2024-05-01T11:59:45Z"),
        ]);

        assert_eq!(ids(&fresh.events), ["c"]);
        assert_eq!(fresh.duplicates, 2);
    }

    #[test]
    fn events_sharing_one_millisecond_are_told_apart_by_id() {
        let mut seen = SeenSet::default();
        seen.record(&[event("tie-1", "2024-05-01T12:00:00.123Z")]);

        let fresh = seen.fresh(vec![
            event("tie-1", "2024-05-01T12:00:00.123Z"),
            event("tie-2", "2024-05-01T12:00:00.123Z"),
            event("tie-3", "2024-05-01T12:00:00.123Z"),
        ]);

        assert_eq!(ids(&fresh.events), ["tie-2", "tie-3"]);
    }

    #[test]
    fn an_id_repeated_within_one_page_is_handed_over_once() {
        let seen = SeenSet::default();

        let fresh = seen.fresh(vec![
            event("x", "2024-05-01T12:00:00Z"),
            event("x", "2024-05-01T12:00:00Z"),
        ]);

        assert_eq!(ids(&fresh.events), ["x"]);
        assert_eq!(fresh.duplicates, 1);
    }

    #[test]
    fn a_restart_drops_what_the_saved_cursor_remembers() {
        let mut before = SeenSet::default();
        before.record(&[
            event("a", "2024-05-01T12:00:00Z"),
            event("b", "2024-05-01T12:00:01Z"),
        ]);
        let (saved, _) = before.to_saved(MAX_SEEN_EVENTS);

        let after_restart = SeenSet::from_saved(&saved);
        let fresh = after_restart.fresh(vec![
            event("b", "2024-05-01T12:00:01Z"),
            event("c", "2024-05-01T12:00:02Z"),
        ]);

        assert_eq!(ids(&fresh.events), ["c"]);
    }

    #[test]
    fn pruning_forgets_events_before_the_next_window_start_and_keeps_the_rest() {
        let mut seen = SeenSet::default();
        seen.record(&[
            event("old", "2024-05-01T11:00:00Z"),
            event("edge", "2024-05-01T11:55:00Z"),
            event("new", "2024-05-01T11:58:00Z"),
        ]);

        seen.prune(jcwatch_model::time::parse_timestamp("2024-05-01T11:55:00Z").unwrap());

        assert!(!seen.contains("old"));
        assert!(
            seen.contains("edge"),
            "the start is inclusive, so the edge stays"
        );
        assert!(seen.contains("new"));
    }

    #[test]
    fn the_saved_set_is_bounded_and_keeps_the_newest() {
        let mut seen = SeenSet::default();
        let events: Vec<Event> = (0..10)
            .map(|i| event(&format!("e{i}"), &format!("2024-05-01T12:00:0{i}Z")))
            .collect();
        seen.record(&events);

        let (saved, dropped) = seen.to_saved(3);

        assert_eq!(dropped, 7);
        let kept: Vec<&str> = saved.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(kept, ["e7", "e8", "e9"]);
    }
}
