//! Area 4: suspicious successful authentications.

use chrono::TimeDelta;
use jcwatch_model::{Area, Event, Route, Severity};

use super::{
    DAY1, NOT_CREDENTIAL_ERRORS, credential_failure, history, ignore_errors, learning,
    located_login, successful_login, suppress, threshold, window, within,
};
use crate::fields::{self, LoginPath};
use crate::fixtures::*;
use crate::knob::{Knob, KnobInput, Knobs};
use crate::rule::{
    Example, Examples, FirstSeenMatch, Hit, Logic, NeedsConfig, Rule, SequenceMatch, knobs,
};
use crate::state::Role;

use super::auth::STAFF;

pub(super) fn rules() -> Vec<Rule> {
    vec![
        impossible_travel(),
        multiple_countries(),
        first_seen_country(),
        success_after_brute_force(),
        success_after_spray(),
        disallowed_country(),
        listed_address(),
    ]
}

fn example(name: &'static str, t: &Timeline) -> Example {
    Example {
        name,
        events: t.events(),
    }
}

/// A successful login that says where it came from.
/// (Coordinates, or at least a country: without coordinates only a change of country within
/// the hour is taken as impossible.)
fn located(ev: &Event) -> Option<String> {
    let who = located_login(ev)?;
    let geo = ev.geoip.as_ref()?;
    let coordinates = geo.latitude.is_some()
        && geo.longitude.is_some()
        && !(geo.latitude == Some(0.0) && geo.longitude == Some(0.0));
    (coordinates || geo.country_code.is_some()).then_some(who)
}

// --- impossible travel -------------------------------------------------------------------

fn impossible_travel() -> Rule {
    Rule {
        id: "jc.login.impossible_travel",
        title: "Impossible travel for {entity}: {from} to {to} ({distance_km} km in {hours} h)",
        description: "Two successful logins of one account farther apart than anyone can travel in the time between them (at least min_distance_km apart, or min_distance_domestic_km within one country, faster than max_speed_kmh), or a login from another country with logins from the home country shortly before and after it. A real flight is slower than the threshold; put VPN exits and other shared addresses in this rule's allow-list (allow.cidrs) so they are not taken as a location.",
        area: Area::SuspiciousLogin,
        severity: Severity::High,
        technique: "T1078",
        route: Route::Alert,
        first_action: "Ask the user which of the two logins was theirs; end the other session and reset the password.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            Knob::number(
                knobs::MAX_SPEED,
                900.0,
                "Speeds above this (km/h) are impossible: an airliner cruises at about 900, before counting the time spent at airports.",
            ),
            Knob::number(
                knobs::MIN_DISTANCE,
                500.0,
                "Logins closer than this (km) are never compared, so address-location noise does not alert.",
            ),
            Knob::number(
                knobs::MIN_DISTANCE_DOMESTIC,
                1500.0,
                "The same for two logins in one country, where providers' addresses often locate hundreds of kilometres off.",
            ),
            Knob::duration(
                knobs::RETURN_WITHIN,
                "12h",
                "A login from another country between two home-country logins this close together is a trip out and back nobody made.",
            ),
            Knob::duration(
                knobs::WINDOW_STARTS,
                "6h",
                "Time of day (UTC) the suppression windows start; pick an hour your users are asleep, so one night-time incident is one alert.",
            ),
        ],
        details: &["from", "to", "distance_km", "speed_kmh", "hours", "back"],
        logic: Logic::GeoVelocity {
            observe: observe_located,
        },
        examples: travel_examples,
    }
}

fn observe_located(ev: &Event, _: &Knobs) -> Option<Hit> {
    located(ev).map(Hit::new)
}

