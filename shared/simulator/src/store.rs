//! The simulator's event storage and search: one ordered store per organisation, searched
//! the way Directory Insights does it: `start_time` inclusive, `end_time` exclusive, sorted on
//! the event time in milliseconds with a stable internal id breaking ties, `search_after`
//! continuing strictly past the given sort key.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::term::Term;

/// `[epoch milliseconds, internal id]`: the sort key, and what `search_after` echoes.
pub(crate) type SortKey = (i64, String);

/// One organisation's events in sort order.
#[derive(Debug, Default)]
pub(crate) struct OrgStore {
    events: BTreeMap<SortKey, Value>,
}

impl OrgStore {
    pub fn insert(&mut self, key: SortKey, event: Value) {
        self.events.insert(key, event);
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }
}

/// A validated search.
#[derive(Debug, Clone)]
pub(crate) struct Search {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `None` for every service (`"all"`).
    pub services: Option<HashSet<String>>,
    pub limit: usize,
    pub descending: bool,
    pub after: Option<SortKey>,
    /// The `search_term` filter, if any.
    pub term: Option<Term>,
}

/// The page of `search` over the given stores (several with repeated `x-org-id`).
pub(crate) fn search(stores: &[&OrgStore], search: &Search) -> Vec<(SortKey, Value)> {
    let Some((lower, upper)) = bounds(search) else {
        return Vec::new();
    };
    let wanted = |event: &Value| {
        let service = match &search.services {
            None => true,
            Some(services) => event
                .get("service")
                .and_then(Value::as_str)
                .is_some_and(|s| services.contains(s)),
        };
        service && search.term.as_ref().is_none_or(|term| term.matches(event))
    };

    let mut found: Vec<(SortKey, Value)> = Vec::new();
    for store in stores {
        let range = store
            .events
            .range((lower.clone(), upper.clone()))
            .filter(|(_, event)| wanted(event));
        let taken: Vec<_> = if search.descending {
            range
                .rev()
                .take(search.limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        } else {
            range
                .take(search.limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        found.extend(taken);
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    if search.descending {
        found.reverse();
    }
    found.truncate(search.limit);
    found
}

/// The key range to read, or `None` when it is empty.
fn bounds(search: &Search) -> Option<(Bound<SortKey>, Bound<SortKey>)> {
    // Internal ids are never empty, so `(ms, "")` sorts before every event of that millisecond.
    let start = (search.start.timestamp_millis(), String::new());
    let end = (search.end.timestamp_millis(), String::new());
    let (mut lower, mut upper) = (Bound::Included(start), Bound::Excluded(end));

    if let Some(after) = &search.after {
        if search.descending {
            if Some(after) < bound_key(&upper) {
                upper = Bound::Excluded(after.clone());
            }
        } else if Some(after) >= bound_key(&lower) {
            lower = Bound::Excluded(after.clone());
        }
    }

    // `BTreeMap::range` panics on an inverted or empty-excluded range; answer empty instead.
    let (low, high) = (bound_key(&lower)?, bound_key(&upper)?);
    let both_included = matches!(lower, Bound::Included(_)) && matches!(upper, Bound::Included(_));
    if low > high || (low == high && !both_included) {
        return None;
    }
    Some((lower, upper))
}

fn bound_key(bound: &Bound<SortKey>) -> Option<&SortKey> {
    match bound {
        Bound::Included(key) | Bound::Excluded(key) => Some(key),
        Bound::Unbounded => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap()
    }

    fn store(keys: &[(i64, &str)]) -> OrgStore {
        let mut store = OrgStore::default();
        for (ms, id) in keys {
            store.insert(
                (*ms, (*id).to_owned()),
                json!({"id": format!("{ms}-{id}"), "service": if *ms % 2 == 0 { "sso" } else { "directory" }}),
            );
        }
        store
    }

    fn search_of(start: i64, end: i64, limit: usize) -> Search {
        Search {
            start: at(start),
            end: at(end),
            services: None,
            limit,
            descending: false,
            after: None,
            term: None,
        }
    }

    fn ids(found: &[(SortKey, Value)]) -> Vec<String> {
        found
            .iter()
            .map(|(_, e)| e["id"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn start_is_inclusive_and_end_exclusive() {
        let store = store(&[(999, "a"), (1000, "a"), (1500, "a"), (2000, "a")]);

        let found = search(&[&store], &search_of(1000, 2000, 10));

        assert_eq!(ids(&found), ["1000-a", "1500-a"]);
    }

    #[test]
    fn ties_in_one_millisecond_page_in_internal_id_order() {
        let store = store(&[(5, "c"), (5, "a"), (5, "b"), (6, "a")]);
        let mut first = search_of(0, 10, 2);

        let page1 = search(&[&store], &first);
        first.after = Some(page1.last().unwrap().0.clone());
        let page2 = search(&[&store], &first);

        assert_eq!(ids(&page1), ["5-a", "5-b"]);
        assert_eq!(ids(&page2), ["5-c", "6-a"]);
    }

    #[test]
    fn descending_search_after_continues_downwards() {
        let store = store(&[(1, "a"), (2, "a"), (3, "a"), (4, "a")]);
        let mut desc = search_of(0, 10, 2);
        desc.descending = true;

        let page1 = search(&[&store], &desc);
        desc.after = Some(page1.last().unwrap().0.clone());
        let page2 = search(&[&store], &desc);

        assert_eq!(ids(&page1), ["4-a", "3-a"]);
        assert_eq!(ids(&page2), ["2-a", "1-a"]);
    }

    #[test]
    fn a_cursor_outside_the_window_gives_an_empty_page_not_a_panic() {
        let store = store(&[(1, "a"), (2, "a")]);
        let mut past_end = search_of(0, 10, 5);
        past_end.after = Some((50, "z".to_owned()));
        let mut before_start_desc = search_of(5, 10, 5);
        before_start_desc.descending = true;
        before_start_desc.after = Some((1, "a".to_owned()));

        assert!(search(&[&store], &past_end).is_empty());
        assert!(search(&[&store], &before_start_desc).is_empty());
    }

    #[test]
    fn services_filter_and_several_organisations_merge_in_order() {
        let one = store(&[(2, "a"), (3, "a")]);
        let two = store(&[(1, "b"), (4, "b")]);
        let mut sso_only = search_of(0, 10, 10);
        sso_only.services = Some(HashSet::from(["sso".to_owned()]));

        let merged = search(&[&one, &two], &search_of(0, 10, 10));
        let filtered = search(&[&one, &two], &sso_only);

        assert_eq!(ids(&merged), ["1-b", "2-a", "3-a", "4-b"]);
        assert_eq!(ids(&filtered), ["2-a", "4-b"]);
    }
}
