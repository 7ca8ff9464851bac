//! Window arithmetic: which time range one poll asks for, and where the cursor may move after
//! a page. Pure functions; the reasoning behind them is in the [`crate::poll`] module docs.

use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use crate::ports::Cursor;

/// The half-open time range `[start, end)` one poll asks Directory Insights for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// No position was stored yet: the window starts at `now − backfill`.
    pub first_run: bool,
}

/// What this tick should do for one organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Ask for the window.
    Poll(Window),
    /// `start >= end`: nothing can be asked for yet (the API answers such a request with a
    /// 400). No request is sent and the cursor is left as it is.
    Skip(Window),
}

/// Directory Insights sorts and filters on milliseconds (its `search_after` carries epoch
/// milliseconds), while timestamps may carry nanoseconds. Every instant the poll asks with or
/// resumes from is cut down to its millisecond, so "from this instant" always includes the
/// whole millisecond, whichever way the service compares finer digits.
pub fn millis_floor(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

/// Converts a configured duration into chrono's, saturating instead of overflowing on absurd
/// values (which validation rejects long before they reach here).
pub fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// The point the next window resumes from: the later of the high-water mark and the end of
/// what was already asked for. `None` before the first completed page.
pub fn resume_point(cursor: &Cursor) -> Option<DateTime<Utc>> {
    match (cursor.high_water, cursor.polled_until) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Plans the window `[resume − overlap, now − lag)`, or `[now − backfill, now − lag)` on the
/// first run.
pub fn plan(
    cursor: &Cursor,
    now: DateTime<Utc>,
    lag: Duration,
    overlap: Duration,
    backfill: Duration,
) -> Plan {
    let end = millis_floor(now - delta(lag));
    let (start, first_run) = match resume_point(cursor) {
        Some(resume) => (millis_floor(resume - delta(overlap)), false),
        None => (millis_floor(now - delta(backfill)), true),
    };

    let window = Window {
        start,
        end,
        first_run,
    };
    if start >= end {
        return Plan::Skip(window);
    }
    Plan::Poll(window)
}

/// How far a page lets `polled_until` move. The last page of a window completes it, so the
/// whole window up to `end` was asked for. An earlier page (sorted ascending) proves only that
/// everything before its last event's time was returned; events sharing that last timestamp
/// may continue on the next page (in the service's order, which breaks ties within a
/// millisecond by an internal id, not by finer digits), which is why the value is the start of
/// that timestamp's millisecond (the next window's start is inclusive) and why `seen` keeps
/// the events from there on.
pub fn page_progress(
    window: &Window,
    last_page: bool,
    last_event_time: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    if last_page {
        return Some(window.end);
    }
    last_event_time.map(|t| millis_floor(t).min(window.end))
}

/// Only forward: the later of two optional instants.
pub fn later(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jcwatch_model::time::parse_timestamp;

    fn t(text: &str) -> DateTime<Utc> {
        parse_timestamp(text).unwrap()
    }

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn the_first_run_starts_at_now_minus_backfill_and_ends_at_now_minus_lag() {
        let cursor = Cursor::default();

        let plan = plan(
            &cursor,
            t("2024-05-01T12:00:00Z"),
            2 * MIN,
            5 * MIN,
            60 * MIN,
        );

        assert_eq!(
            plan,
            Plan::Poll(Window {
                start: t("2024-05-01T11:00:00Z"),
                end: t("2024-05-01T11:58:00Z"),
                first_run: true,
            })
        );
    }

    #[test]
    fn a_later_run_starts_one_overlap_before_the_resume_point() {
        let cursor = Cursor {
            high_water: Some(t("2024-05-01T11:50:00.250Z")),
            polled_until: Some(t("2024-05-01T11:58:00Z")),
            ..Cursor::default()
        };

        let plan = plan(
            &cursor,
            t("2024-05-01T12:05:00Z"),
            2 * MIN,
            5 * MIN,
            60 * MIN,
        );

        assert_eq!(
            plan,
            Plan::Poll(Window {
                start: t("2024-05-01T11:53:00Z"),
                end: t("2024-05-01T12:03:00Z"),
                first_run: false,
            })
        );
    }

    #[test]
    fn a_cursor_with_only_a_high_water_mark_resumes_from_it() {
        let cursor = Cursor {
            high_water: Some(t("2024-05-01T11:50:00Z")),
            ..Cursor::default()
        };

        let Plan::Poll(window) = plan(&cursor, t("2024-05-01T12:00:00Z"), MIN, MIN, 60 * MIN)
        else {
            panic!("expected a window to poll");
        };

        assert_eq!(window.start, t("2024-05-01T11:49:00Z"));
    }

    #[test]
    fn start_at_or_after_end_skips_the_tick() {
        let cursor = Cursor {
            polled_until: Some(t("2024-05-01T12:00:00Z")),
            ..Cursor::default()
        };

        let equal = plan(
            &cursor,
            t("2024-05-01T12:00:00Z"),
            5 * MIN,
            5 * MIN,
            60 * MIN,
        );
        let after = plan(
            &cursor,
            t("2024-05-01T12:00:00Z"),
            10 * MIN,
            5 * MIN,
            60 * MIN,
        );

        assert!(
            matches!(equal, Plan::Skip(w) if w.start == w.end),
            "{equal:?}"
        );
        assert!(
            matches!(after, Plan::Skip(w) if w.start > w.end),
            "{after:?}"
        );
    }

    #[test]
    fn a_backfill_no_longer_than_the_lag_skips_the_first_tick() {
        let plan = plan(
            &Cursor::default(),
            t("2024-05-01T12:00:00Z"),
            5 * MIN,
            MIN,
            5 * MIN,
        );

        assert!(matches!(plan, Plan::Skip(w) if w.first_run), "{plan:?}");
    }

    /// Simulates a sequence of ticks against a late event and checks which window holds it.
    fn first_window_holding(
        event_time: DateTime<Utc>,
        arrival: DateTime<Utc>,
        ticks: &[DateTime<Utc>],
        lag: Duration,
        overlap: Duration,
    ) -> Option<DateTime<Utc>> {
        let mut cursor = Cursor {
            polled_until: Some(ticks[0] - delta(lag)),
            ..Cursor::default()
        };
        for &now in &ticks[1..] {
            let Plan::Poll(window) = plan(&cursor, now, lag, overlap, 60 * MIN) else {
                continue;
            };
            if arrival <= now && window.start <= event_time && event_time < window.end {
                return Some(now);
            }
            cursor.polled_until = later(cursor.polled_until, page_progress(&window, true, None));
        }
        None
    }

    #[test]
    fn an_event_arriving_late_within_lag_plus_overlap_is_in_a_later_window() {
        let ticks: Vec<_> = (0..10)
            .map(|i| t("2024-05-01T12:00:00Z") + TimeDelta::minutes(i))
            .collect();
        let event_time = t("2024-05-01T11:58:30Z");
        // Lag 2m plus overlap 5m: arriving 6m59s after its own time is still inside.
        let arrival = event_time + TimeDelta::seconds(6 * 60 + 59);

        let found = first_window_holding(event_time, arrival, &ticks, 2 * MIN, 5 * MIN);

        assert_eq!(found, Some(t("2024-05-01T12:06:00Z")));
    }

    #[test]
    fn an_event_arriving_later_than_lag_plus_overlap_falls_behind_every_window() {
        let ticks: Vec<_> = (0..20)
            .map(|i| t("2024-05-01T12:00:00Z") + TimeDelta::minutes(i))
            .collect();
        let event_time = t("2024-05-01T11:58:30Z");
        let arrival = event_time + TimeDelta::minutes(9);

        let found = first_window_holding(event_time, arrival, &ticks, 2 * MIN, 5 * MIN);

        assert_eq!(
            found, None,
            "the bound is what the arithmetic promises, no more"
        );
    }

    #[test]
    fn a_middle_page_moves_progress_to_its_last_event_and_the_last_page_to_the_end() {
        let window = Window {
            start: t("2024-05-01T11:00:00Z"),
            end: t("2024-05-01T12:00:00Z"),
            first_run: false,
        };

        let middle = page_progress(&window, false, Some(t("2024-05-01T11:20:00.5Z")));
        let middle_empty = page_progress(&window, false, None);
        let last = page_progress(&window, true, Some(t("2024-05-01T11:30:00Z")));

        assert_eq!(middle, Some(t("2024-05-01T11:20:00.5Z")));
        assert_eq!(middle_empty, None);
        assert_eq!(last, Some(window.end));
    }

    #[test]
    fn a_page_ending_inside_a_millisecond_resumes_at_that_millisecond() {
        let window = Window {
            start: t("2024-05-01T11:00:00Z"),
            end: t("2024-05-01T12:00:00Z"),
            first_run: false,
        };

        let progress = page_progress(&window, false, Some(t("2024-05-01T11:20:00.123456789Z")));

        assert_eq!(progress, Some(t("2024-05-01T11:20:00.123Z")));
    }

    #[test]
    fn window_edges_are_whole_milliseconds() {
        let now = t("2024-05-01T12:00:00.987654321Z");

        let plan = plan(&Cursor::default(), now, MIN, MIN, 60 * MIN);

        let Plan::Poll(window) = plan else {
            panic!("expected a window");
        };
        assert_eq!(window.start, t("2024-05-01T11:00:00.987Z"));
        assert_eq!(window.end, t("2024-05-01T11:59:00.987Z"));
    }

    #[test]
    fn progress_only_moves_forward() {
        let old = Some(t("2024-05-01T12:00:00Z"));

        assert_eq!(later(old, Some(t("2024-05-01T11:00:00Z"))), old);
        assert_eq!(later(old, None), old);
        assert_eq!(later(None, old), old);
    }
}