fn travel_examples() -> Examples {
    let mut jump = Timeline::new("it-1", DAY1);
    jump.push(user_login("jane.doe"));
    jump.wait("50m").push(
        sso("jane.doe", "Slack")
            .from(&NEW_YORK)
            .ua(&FIREFOX_WINDOWS),
    );
    let mut out_and_back = Timeline::new("it-2", DAY1);
    out_and_back.push(user_login("jane.doe"));
    out_and_back
        .wait("3h")
        .push(user_login("jane.doe").from(&MOSCOW));
    out_and_back.wait("3h").push(sso("jane.doe", "Slack"));
    let mut flight = Timeline::new("it-3", DAY1);
    flight.push(user_login("jane.doe").from(&LONDON));
    flight
        .wait("9h")
        .push(user_login("jane.doe").from(&NEW_YORK));
    flight
        .wait("2h")
        .push(sso("jane.doe", "Slack").from(&NEW_YORK));
    let mut carrier = Timeline::new("it-8", DAY1);
    carrier.push(user_login("jane.doe"));
    carrier.wait("10m").push(
        sso("jane.doe", "Slack")
            .ua(&SAFARI_IPHONE)
            .set("geoip", serde_json::json!({"country_code": "FR", "region_name": "Provence-Alpes-Côte d'Azur", "latitude": 43.2965, "longitude": 5.3698})),
    );
    let mut coast_to_coast = Timeline::new("it-9", DAY1);
    coast_to_coast.push(user_login("john.doe").from(&NEW_YORK));
    coast_to_coast
        .wait("1h")
        .push(sso("john.doe", "Slack").from(&SAN_FRANCISCO));
    let mut train = Timeline::new("it-4", DAY1);
    train.push(user_login("jane.doe"));
    train.wait("1h").push(user_login("jane.doe").from(&LYON));
    let mut no_geo = Timeline::new("it-5", DAY1);
    no_geo.push(user_login("jane.doe"));
    no_geo.wait("10m").push(
        user_login("jane.doe")
            .without("geoip")
            .from_ip("100.64.1.2"),
    );
    let mut countries_only = Timeline::new("it-6", DAY1);
    countries_only
        .push(user_login("jane.doe").set("geoip", serde_json::json!({"country_code": "FR"})));
    countries_only.wait("20m").push(
        sso("jane.doe", "Slack")
            .from(&MOSCOW)
            .set("geoip", serde_json::json!({"country_code": "RU"})),
    );
    let mut countries_hours = Timeline::new("it-7", DAY1);
    countries_hours
        .push(user_login("jane.doe").set("geoip", serde_json::json!({"country_code": "FR"})));
    countries_hours
        .wait("3h")
        .push(sso("jane.doe", "Slack").set("geoip", serde_json::json!({"country_code": "DE"})));
    Examples {
        config: vec![],
        matching: vec![
            example("Paris then New York fifty minutes later", &jump),
            example("Paris, Moscow, Paris within six hours", &out_and_back),
            example(
                "France then Russia in twenty minutes, countries only",
                &countries_only,
            ),
        ],
        near_miss: vec![
            example("a real flight from London to New York", &flight),
            example("Paris to Lyon in an hour", &train),
            example("a login without a location", &no_geo),
            example("a phone whose carrier locates it in Marseille", &carrier),
            example(
                "France then Germany three hours later, countries only",
                &countries_hours,
            ),
        ],
    }
}

// --- several countries -------------------------------------------------------------------

fn multiple_countries() -> Rule {
    Rule {
        id: "jc.login.multiple_countries",
        title: "{entity} logged in from {distinct_count} countries within {window}",
        description: "Successful logins for one account from several countries in a short time: a password shared or tried through proxies around the world. One trip abroad is two countries; three in half a day is not travel.",
        area: Area::SuspiciousLogin,
        severity: Severity::Medium,
        technique: "T1078",
        route: Route::Alert,
        first_action: "Ask the user where they are; reset the password and end sessions from the countries they were not in.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            threshold(3, "Distinct countries."),
            window("12h"),
        ],
        details: &["distinct_count", "distinct", "threshold"],
        logic: Logic::Threshold {
            observe: observe_country,
            distinct: true,
        },
        examples: countries_examples,
    }
}

fn observe_country(ev: &Event, _: &Knobs) -> Option<Hit> {
    let who = located_login(ev)?;
    let country = ev.geoip.as_ref()?.country_code.clone()?;
    Some(Hit::new(who).value(country.to_ascii_uppercase()))
}

fn countries_examples() -> Examples {
    let mut three = Timeline::new("mc-1", DAY1);
    three.push(user_login("jane.doe"));
    three
        .wait("2h")
        .push(sso("jane.doe", "Slack").from(&SAO_PAULO));
    three
        .wait("3h")
        .push(sso("jane.doe", "Slack").from(&SINGAPORE));
    let mut trip = Timeline::new("mc-2", DAY1);
    trip.push(user_login("jane.doe").from(&LONDON));
    trip.wait("9h").push(user_login("jane.doe").from(&NEW_YORK));
    Examples {
        config: vec![],
        matching: vec![example(
            "France, Brazil and Singapore in five hours",
            &three,
        )],
        near_miss: vec![example("one trip abroad", &trip)],
    }
}

