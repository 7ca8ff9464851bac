//! Every public sample event parses and serialises back to exactly the same JSON.

use jcwatch_model::Event;
use serde_json::Value;

const SAMPLES: &str = include_str!("fixtures/public-samples.jsonl");

#[test]
fn every_public_sample_round_trips_unchanged() {
    let mut count = 0;

    for (n, line) in SAMPLES.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let original: Value = serde_json::from_str(line).unwrap();
        let event = Event::from_json(line).unwrap_or_else(|e| panic!("sample {n}: {e}"));
        let back: Value = serde_json::to_value(&event).unwrap();
        assert_eq!(back, original, "sample {n} changed on the way through");
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            line.trim(),
            "sample {n} text"
        );
        count += 1;
    }

    assert!(count >= 10, "only {count} samples found");
}

#[test]
fn samples_expose_their_typed_envelope() {
    let events: Vec<Event> = SAMPLES
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Event::from_json(l).unwrap())
        .collect();

    let radius = events
        .iter()
        .find(|e| e.kind() == "radius_auth_attempt")
        .unwrap();
    assert_eq!(radius.actor().as_deref(), Some("john.doe"));
    assert_eq!(radius.success, Some(false));
    let admin = events
        .iter()
        .find(|e| e.kind() == "admin_login_attempt")
        .unwrap();
    assert_eq!(admin.mfa, Some(true));
    assert_eq!(
        admin.geoip.as_ref().unwrap().country_code.as_deref(),
        Some("FR")
    );
    assert!(events.iter().any(|e| !e.changes.is_empty()));
}
