//! Alerts do not depend on batch boundaries: the same stream split into random batches, with
//! batches delivered twice and the batches of a page processed in any order, gives the same
//! alert ids with the same events behind each as one scan of the whole stream.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::TimeDelta;
use jcwatch_model::Event;
use jcwatch_rules::{AlertSet, Engine, EvalContext, MemoryState};
use proptest::prelude::*;

/// A small deterministic generator, so one proptest seed describes a whole delivery plan.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn reference(engine: &Engine, events: &[Event]) -> BTreeMap<String, Vec<String>> {
    let mut set = AlertSet::default();
    set.extend(engine.scan(events.to_vec()));
    set.evidence()
}

/// Pages of consecutive events; within a page, events dealt into batches at random.
fn pages(events: &[Event], rng: &mut Rng) -> Vec<Vec<Vec<Event>>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < events.len() {
        let size = 5 + rng.below(60);
        let page = &events[start..(start + size).min(events.len())];
        let batches = 1 + rng.below(5);
        let mut dealt: Vec<Vec<Event>> = vec![Vec::new(); batches];
        for ev in page {
            dealt[rng.below(batches)].push(ev.clone());
        }
        dealt.retain(|b| !b.is_empty());
        out.push(dealt);
        start += size;
    }
    out
}

fn watermarked_run(engine: &Engine, events: &[Event], seed: u64) -> BTreeMap<String, Vec<String>> {
    let mut rng = Rng(seed);
    let mut state = MemoryState::new();
    let mut alerts = AlertSet::default();
    let mut redeliver_later: Vec<(Vec<Event>, EvalContext)> = Vec::new();

    for mut page in pages(events, &mut rng) {
        let page_start = page
            .iter()
            .flatten()
            .map(|e| e.timestamp)
            .min()
            .expect("pages are not empty");
        let ctx = EvalContext {
            complete_before: Some(page_start),
        };
        for i in (1..page.len()).rev() {
            page.swap(i, rng.below(i + 1));
        }
        for batch in &page {
            alerts.extend(engine.run(batch, &mut state, &ctx));
            match rng.below(6) {
                0 => alerts.extend(engine.run(batch, &mut state, &ctx)),
                1 => redeliver_later.push((batch.clone(), ctx)),
                _ => {}
            }
        }
        if rng.below(3) == 0 {
            for (batch, ctx) in redeliver_later.drain(..) {
                alerts.extend(engine.run(&batch, &mut state, &ctx));
            }
        }
    }
    for (batch, ctx) in redeliver_later.drain(..) {
        alerts.extend(engine.run(&batch, &mut state, &ctx));
    }
    let until = events.last().expect("a stream").timestamp + TimeDelta::nanoseconds(1);
    alerts.extend(engine.flush_memory(&mut state, until));
    alerts.evidence()
}

fn in_order_run(engine: &Engine, events: &[Event], seed: u64) -> BTreeMap<String, Vec<String>> {
    let mut rng = Rng(seed);
    let mut state = MemoryState::new();
    let mut alerts = AlertSet::default();
    let mut delivered: Vec<Vec<Event>> = Vec::new();
    let mut start = 0;
    while start < events.len() {
        let end = (start + 1 + rng.below(80)).min(events.len());
        let batch = events[start..end].to_vec();
        alerts.extend(engine.run(&batch, &mut state, &EvalContext::default()));
        delivered.push(batch);
        if rng.below(4) == 0 {
            let again = &delivered[rng.below(delivered.len())];
            alerts.extend(engine.run(again, &mut state, &EvalContext::default()));
        }
        start = end;
    }
    let until = events.last().expect("a stream").timestamp + TimeDelta::nanoseconds(1);
    alerts.extend(engine.flush_memory(&mut state, until));
    alerts.evidence()
}

#[test]
fn the_mixed_stream_exercises_every_kind_of_rule() {
    let engine = Engine::with_defaults();
    let events = common::mixed_stream();

    let alerts = engine.scan(events);

    let rules: BTreeSet<&str> = alerts.iter().map(|a| a.rule_id.as_str()).collect();
    for expected in [
        "jc.auth.brute_force",
        "jc.login.success_after_brute_force",
        "jc.auth.password_spray",
        "jc.login.success_after_spray",
        "jc.login.impossible_travel",
        "jc.login.first_seen_country",
        "jc.apikey.new_source",
        "jc.mfa.removed_then_new_place",
        "jc.mfa.user_mfa_disabled",
        "jc.mfa.push_fatigue",
        "jc.mfa.push_fatigue_accepted",
        "jc.auth.lockout_wave",
        "jc.admin.created_then_deleted",
    ] {
        assert!(
            rules.contains(expected),
            "{expected} missing from {rules:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn random_batches_redelivered_and_reordered_within_pages_give_the_same_alerts(seed in any::<u64>()) {
        let engine = Engine::with_defaults();
        let events = common::mixed_stream();
        let expected = reference(&engine, &events);

        let got = watermarked_run(&engine, &events, seed);

        prop_assert_eq!(got, expected);
    }

    #[test]
    fn in_order_batches_of_any_size_with_redelivery_give_the_same_alerts(seed in any::<u64>()) {
        let engine = Engine::with_defaults();
        let events = common::mixed_stream();
        let expected = reference(&engine, &events);

        let got = in_order_run(&engine, &events, seed);

        prop_assert_eq!(got, expected);
    }
}