// --- first-seen country ------------------------------------------------------------------

fn first_seen_country() -> Rule {
    Rule {
        id: "jc.login.first_seen_country",
        title: "{entity} logged in from {value} for the first time, on an unfamiliar device",
        description: "A successful login from a country the account never used within the history window, made with a desktop browser and operating system the account never used either. A traveller takes their laptop (or first uses their phone) abroad, so a new country on a known device or a phone is left alone; a stolen password is used from the thief's own computer. A login that follows failed attempts, denied pushes or the removal of the account's MFA is left to the rules that report those, so one intrusion does not raise the same story twice.",
        area: Area::SuspiciousLogin,
        severity: Severity::Medium,
        technique: "T1078",
        route: Route::Duet,
        first_action: "Ask the user whether they logged in from that country on a new device; if not, reset the password and end the session.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            learning("1d"),
            history("30d"),
            ignore_errors(NOT_CREDENTIAL_ERRORS),
        ],
        details: &["new_values", "known_values"],
        logic: Logic::FirstSeen {
            observe: observe_country_device,
            check: Some(unfamiliar_device),
            new_entities: false,
        },
        examples: first_country_examples,
    }
}

/// Markers of activity other rules report: failed passwords, denied pushes, MFA removed.
const MARK_FAILED: &str = "!failed";
const MARK_PUSH: &str = "!push-denied";
const MARK_MFA_OFF: &str = "!mfa-off";

fn observe_country_device(ev: &Event, knobs: &Knobs) -> Option<Hit> {
    // Markers are remembered three per minute (retention keeps three per value and aux).
    let slot = |ev: &Event| Some((ev.timestamp.timestamp() / 60).to_string());
    if fields::push_result(ev) == Some(false) {
        let who = fields::login_identity(ev)?;
        return Some(
            Hit::new(who)
                .role(Role::Context)
                .value(MARK_PUSH)
                .aux(slot(ev)),
        );
    }
    if let Some(who) = credential_failure(ev, knobs) {
        return Some(
            Hit::new(who)
                .role(Role::Context)
                .value(MARK_FAILED)
                .aux(slot(ev)),
        );
    }
    if let Some(fields::MfaToggle::Off(who)) = fields::mfa_toggle(ev) {
        return Some(
            Hit::new(who)
                .role(Role::Context)
                .value(MARK_MFA_OFF)
                .aux(slot(ev)),
        );
    }
    let (path, who) = successful_login(ev)?;
    if !matches!(
        path,
        LoginPath::Admin | LoginPath::Portal | LoginPath::Sso | LoginPath::Radius
    ) {
        return None;
    }
    let country = ev
        .geoip
        .as_ref()?
        .country_code
        .clone()?
        .to_ascii_uppercase();
    Some(
        Hit::new(who)
            .role(Role::Candidate)
            .value(country)
            .aux(fields::device_family(ev)),
    )
}

fn unfamiliar_device(seen: &FirstSeenMatch<'_>, _: &Knobs) -> bool {
    let Some(device) = seen.candidate.aux.as_deref() else {
        return false;
    };
    // A traveller's phone is often first used on the trip; a thief uses a computer.
    let lower = device.to_lowercase();
    if ["ios", "android", "iphone", "ipad", "mobile"]
        .iter()
        .any(|m| lower.contains(m))
    {
        return false;
    }
    let at = seen.candidate.at;
    let marks = |value: &str, within: TimeDelta| {
        seen.history
            .iter()
            .filter(|o| o.value.as_deref() == Some(value) && o.at >= at - within)
            .count()
    };
    let reported_elsewhere = marks(MARK_FAILED, TimeDelta::hours(1)) >= 5
        || marks(MARK_PUSH, TimeDelta::hours(1)) >= 3
        || marks(MARK_MFA_OFF, TimeDelta::days(1)) >= 1;
    !reported_elsewhere
        && !seen
            .history
            .iter()
            .any(|o| o.aux.as_deref() == Some(device))
}

