//! The scenario corpus keeps its promises: real-schema events that the event model reads,
//! unique ids, the ordinary habits it claims (HR burst, traveller, mistypes...), an intrusion
//! touching all five areas with its ground truth kept out of the events, and scoring that
//! counts what it should.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{Datelike, Duration, NaiveDate, Timelike, Weekday};
use jcwatch_model::{Area, Event, Route};
use jcwatch_simulator::scenario::{
    Activity, AttackStep, Corpus, Scenario, ScenarioEvent, ScoredAlert, Truth, distance_km,
};
use serde_json::Value;

/// A Monday, so the five days are a working week.
fn monday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 9).unwrap()
}

fn week_with_intrusion() -> (Scenario, Corpus) {
    let scenario = Scenario::new(7, monday());
    let corpus = scenario.days_with_intrusion(5, 2);
    (scenario, corpus)
}

fn str_at<'a>(e: &'a ScenarioEvent, path: &str) -> &'a str {
    let mut v = &e.event;
    for part in path.split('.') {
        v = match v.get(part) {
            Some(next) => next,
            None => return "",
        };
    }
    v.as_str().unwrap_or("")
}

fn geo(e: &ScenarioEvent) -> (f64, f64) {
    let g = &e.event["geoip"];
    (
        g["latitude"].as_f64().unwrap(),
        g["longitude"].as_f64().unwrap(),
    )
}

fn is_successful_login(e: &ScenarioEvent) -> bool {
    let kind = e.event_type();
    match kind {
        "sso_auth" => e.event["sso_token_success"] == Value::Bool(true),
        "user_login_attempt" | "admin_login_attempt" | "login_attempt" | "radius_auth_attempt" => {
            e.event["success"] == Value::Bool(true)
        }
        _ => false,
    }
}

fn username(e: &ScenarioEvent) -> &str {
    let by = str_at(e, "initiated_by.username");
    if by.is_empty() {
        str_at(e, "initiated_by.email")
    } else {
        by
    }
}

#[test]
fn every_event_of_a_week_and_the_intrusion_parses_with_the_event_model() {
    let (_, corpus) = week_with_intrusion();

    let parsed: Vec<Event> = corpus
        .events()
        .iter()
        .map(|e| Event::from_value(e.event.clone()).expect("scenario event parses"))
        .collect();

    assert!(corpus.len() > 2000, "a week holds {} events", corpus.len());
    for (event, original) in parsed.iter().zip(corpus.events()) {
        assert_eq!(event.timestamp, original.at, "timestamp of {}", event.id);
        assert!(event.event_type.is_some() && event.service.is_some());
        assert!(event.actor().is_some(), "event {} has an actor", event.id);
        let geo = event.geoip.as_ref().expect("every event has geoip");
        assert!(geo.latitude.is_some() && geo.longitude.is_some() && geo.country_code.is_some());
    }
    let lines = corpus.to_json_lines();
    assert_eq!(lines.lines().count(), corpus.len());
    for line in lines.lines() {
        Event::from_json(line).expect("each exported line parses");
    }
}