fn first_country_examples() -> Examples {
    let usual = |t: &mut Timeline, user: &str| {
        t.repeat(3, "1d", |_| user_login(user));
        t.wait("4h");
    };
    let mut thief = Timeline::new("fc-1", DAY1);
    usual(&mut thief, "jane.doe");
    thief.push(sso("jane.doe", "Salesforce").from(&LAGOS).ua(&EDGE_WINDOWS));
    let mut traveller = Timeline::new("fc-2", DAY1);
    usual(&mut traveller, "jane.doe");
    traveller.push(user_login("jane.doe").from(&TOKYO));
    let mut new_user = Timeline::new("fc-3", DAY1);
    new_user.push(user_login("new.hire"));
    new_user
        .wait("2h")
        .push(user_login("new.hire").from(&TOKYO).ua(&EDGE_WINDOWS));
    let mut phone_abroad = Timeline::new("fc-6", DAY1);
    usual(&mut phone_abroad, "jane.doe");
    phone_abroad.push(sso("jane.doe", "Slack").from(&NEW_YORK).ua(&SAFARI_IPHONE));
    let mut guessed = Timeline::new("fc-5", DAY1);
    usual(&mut guessed, "jane.doe");
    guessed.repeat(6, "20s", |_| {
        user_login_failed("jane.doe").from(&LAGOS).ua(&EDGE_WINDOWS)
    });
    guessed
        .wait("1m")
        .push(sso("jane.doe", "Salesforce").from(&LAGOS).ua(&EDGE_WINDOWS));
    let mut home_new_phone = Timeline::new("fc-4", DAY1);
    usual(&mut home_new_phone, "jane.doe");
    home_new_phone.push(user_login("jane.doe").ua(&SAFARI_IPHONE));
    Examples {
        config: vec![],
        matching: vec![example(
            "a login from Lagos on an unknown Windows machine",
            &thief,
        )],
        near_miss: vec![
            example("a traveller's phone used first on arrival", &phone_abroad),
            example("a traveller in Tokyo with their laptop", &traveller),
            example("a user still in the learning period", &new_user),
            example("a new phone at home", &home_new_phone),
            example(
                "a guessed password (the brute-force rules report it)",
                &guessed,
            ),
        ],
    }
}

// --- success after brute force -----------------------------------------------------------

fn success_after_brute_force() -> Rule {
    Rule {
        id: "jc.login.success_after_brute_force",
        title: "{entity} logged in after {first_count} failed attempts",
        description: "A successful login right after a run of failed ones for the same account, with no password reset or unlock in between: a guessed password. Someone who forgot their password resets it before succeeding.",
        area: Area::SuspiciousLogin,
        severity: Severity::High,
        technique: "T1110.001",
        route: Route::Alert,
        first_action: "Ask the user whether the successful login was theirs; if not, reset the password, end the session and block the source.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            threshold(5, "Failed logins before the success."),
            within("30m", "How far back from the success failures are counted."),
            ignore_errors(NOT_CREDENTIAL_ERRORS),
        ],
        details: &["first_count"],
        logic: Logic::Sequence {
            observe: observe_fail_reset_success,
            distinct: false,
            check: Some(no_reset_between),
        },
        examples: brute_success_examples,
    }
}

fn password_reset(ev: &Event) -> Option<String> {
    let reset = matches!(
        ev.kind(),
        "user_password_change"
            | "user_password_set"
            | "user_password_reset"
            | "user_unlocked"
            | "admin_password_change"
            | "admin_password_reset"
            | "user_password_reset_request"
    ) || (ev.kind().ends_with("_update")
        && fields::flat_changes(ev)
            .iter()
            .any(|c| c.leaf() == "password" || c.leaf() == "password_date"));
    if !reset {
        return None;
    }
    fields::target_identity(ev).or_else(|| fields::login_identity(ev))
}

fn observe_fail_reset_success(ev: &Event, knobs: &Knobs) -> Option<Hit> {
    if let Some(who) = credential_failure(ev, knobs) {
        return Some(Hit::new(who).role(Role::First));
    }
    if let Some(who) = password_reset(ev) {
        return Some(Hit::new(who).role(Role::Context));
    }
    let (_, who) = successful_login(ev)?;
    Some(Hit::new(who).role(Role::Then))
}

fn no_reset_between(seen: &SequenceMatch<'_>, _: &Knobs) -> bool {
    let Some(first) = seen.firsts.iter().map(|o| o.at).min() else {
        return false;
    };
    !seen
        .history
        .iter()
        .any(|o| o.role == Role::Context && o.at >= first)
}

fn brute_success_examples() -> Examples {
    let mut guessed = Timeline::new("bs-1", DAY1);
    guessed.repeat(8, "20s", |_| {
        user_login_failed("jane.doe").from(&HANOI).ua(&CURL)
    });
    guessed
        .wait("30s")
        .push(user_login("jane.doe").from(&HANOI).ua(&CURL).mfa(false));
    let mut typo = Timeline::new("bs-2", DAY1);
    typo.repeat(3, "20s", |_| user_login_failed("jane.doe"));
    typo.wait("30s").push(user_login("jane.doe"));
    let mut forgot = Timeline::new("bs-3", DAY1);
    forgot.repeat(6, "30s", |_| user_login_failed("jane.doe"));
    forgot.wait("2m").push(
        Ev::new("user_password_change", "directory")
            .by_user("jane.doe")
            .on_user("jane.doe")
            .from(&PARIS)
            .ok(true),
    );
    forgot.wait("1m").push(user_login("jane.doe"));
    Examples {
        config: vec![],
        matching: vec![example("eight failures then a success", &guessed)],
        near_miss: vec![
            example("three typos then a success", &typo),
            example("a forgotten password reset", &forgot),
        ],
    }
}

// --- success after spray -----------------------------------------------------------------

fn success_after_spray() -> Rule {
    Rule {
        id: "jc.login.success_after_spray",
        title: "Successful login from {entity} after a password spray against {first_count} attempts",
        description: "A successful login from an address that, just before, failed logins for many different accounts: the spray found a password that works.",
        area: Area::SuspiciousLogin,
        severity: Severity::Critical,
        technique: "T1110.003",
        route: Route::Alert,
        first_action: "Block the address, end the sessions it opened and reset the passwords of the accounts that logged in from it.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            threshold(10, "Distinct accounts that failed from the address."),
            within("1h", "How far back from the success failures are counted."),
            ignore_errors(NOT_CREDENTIAL_ERRORS),
        ],
        details: &["first_count"],
        logic: Logic::Sequence {
            observe: observe_spray_or_success,
            distinct: true,
            check: None,
        },
        examples: spray_success_examples,
    }
}

fn observe_spray_or_success(ev: &Event, knobs: &Knobs) -> Option<Hit> {
    let ip = fields::source_ip(ev)?.to_string();
    if let Some(who) = credential_failure(ev, knobs) {
        return Some(Hit::new(ip).role(Role::First).value(who));
    }
    let (_, who) = successful_login(ev)?;
    Some(Hit::new(ip).role(Role::Then).value(who))
}

fn spray_success_examples() -> Examples {
    let mut hit = Timeline::new("ss-1", DAY1);
    hit.repeat(12, "20s", |i| {
        user_login_failed(STAFF[i])
            .from(&HANOI)
            .ua(&PYTHON_REQUESTS)
    });
    hit.wait("1m").push(
        user_login(STAFF[12])
            .from(&HANOI)
            .ua(&PYTHON_REQUESTS)
            .mfa(false),
    );
    let mut small = Timeline::new("ss-2", DAY1);
    small.repeat(4, "3m", |i| user_login_failed(STAFF[i]));
    small.wait("1m").push(user_login(STAFF[5]));
    let mut elsewhere = Timeline::new("ss-3", DAY1);
    elsewhere.repeat(12, "20s", |i| user_login_failed(STAFF[i]).from(&HANOI));
    elsewhere.wait("1m").push(user_login(STAFF[12]));
    Examples {
        config: vec![],
        matching: vec![example("a spray that found a password", &hit)],
        near_miss: vec![
            example("a few typos at the office, then a login", &small),
            example("a spray, and a login from elsewhere", &elsewhere),
        ],
    }
}

// --- configured countries and addresses --------------------------------------------------