#[test]
fn event_ids_are_unique_and_shaped_like_the_services_ids() {
    let (_, corpus) = week_with_intrusion();

    let mut seen = HashSet::new();
    for e in corpus.events() {
        assert!(seen.insert(e.id().to_string()), "duplicate id {}", e.id());
        if e.event_type() == "radius_auth_attempt" {
            let id = e.id();
            assert_eq!(id.len(), 36, "RADIUS id {id} is a UUID");
            assert_eq!(id, id.to_uppercase(), "RADIUS id {id} is uppercase");
            assert_eq!(id.matches('-').count(), 4);
        } else {
            assert_eq!(e.id().len(), 24, "object id {}", e.id());
            assert!(
                e.id()
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
            let seconds = i64::from_str_radix(&e.id()[..8], 16).unwrap();
            assert_eq!(
                seconds,
                e.at.timestamp(),
                "object id {} embeds its time",
                e.id()
            );
        }
    }
}

#[test]
fn timestamps_have_each_services_precision() {
    let (_, corpus) = week_with_intrusion();

    let fraction = |e: &ScenarioEvent| {
        let ts = str_at(e, "timestamp");
        ts.split_once('.')
            .map_or(0, |(_, f)| f.trim_end_matches('Z').len())
    };
    let mut sso_lengths = BTreeSet::new();
    for e in corpus.events() {
        match str_at(e, "service") {
            "radius" => assert_eq!(fraction(e), 0, "{}", str_at(e, "timestamp")),
            "directory" | "systems" => assert_eq!(fraction(e), 3, "{}", str_at(e, "timestamp")),
            "ldap" => assert_eq!(fraction(e), 6, "{}", str_at(e, "timestamp")),
            "sso" => {
                sso_lengths.insert(fraction(e));
            }
            other => panic!("unexpected service {other}"),
        }
    }
    assert!(sso_lengths.contains(&9) && sso_lengths.iter().any(|l| *l < 9));
}

#[test]
fn the_same_seed_gives_the_same_corpus_and_another_seed_another() {
    let a = Scenario::new(11, monday()).demo_day();
    let b = Scenario::new(11, monday()).demo_day();
    let c = Scenario::new(12, monday()).demo_day();

    assert_eq!(a, b);
    let ids_a: HashSet<&str> = a.events().iter().map(ScenarioEvent::id).collect();
    assert!(c.events().iter().all(|e| !ids_a.contains(e.id())));
}

#[test]
fn a_day_is_the_same_whatever_the_number_of_days_asked_for() {
    let scenario = Scenario::new(3, monday());

    let two = scenario.ordinary_days(2);
    let five = scenario.ordinary_days(5);

    let first_day = |c: &Corpus| -> Vec<ScenarioEvent> {
        c.events()
            .iter()
            .filter(|e| e.at.date_naive() == monday())
            .cloned()
            .collect()
    };
    assert_eq!(first_day(&two), first_day(&five));
}

#[test]
fn each_working_day_has_every_kind_of_ordinary_activity() {
    let scenario = Scenario::new(7, monday());
    let corpus = scenario.ordinary_days(5);

    let mut by_day: BTreeMap<NaiveDate, BTreeMap<&str, usize>> = BTreeMap::new();
    for e in corpus.events() {
        *by_day
            .entry(e.at.date_naive())
            .or_default()
            .entry(e.event_type())
            .or_default() += 1;
    }
    assert_eq!(by_day.len(), 5);
    for (date, counts) in &by_day {
        let n = |t: &str| counts.get(t).copied().unwrap_or(0);
        assert!(n("sso_auth") > 150, "{date}: {} SSO", n("sso_auth"));
        assert!(n("user_login_attempt") > 20, "{date}: portal logins");
        assert!(n("radius_auth_attempt") > 30, "{date}: RADIUS");
        assert!(n("login_attempt") > 40, "{date}: device logins");
        assert!(n("ldap_bind") >= 12, "{date}: LDAP binds");
        assert!(n("admin_login_attempt") >= 2, "{date}: admin logins");
        assert!(n("association_change") >= 1, "{date}: group changes");
        assert!((3..=5).contains(&n("command_run")), "{date}: patch runs");
        assert!(n("user_update") >= 20, "{date}: user updates");
        assert!(date.weekday() != Weekday::Sat && date.weekday() != Weekday::Sun);
    }
    let total = |t: &str| {
        corpus
            .events()
            .iter()
            .filter(|e| e.event_type() == t)
            .count()
    };
    assert_eq!(total("application_create"), 1);
    assert_eq!(total("policy_update"), 1);
    assert_eq!(total("organization_update"), 1);
    assert_eq!(total("user_lockout"), 3, "a lockout every other day");
    assert_eq!(total("user_unlocked"), 3);
    assert_eq!(total("user_create"), 3, "new hires on days 0, 2 and 4");
    assert_eq!(total("totp_finish_enrollment"), 3);
    assert!(corpus.events().iter().all(|e| e.attack().is_none()));
}

#[test]
fn the_hr_system_syncs_every_night_in_one_burst_from_one_address_with_an_api_key() {
    let (scenario, corpus) = week_with_intrusion();
    let hr = &scenario.company().hr_sync;

    let mut nights: BTreeMap<NaiveDate, Vec<&ScenarioEvent>> = BTreeMap::new();
    for e in corpus.events() {
        if str_at(e, "initiated_by.email") == hr.email {
            nights.entry(e.at.date_naive()).or_default().push(e);
        }
    }

    assert_eq!(nights.len(), 5);
    for (date, burst) in nights {
        assert!(burst.len() >= 20, "{date}: {} HR events", burst.len());
        let ips: BTreeSet<&str> = burst.iter().map(|e| str_at(e, "client_ip")).collect();
        assert_eq!(ips.len(), 1, "{date}: one source address");
        assert!(burst.iter().all(|e| str_at(e, "auth_method") == "api key"));
        assert!(
            burst
                .iter()
                .all(|e| matches!(e.event_type(), "user_update" | "user_create"))
        );
        let span = burst.last().unwrap().at - burst.first().unwrap().at;
        assert!(span < Duration::minutes(5), "{date}: burst lasts {span}");
        assert!(burst.iter().all(|e| e.at.hour() == 2), "{date}: at night");
    }
    let scim = corpus
        .events()
        .iter()
        .filter(|e| str_at(e, "initiated_by.source") == "scim")
        .count();
    assert!(scim >= 5, "SCIM updates: {scim}");
}

#[test]
fn the_traveller_reaches_new_york_after_a_plausible_flight_and_stays() {
    let (scenario, corpus) = week_with_intrusion();
    let traveller = scenario.company().traveller();

    let logins: Vec<&ScenarioEvent> = corpus
        .events()
        .iter()
        .filter(|e| username(e) == traveller.username && is_successful_login(e))
        .collect();
    let first_us = logins
        .iter()
        .position(|e| str_at(e, "geoip.country_code") == "US")
        .expect("the traveller logs in from the US");
    let last_gb = logins[first_us - 1];
    let arrival = logins[first_us];

    assert_eq!(str_at(last_gb, "geoip.country_code"), "GB");
    let km = distance_km(geo(last_gb), geo(arrival));
    let hours = (arrival.at - last_gb.at).num_minutes() as f64 / 60.0;
    assert!(km > 5000.0, "London to New York is {km} km");
    assert!(hours >= 8.0, "gap of {hours} h covers the flight");
    assert!(
        km / hours < 900.0,
        "{} km/h is an airliner's speed",
        km / hours
    );
    assert!(
        logins[first_us..]
            .iter()
            .all(|e| str_at(e, "geoip.country_code") == "US")
    );
    assert!(
        logins[first_us..]
            .iter()
            .all(|e| e.truth == Truth::Ordinary(Activity::Travel))
    );
    let pushes: Vec<&&ScenarioEvent> = logins[first_us..]
        .iter()
        .filter(|e| !e.event["auth_context"]["jumpcloud_protect_device"].is_null())
        .collect();
    assert!(!pushes.is_empty());
    for push in pushes {
        let phone = &push.event["auth_context"]["jumpcloud_protect_device"]["geoip"];
        assert_eq!(phone["country_code"], "US", "his phone travels with him");
    }
}

#[test]
fn the_phone_on_the_mobile_network_stays_in_the_country_and_under_500_km() {
    let (scenario, corpus) = week_with_intrusion();
    let worker = scenario.company().mobile_worker();
    let office = &scenario.company().manchester_office;

    let mobile: Vec<&ScenarioEvent> = corpus
        .events()
        .iter()
        .filter(|e| e.truth == Truth::Ordinary(Activity::MobileNetwork))
        .collect();

    assert!(mobile.len() >= 10);
    for e in mobile {
        assert_eq!(username(e), worker.username);
        assert_eq!(str_at(e, "geoip.country_code"), "GB");
        assert_eq!(e.event["useragent"]["device"], "iPhone");
        let km = distance_km(geo(e), (office.geo.latitude, office.geo.longitude));
        assert!(
            km > 100.0 && km < 500.0,
            "mobile gateway {km} km from the office"
        );
    }
}

#[test]
fn mistyped_passwords_are_followed_by_a_success_from_the_same_place_within_minutes() {
    let (_, corpus) = week_with_intrusion();
    let events = corpus.events();

    let mistypes: Vec<usize> = (0..events.len())
        .filter(|&i| {
            events[i].truth == Truth::Ordinary(Activity::MistypedPassword)
                && events[i].event["success"] == Value::Bool(false)
        })
        .collect();

    assert!(
        mistypes.len() >= 10,
        "{} mistypes in a week",
        mistypes.len()
    );
    for i in mistypes {
        let failed = &events[i];
        let later = events[i + 1..]
            .iter()
            .take_while(|e| e.at - failed.at < Duration::minutes(3))
            .find(|e| {
                username(e) == username(failed)
                    && e.event_type() == failed.event_type()
                    && is_successful_login(e)
            })
            .unwrap_or_else(|| panic!("no success after mistype {}", failed.id()));
        assert_eq!(str_at(later, "client_ip"), str_at(failed, "client_ip"));
    }
}

#[test]
fn a_lockout_is_unlocked_by_an_admin_and_followed_by_a_login() {
    let (scenario, corpus) = week_with_intrusion();
    let admin = scenario.company().head_of_it();

    let lockouts: Vec<&ScenarioEvent> = corpus
        .events()
        .iter()
        .filter(|e| e.event_type() == "user_lockout")
        .collect();

    assert_eq!(lockouts.len(), 3);
    for lock in lockouts {
        let user = username(lock);
        let story: Vec<&ScenarioEvent> = corpus
            .events()
            .iter()
            .filter(|e| {
                e.truth == Truth::Ordinary(Activity::Lockout)
                    && e.at.date_naive() == lock.at.date_naive()
            })
            .collect();
        let failures = story
            .iter()
            .filter(|e| username(e) == user && e.event["success"] == Value::Bool(false))
            .count();
        assert_eq!(failures, 6);
        let unlock = story
            .iter()
            .find(|e| e.event_type() == "user_unlocked")
            .expect("an unlock");
        assert_eq!(str_at(unlock, "initiated_by.email"), admin.email);
        assert_eq!(str_at(unlock, "resource.username"), user);
        assert!(
            story
                .iter()
                .any(|e| username(e) == user && is_successful_login(e) && e.at > unlock.at)
        );
    }
}

#[test]
fn new_hires_log_in_without_mfa_once_then_enrol_totp() {
    let (scenario, corpus) = week_with_intrusion();

    let hires: Vec<_> = scenario
        .company()
        .people
        .iter()
        .filter(|p| p.joins_on_day.is_some_and(|d| d < 5))
        .collect();

    assert_eq!(hires.len(), 3);
    for hire in hires {
        let theirs: Vec<&ScenarioEvent> = corpus
            .events()
            .iter()
            .filter(|e| {
                username(e) == hire.username || str_at(e, "resource.username") == hire.username
            })
            .collect();
        let created = theirs
            .iter()
            .position(|e| e.event_type() == "user_create")
            .unwrap();
        let enrolled = theirs
            .iter()
            .position(|e| e.event_type() == "totp_finish_enrollment")
            .unwrap();
        let first_login = theirs
            .iter()
            .position(|e| e.event_type() == "user_login_attempt")
            .unwrap();
        assert!(created < first_login && first_login < enrolled);
        assert_eq!(theirs[first_login].event["mfa"], Value::Bool(false));
        assert!(
            theirs[enrolled..]
                .iter()
                .filter(|e| e.event_type() == "user_login_attempt" && is_successful_login(e))
                .all(|e| e.event["mfa"] == Value::Bool(true))
        );
    }
}

#[test]
fn the_intrusion_touches_every_step_and_all_five_areas() {
    let scenario = Scenario::new(7, monday());
    let at = scenario.intrusion_time(0);

    let intrusion = scenario.intrusion(at);

    let steps = intrusion.attack_steps();
    assert_eq!(
        steps.keys().copied().collect::<Vec<_>>(),
        AttackStep::ALL.to_vec()
    );
    let areas: BTreeSet<Area> = steps.keys().map(|s| s.area()).collect();
    assert_eq!(areas.len(), 5);
    for e in intrusion.events().iter().filter(|e| e.attack().is_some()) {
        assert!(
            e.at >= at && e.at < at + Duration::hours(3),
            "{} at {}",
            e.id(),
            e.at
        );
        let country = str_at(e, "geoip.country_code");
        assert!(country == "SG" || country == "NL", "attack from {country}");
    }
    let count = |step| steps[&step].len();
    assert_eq!(count(AttackStep::OldApiKey), 3);
    assert!(count(AttackStep::PasswordSpray) >= 20);
    assert_eq!(count(AttackStep::BruteForce), 5);
    assert_eq!(count(AttackStep::PushFatigue), 4);
    assert!(count(AttackStep::FleetCommand) >= 25);
}

#[test]
fn the_ground_truth_never_appears_inside_an_event() {
    let (_, corpus) = week_with_intrusion();

    for e in corpus.events() {
        let text = e.event.to_string();
        for marker in [
            "\"truth\"",
            "\"attack\"",
            "\"step\"",
            "password_spray",
            "push_fatigue",
        ] {
            assert!(!text.contains(marker), "{} carries {marker}", e.id());
        }
    }
}

#[test]
fn the_compromised_login_is_impossibly_far_from_the_victims_last_login() {
    let (scenario, corpus) = week_with_intrusion();
    let victim = scenario.company().victim();

    let logins: Vec<&ScenarioEvent> = corpus
        .events()
        .iter()
        .filter(|e| username(e) == victim.username && is_successful_login(e))
        .collect();
    let first_bad = logins
        .iter()
        .position(|e| e.truth == Truth::Attack(AttackStep::CompromisedLogin))
        .unwrap();
    let before = logins[first_bad - 1];
    let bad = logins[first_bad];

    assert_eq!(str_at(before, "geoip.country_code"), "GB");
    let km = distance_km(geo(before), geo(bad));
    let hours = (bad.at - before.at).num_seconds() as f64 / 3600.0;
    assert!(km > 10_000.0, "{km} km");
    assert!(km / hours > 5_000.0, "{} km/h", km / hours);
    let protect = &bad.event["auth_context"]["auth_methods"]["jumpcloud_protect"]["success"];
    assert_eq!(protect, &Value::Bool(true));
    let phone = &bad.event["auth_context"]["jumpcloud_protect_device"]["geoip"]["country_code"];
    assert_eq!(
        phone, "GB",
        "the approved push reached the victim's phone in London"
    );
}

#[test]
fn the_demo_day_is_small_with_the_intrusion_in_the_afternoon() {
    let scenario = Scenario::new(7, monday());

    let day = scenario.demo_day();

    assert!(day.len() < 3000, "{} events", day.len());
    assert!(day.len() > 400);
    let attack: Vec<&ScenarioEvent> = day
        .events()
        .iter()
        .filter(|e| e.attack().is_some())
        .collect();
    assert!(attack.iter().all(|e| e.at.date_naive() == monday()));
    assert!(attack.iter().all(|e| (13..18).contains(&e.at.hour())));
    let ordinary_kinds: BTreeSet<Activity> = day
        .events()
        .iter()
        .filter_map(|e| match e.truth {
            Truth::Ordinary(a) => Some(a),
            Truth::Attack(_) => None,
        })
        .collect();
    for expected in [
        Activity::Travel,
        Activity::MobileNetwork,
        Activity::HrSync,
        Activity::Lockout,
        Activity::NewSsoApp,
        Activity::NewHire,
        Activity::PatchCommand,
    ] {
        assert!(
            ordinary_kinds.contains(&expected),
            "demo day lacks {expected:?}"
        );
    }
}

fn alert(rule: &str, area: Area, route: Route, ids: &[&str]) -> ScoredAlert {
    ScoredAlert {
        rule_id: rule.into(),
        title: String::new(),
        area,
        route,
        event_ids: ids.iter().map(|s| s.to_string()).collect(),
    }
}

fn first_id(corpus: &Corpus, truth: Truth) -> String {
    corpus
        .events()
        .iter()
        .find(|e| e.truth == truth)
        .unwrap()
        .id()
        .to_string()
}

#[test]
fn scoring_counts_caught_steps_and_names_alerts_on_ordinary_activity() {
    let corpus = Scenario::new(7, monday()).demo_day();
    let spray = first_id(&corpus, Truth::Attack(AttackStep::PasswordSpray));
    let travel = first_id(&corpus, Truth::Ordinary(Activity::Travel));
    let new_app = first_id(&corpus, Truth::Ordinary(Activity::NewSsoApp));
    let alerts = vec![
        alert("spray", Area::AuthAndAdmin, Route::Alert, &[&spray]),
        alert("travel", Area::SuspiciousLogin, Route::Alert, &[&travel]),
        alert("app_duet", Area::RiskyConfig, Route::Duet, &[&new_app]),
        alert("app_alert", Area::RiskyConfig, Route::Alert, &[&new_app]),
    ];

    let score = corpus.score(&alerts);

    let recall = score.recall_by_area();
    assert_eq!(recall[&Area::AuthAndAdmin], (1, 5));
    assert_eq!(recall[&Area::ApiKeys], (0, 1));
    assert_eq!(score.missed_steps().len(), AttackStep::ALL.len() - 1);
    let fp: Vec<&str> = score
        .false_positives
        .iter()
        .map(|m| m.rule_id.as_str())
        .collect();
    assert_eq!(fp, vec!["travel", "app_alert"]);
    assert_eq!(score.confirmable_duets.len(), 1);
    assert!(score.unknown_event_ids.is_empty());
    assert!(score.report().contains("MISSED"));
}

#[test]
fn the_truth_file_has_one_line_per_event_and_areas_for_attacks() {
    let corpus = Scenario::new(7, monday()).demo_day();

    let truth: Vec<Value> = corpus
        .truth_json_lines()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    assert_eq!(truth.len(), corpus.len());
    let attacks: Vec<&Value> = truth.iter().filter(|t| t["truth"] == "attack").collect();
    assert_eq!(
        attacks.len(),
        corpus
            .events()
            .iter()
            .filter(|e| e.attack().is_some())
            .count()
    );
    assert!(
        attacks
            .iter()
            .all(|t| t["area"].is_string() && t["what"].is_string())
    );
    assert_eq!(truth[0]["id"], corpus.events()[0].id());
}

#[test]
fn alerts_from_scan_jsonl_lines_deserialise_for_scoring() {
    let line = r#"{"alert_id":"a1","rule_id":"jc.spray","title":"Spray","severity":"high",
        "area":"auth_and_admin","route":"alert","event_ids":["x"],"first_seen":"2025-06-09T00:00:00Z",
        "last_seen":"2025-06-09T00:00:00Z","count":1}"#;

    let alert: ScoredAlert = serde_json::from_str(line).unwrap();

    assert_eq!(alert.area, Area::AuthAndAdmin);
    assert_eq!(alert.event_ids, vec!["x".to_string()]);
}