fn disallowed_country() -> Rule {
    Rule {
        id: "jc.login.disallowed_country",
        title: "{entity} active from {country}, a country on the deny list",
        description: "A successful login or an admin change from a country you listed as one where nobody should be (an embargo list, countries without staff). Failed attempts from those countries are left to the brute-force and spray rules.",
        area: Area::SuspiciousLogin,
        severity: Severity::High,
        technique: "T1078",
        route: Route::Alert,
        first_action: "Ask the user whether they are in that country; if not, reset the password and end the session.",
        needs_config: Some(NeedsConfig {
            knobs: &["countries"],
            hint: "list in `countries` the two-letter codes of countries logins must never come from",
        }),
        knobs: vec![
            suppress("24h"),
            Knob::countries(
                "countries",
                "Countries no login or admin change should come from.",
            ),
        ],
        details: &[],
        logic: Logic::Single {
            observe: observe_denied_country,
        },
        examples: denied_country_examples,
    }
}

fn active_identity(ev: &Event) -> Option<String> {
    if let Some((_, who)) = successful_login(ev) {
        return Some(who);
    }
    fields::is_directory_write(ev)
        .then(|| fields::actor_identity(ev))
        .flatten()
}

fn observe_denied_country(ev: &Event, knobs: &Knobs) -> Option<Hit> {
    let country = ev.geoip.as_ref()?.country_code.as_deref()?;
    if !knobs.listed("countries", country) {
        return None;
    }
    active_identity(ev).map(Hit::new)
}

fn denied_country_examples() -> Examples {
    let mut login = Timeline::new("dc-1", DAY1);
    login.push(user_login("jane.doe").from(&MOSCOW));
    let mut change = Timeline::new("dc-2", DAY1);
    change.push(
        admin_change("user_update", "it.admin@corp.example")
            .from(&MOSCOW)
            .on_user("jane.doe"),
    );
    let mut failed = Timeline::new("dc-3", DAY1);
    failed.push(user_login_failed("jane.doe").from(&MOSCOW));
    let mut home = Timeline::new("dc-4", DAY1);
    home.push(user_login("jane.doe"));
    Examples {
        config: vec![("countries", KnobInput::words(&["RU", "KP"]))],
        matching: vec![
            example("a login from Russia", &login),
            example("an admin change from Russia", &change),
        ],
        near_miss: vec![
            example("a failed attempt from Russia", &failed),
            example("a login from France", &home),
        ],
    }
}

fn listed_address() -> Rule {
    Rule {
        id: "jc.login.listed_address",
        title: "{entity} active from listed address {ip}",
        description: "A successful login or an admin change from an address in the configured ranges: Tor exit nodes, anonymising VPNs, hosting ranges no person logs in from, or addresses from threat intelligence.",
        area: Area::SuspiciousLogin,
        severity: Severity::High,
        technique: "T1090.003",
        route: Route::Alert,
        first_action: "Ask the user whether they use that service; if not, reset the password and end the session.",
        needs_config: Some(NeedsConfig {
            knobs: &["cidrs"],
            hint: "list in `cidrs` the address ranges no login should come from (Tor exits, anonymisers, threat intelligence)",
        }),
        knobs: vec![
            suppress("24h"),
            Knob::cidrs(
                "cidrs",
                "Address ranges no login or admin change should come from.",
            ),
        ],
        details: &[],
        logic: Logic::Single {
            observe: observe_listed_address,
        },
        examples: listed_address_examples,
    }
}

fn observe_listed_address(ev: &Event, knobs: &Knobs) -> Option<Hit> {
    let ip = fields::source_ip(ev)?;
    if !knobs.cidrs("cidrs").iter().any(|net| net.contains(&ip)) {
        return None;
    }
    active_identity(ev).map(Hit::new)
}

fn listed_address_examples() -> Examples {
    let tor = PARIS.via("185.220.101.7");
    let mut login = Timeline::new("la-1", DAY1);
    login.push(user_login("jane.doe").from(&tor));
    let mut failed = Timeline::new("la-2", DAY1);
    failed.push(user_login_failed("jane.doe").from(&tor));
    let mut home = Timeline::new("la-3", DAY1);
    home.push(user_login("jane.doe"));
    Examples {
        config: vec![("cidrs", KnobInput::words(&["185.220.101.0/24"]))],
        matching: vec![example("a login through a Tor exit", &login)],
        near_miss: vec![
            example("a failed attempt through Tor", &failed),
            example("a login from home", &home),
        ],
    }
}
