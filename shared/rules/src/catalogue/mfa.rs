//! Area 3: possible bypass of MFA.

use jcwatch_model::{Area, Event, Route, Severity};
use serde_json::json;

use super::{DAY1, history, learning, successful_login, suppress, threshold, window, within};
use crate::fields::{self, LoginPath, MfaToggle, Outcome};
use crate::fixtures::*;
use crate::knob::{Knob, KnobInput, Knobs};
use crate::rule::{
    Example, Examples, FirstSeenMatch, Hit, Logic, NeedsConfig, Rule, SequenceMatch,
};
use crate::state::Role;

pub(super) fn rules() -> Vec<Rule> {
    vec![
        admin_login_without_mfa(),
        admin_mfa_disabled(),
        user_mfa_disabled(),
        removed_then_new_place(),
        push_fatigue(),
        push_fatigue_accepted(),
        weak_path(),
        required_mfa_missing(),
    ]
}

fn example(name: &'static str, t: &Timeline) -> Example {
    Example {
        name,
        events: t.events(),
    }
}

fn is_admin_subject(ev: &Event) -> bool {
    ev.kind().starts_with("admin_")
        || ev
            .resource
            .as_ref()
            .and_then(|r| r.kind.as_deref())
            .is_some_and(|k| k.eq_ignore_ascii_case("admin"))
}

// --- admin login without MFA -------------------------------------------------------------

fn admin_login_without_mfa() -> Rule {
    Rule {
        id: "jc.mfa.admin_login_without_mfa",
        title: "Admin {actor} logged in to the console without MFA from {ip}",
        description: "A successful admin console login with mfa false. Admin accounts hold the keys to every user and device; a login without a second factor is either a gap in policy or a password used by someone else. Logins that do not say whether MFA was used are left alone.",
        area: Area::MfaBypass,
        severity: Severity::High,
        technique: "T1078.004",
        route: Route::Duet,
        first_action: "Ask the admin to confirm the login; then require MFA for every admin account.",
        needs_config: None,
        knobs: vec![suppress("24h")],
        details: &[],
        logic: Logic::Single {
            observe: observe_admin_no_mfa,
        },
        examples: admin_no_mfa_examples,
    }
}

fn observe_admin_no_mfa(ev: &Event, _: &Knobs) -> Option<Hit> {
    let (path, who) = successful_login(ev)?;
    (path == LoginPath::Admin && ev.mfa == Some(false)).then(|| Hit::new(who))
}

fn admin_no_mfa_examples() -> Examples {
    let mut without = Timeline::new("am-1", DAY1);
    without.push(
        admin_login("it.admin@corp.example")
            .mfa(false)
            .set("mfa_meta", json!({"type": "none"}))
            .from(&LAGOS),
    );
    let mut with = Timeline::new("am-2", DAY1);
    with.push(admin_login("it.admin@corp.example"));
    let mut unknown = Timeline::new("am-3", DAY1);
    unknown.push(
        admin_login("it.admin@corp.example")
            .without("mfa")
            .without("mfa_meta"),
    );
    let mut failed = Timeline::new("am-4", DAY1);
    failed.push(admin_login("it.admin@corp.example").ok(false).mfa(false));
    Examples {
        config: vec![],
        matching: vec![example("an admin login without MFA", &without)],
        near_miss: vec![
            example("an admin login with TOTP", &with),
            example("an admin login that does not say", &unknown),
            example("a failed admin login", &failed),
        ],
    }
}

// --- admin MFA switched off --------------------------------------------------------------

fn admin_mfa_disabled() -> Rule {
    Rule {
        id: "jc.mfa.admin_mfa_disabled",
        title: "MFA switched off for admin {entity} by {actor}",
        description: "An administrator's MFA was switched off: admin_totp_disable, or an admin_update turning a TOTP or MFA setting from true to false.",
        area: Area::MfaBypass,
        severity: Severity::High,
        technique: "T1556.006",
        route: Route::Duet,
        first_action: "Ask the admin whether they are re-enrolling a device; if not, restore MFA and review the account's recent logins.",
        needs_config: None,
        knobs: vec![suppress("24h")],
        details: &[],
        logic: Logic::Single {
            observe: observe_admin_mfa_off,
        },
        examples: admin_mfa_examples,
    }
}

fn observe_admin_mfa_off(ev: &Event, _: &Knobs) -> Option<Hit> {
    if !is_admin_subject(ev) {
        return None;
    }
    match fields::mfa_toggle(ev)? {
        MfaToggle::Off(who) => Some(Hit::new(who).detail(fields::change_summary(ev))),
        MfaToggle::On(_) => None,
    }
}

fn admin_mfa_examples() -> Examples {
    let mut disabled = Timeline::new("ad-1", DAY1);
    disabled.push(
        admin_change("admin_totp_disable", "it.admin@corp.example")
            .on_admin("it.admin@corp.example"),
    );
    let mut by_update = Timeline::new("ad-2", DAY1);
    by_update.push(
        admin_change("admin_update", "owner@corp.example")
            .on_admin("it.admin@corp.example")
            .change("enableMultiFactor", Some(json!(true)), json!(false)),
    );
    let mut enrolled = Timeline::new("ad-3", DAY1);
    enrolled.push(
        admin_change("admin_totp_finish_enrollment", "it.admin@corp.example")
            .on_admin("it.admin@corp.example"),
    );
    let mut user = Timeline::new("ad-4", DAY1);
    user.push(
        admin_change("user_update", "it.admin@corp.example")
            .on_user("jane.doe")
            .change("totp_enabled", Some(json!(true)), json!(false)),
    );
    Examples {
        config: vec![],
        matching: vec![
            example("admin TOTP disabled", &disabled),
            example("admin MFA flag switched off", &by_update),
        ],
        near_miss: vec![
            example("admin TOTP enrolled", &enrolled),
            example("a user's TOTP switched off", &user),
        ],
    }
}

// --- user MFA switched off and left off --------------------------------------------------

fn user_mfa_disabled() -> Rule {
    Rule {
        id: "jc.mfa.user_mfa_disabled",
        title: "MFA switched off for {entity} by {actor} and not back on within {within}",
        description: "A user's MFA was removed (totp_delete_enrollment, or a user_update turning enable_user_portal_multifactor, totp_enabled or mfa.configured off, or excluding the user from MFA) and was not restored within the window (no new enrollment, no exclusion expiry). Resetting a lost phone is routine and is followed by a new enrollment; an account left without MFA is not.",
        area: Area::MfaBypass,
        severity: Severity::Medium,
        technique: "T1556.006",
        route: Route::Duet,
        first_action: "Ask the user and the admin who removed it why MFA is still off, and re-enroll the user.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            within(
                "4h",
                "How long MFA may stay off before the alert (a lost phone is re-enrolled within hours).",
            ),
        ],
        details: &["not_followed_within"],
        logic: Logic::Absence {
            observe: observe_user_mfa_toggle,
        },
        examples: user_mfa_examples,
    }
}

fn observe_user_mfa_toggle(ev: &Event, _: &Knobs) -> Option<Hit> {
    if is_admin_subject(ev) {
        return None;
    }
    match fields::mfa_toggle(ev)? {
        MfaToggle::Off(who) => Some(
            Hit::new(who)
                .role(Role::Start)
                .detail(fields::change_summary(ev)),
        ),
        MfaToggle::On(who) => Some(Hit::new(who).role(Role::Cancel)),
    }
}

fn mfa_off(user: &str) -> Ev {
    admin_change("user_update", "it.admin@corp.example")
        .on_user(user)
        .change(
            "enable_user_portal_multifactor",
            Some(json!(true)),
            json!(false),
        )
}

fn mfa_enrolled(user: &str) -> Ev {
    Ev::new("totp_finish_enrollment", "directory")
        .by_user(user)
        .on_user(user)
        .from(&PARIS)
        .ua(&CHROME_MAC)
        .ok(true)
}

fn user_mfa_examples() -> Examples {
    let mut left_off = Timeline::new("um-1", DAY1);
    left_off.push(mfa_off("jane.doe"));
    left_off.wait("6h").push(user_login("john.doe"));
    let mut excluded = Timeline::new("um-2", DAY1);
    excluded.push(
        admin_change("user_update", "it.admin@corp.example")
            .on_user("jane.doe")
            .change(
                "mfa",
                Some(json!({"configured": true, "exclusion": false})),
                json!({"configured": true, "exclusion": true}),
            ),
    );
    excluded.wait("6h").push(user_login("john.doe"));
    let mut reenrolled = Timeline::new("um-3", DAY1);
    reenrolled.push(
        Ev::new("totp_delete_enrollment", "directory")
            .by_admin("it.admin@corp.example")
            .on_user("jane.doe")
            .from(&PARIS)
            .ok(true),
    );
    reenrolled.wait("45m").push(mfa_enrolled("jane.doe"));
    reenrolled.wait("6h").push(user_login("john.doe"));
    let mut too_soon = Timeline::new("um-4", DAY1);
    too_soon.push(mfa_off("jane.doe"));
    too_soon.wait("3h").push(user_login("john.doe"));
    Examples {
        config: vec![],
        matching: vec![
            example("MFA switched off and left off", &left_off),
            example("a user excluded from MFA", &excluded),
        ],
        near_miss: vec![
            example("a lost phone reset and re-enrolled", &reenrolled),
            example("the window has not closed yet", &too_soon),
        ],
    }
}

// --- MFA removed, then a login from somewhere new ----------------------------------------

fn removed_then_new_place() -> Rule {
    Rule {
        id: "jc.mfa.removed_then_new_place",
        title: "MFA removed for {entity}, then a login from a new network {value}",
        description: "A user's MFA was removed and, within the window, the account logged in from a network (/24) it had not used before the removal. Removing MFA and then using the password from elsewhere is how a stolen password gets past MFA. Without any earlier login to compare with, nothing is raised.",
        area: Area::MfaBypass,
        severity: Severity::High,
        technique: "T1556.006",
        route: Route::Alert,
        first_action: "Ask the user about the login at once; if they did not make it, restore MFA, reset the password and end the account's sessions.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            threshold(1, "MFA removals before the login (one is enough)."),
            within("24h", "How soon after the removal the login must come."),
            history("3d"),
        ],
        details: &["first_count"],
        logic: Logic::Sequence {
            observe: observe_removal_or_login,
            distinct: false,
            check: Some(from_new_network),
        },
        examples: removed_examples,
    }
}

fn observe_removal_or_login(ev: &Event, _: &Knobs) -> Option<Hit> {
    if let Some(MfaToggle::Off(who)) = fields::mfa_toggle(ev) {
        return (!is_admin_subject(ev)).then(|| {
            Hit::new(who)
                .role(Role::First)
                .detail(fields::change_summary(ev))
        });
    }
    let who = super::located_login(ev)?;
    let ip = fields::source_ip(ev)?;
    // The network and the country together: "the same place" even where addresses of
    // different countries share a /24 (test ranges, some hosting providers).
    let country = ev
        .geoip
        .as_ref()
        .and_then(|g| g.country_code.clone())
        .unwrap_or_default();
    Some(
        Hit::new(who).role(Role::Then).value(
            format!("{} {country}", fields::network(ip))
                .trim()
                .to_string(),
        ),
    )
}

fn from_new_network(seen: &SequenceMatch<'_>, _: &Knobs) -> bool {
    let Some(removed) = seen.firsts.iter().map(|o| o.at).min() else {
        return false;
    };
    let before: Vec<_> = seen
        .history
        .iter()
        .filter(|o| o.role == Role::Then && o.at < removed)
        .collect();
    !before.is_empty() && !before.iter().any(|o| o.value == seen.then.value)
}

fn removed_examples() -> Examples {
    let history = |t: &mut Timeline| {
        t.repeat(3, "6h", |_| user_login("jane.doe"));
        t.wait("10h");
    };
    let mut stolen = Timeline::new("rn-1", DAY1);
    history(&mut stolen);
    stolen.push(mfa_off("jane.doe"));
    stolen.wait("1h").push(
        user_login("jane.doe")
            .from(&LAGOS)
            .ua(&FIREFOX_WINDOWS)
            .mfa(false),
    );
    let mut home = Timeline::new("rn-2", DAY1);
    history(&mut home);
    home.push(mfa_off("jane.doe"));
    home.wait("1h").push(user_login("jane.doe").mfa(false));
    let mut late = Timeline::new("rn-3", DAY1);
    history(&mut late);
    late.push(mfa_off("jane.doe"));
    late.wait("2d")
        .push(user_login("jane.doe").from(&LAGOS).mfa(false));
    let mut no_past = Timeline::new("rn-4", DAY1);
    no_past.push(mfa_off("new.hire"));
    no_past
        .wait("1h")
        .push(user_login("new.hire").from(&LYON).mfa(false));
    Examples {
        config: vec![],
        matching: vec![example("MFA removed, then a login from Lagos", &stolen)],
        near_miss: vec![
            example("MFA removed, then a login from home", &home),
            example("the new-place login two days later", &late),
            example("no earlier login to compare with", &no_past),
        ],
    }
}

// --- push fatigue ------------------------------------------------------------------------

fn push_denied(ev: &Event) -> Option<String> {
    (fields::push_result(ev) == Some(false))
        .then(|| fields::login_identity(ev))
        .flatten()
}

fn push_accepted(ev: &Event) -> Option<String> {
    if fields::push_result(ev) != Some(true) || fields::outcome(ev) == Outcome::Failure {
        return None;
    }
    fields::login_identity(ev)
}

fn push_fatigue() -> Rule {
    Rule {
        id: "jc.mfa.push_fatigue",
        title: "{count} JumpCloud Protect pushes denied or ignored for {entity} within {window}",
        description: "Repeated push MFA prompts (JumpCloud Protect, Duo) denied or left unanswered for one user: someone who has the password is bombing the user with prompts hoping one gets accepted. A user missing one or two prompts is normal.",
        area: Area::MfaBypass,
        severity: Severity::High,
        technique: "T1621",
        route: Route::Alert,
        first_action: "Call the user: if they did not try to log in, their password is known to someone else; reset it and block the source address.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            threshold(3, "Denied or ignored pushes for one user."),
            window("15m"),
        ],
        details: &["threshold"],
        logic: Logic::Threshold {
            observe: observe_push_denied,
            distinct: false,
        },
        examples: push_examples,
    }
}

fn observe_push_denied(ev: &Event, _: &Knobs) -> Option<Hit> {
    push_denied(ev).map(Hit::new)
}

fn push_examples() -> Examples {
    let mut bombing = Timeline::new("pf-1", DAY1);
    bombing.repeat(5, "90s", |_| {
        push_login("jane.doe", false)
            .from(&SAO_PAULO)
            .ua(&FIREFOX_WINDOWS)
    });
    let mut missed = Timeline::new("pf-2", DAY1);
    missed.repeat(2, "1m", |_| push_login("jane.doe", false));
    missed.wait("1m").push(push_login("jane.doe", true));
    Examples {
        config: vec![],
        matching: vec![example("five denied pushes in six minutes", &bombing)],
        near_miss: vec![example("two missed pushes then an accepted one", &missed)],
    }
}

fn push_fatigue_accepted() -> Rule {
    Rule {
        id: "jc.mfa.push_fatigue_accepted",
        title: "{entity} accepted a push after {first_count} denied ones",
        description: "A push MFA prompt was accepted shortly after a run of denied or ignored ones: the user gave in to push bombing and the attacker is probably logged in.",
        area: Area::MfaBypass,
        severity: Severity::Critical,
        technique: "T1621",
        route: Route::Alert,
        first_action: "End the user's sessions now, reset the password and review what the session did.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            threshold(3, "Denied or ignored pushes before the accepted one."),
            within(
                "30m",
                "How soon after the denials the acceptance must come.",
            ),
        ],
        details: &["first_count"],
        logic: Logic::Sequence {
            observe: observe_push,
            distinct: false,
            check: None,
        },
        examples: push_accepted_examples,
    }
}

fn observe_push(ev: &Event, _: &Knobs) -> Option<Hit> {
    if let Some(who) = push_denied(ev) {
        return Some(Hit::new(who).role(Role::First));
    }
    push_accepted(ev).map(|who| Hit::new(who).role(Role::Then))
}

fn push_accepted_examples() -> Examples {
    let mut gave_in = Timeline::new("pa-1", DAY1);
    gave_in.repeat(4, "1m", |_| push_login("jane.doe", false).from(&SAO_PAULO));
    gave_in
        .wait("1m")
        .push(push_login("jane.doe", true).from(&SAO_PAULO));
    let mut missed = Timeline::new("pa-2", DAY1);
    missed.repeat(2, "1m", |_| push_login("jane.doe", false));
    missed.wait("1m").push(push_login("jane.doe", true));
    let mut next_day = Timeline::new("pa-3", DAY1);
    next_day.repeat(4, "1m", |_| push_login("jane.doe", false));
    next_day.wait("3h").push(push_login("jane.doe", true));
    Examples {
        config: vec![],
        matching: vec![example("four denials then an acceptance", &gave_in)],
        near_miss: vec![
            example("two missed pushes then an acceptance", &missed),
            example("acceptance hours later", &next_day),
        ],
    }
}

// --- a weaker path for an MFA user -------------------------------------------------------

fn weak_path() -> Rule {
    Rule {
        id: "jc.mfa.weak_path",
        title: "{entity} authenticated without MFA over {value} from {country}, though they always use MFA",
        description: "A user whose portal logins always used MFA succeeded for the first time over RADIUS or LDAP without MFA, from a country the user never logged in from: those paths usually take only a password, so a stolen password goes there when the portal asks for a second factor. Users who already use those paths, who start using them at the office, or who log in to the portal without MFA anyway, are left alone.",
        area: Area::MfaBypass,
        severity: Severity::Medium,
        technique: "T1556",
        route: Route::Alert,
        first_action: "Ask the user whether they set up Wi-Fi, VPN or an LDAP client; if not, reset the password and require MFA on that path.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            learning("1d"),
            history("30d"),
            Knob::count(
                "min_mfa_logins",
                3,
                "Logins with MFA the user must have made before.",
            ),
        ],
        details: &["new_values", "known_values"],
        logic: Logic::FirstSeen {
            observe: observe_login_path,
            check: Some(always_used_mfa),
            new_entities: false,
        },
        examples: weak_path_examples,
    }
}

fn observe_login_path(ev: &Event, _: &Knobs) -> Option<Hit> {
    let (path, who) = successful_login(ev)?;
    let mfa = match ev.mfa {
        Some(true) => "mfa",
        Some(false) => "nomfa",
        None if path == LoginPath::Radius => {
            match ev.field_str("nas_mfa_state").map(|s| s.to_uppercase()) {
                Some(s) if s == "ENABLED" || s == "REQUIRED" || s == "ALWAYS" => "mfa",
                _ => "nomfa",
            }
        }
        // An LDAP bind takes a password, plus a push only when auth_meta says so.
        None if path == LoginPath::Ldap => match fields::push_result(ev) {
            Some(true) => "mfa",
            _ => "nomfa",
        },
        None => return None,
    };
    // N.B. A portal login without MFA after MFA was removed is the MFA-removal rules' to
    // report; this rule is about the paths that never ask for a second factor.
    let candidate = matches!(path, LoginPath::Radius | LoginPath::Ldap) && mfa == "nomfa";
    let role = if candidate {
        Role::Candidate
    } else {
        Role::History
    };
    matches!(
        path,
        LoginPath::Portal | LoginPath::Sso | LoginPath::Radius | LoginPath::Ldap
    )
    .then(|| {
        Hit::new(who)
            .role(role)
            .value(format!("{}:{mfa}", path.name()))
    })
}

fn always_used_mfa(seen: &FirstSeenMatch<'_>, knobs: &Knobs) -> bool {
    // Wi-Fi and LDAP first used at the office are everyday events; the same from a country
    // the user never logged in from is someone else holding the password.
    let Some(country) = seen.candidate.country.as_deref() else {
        return false;
    };
    if seen
        .history
        .iter()
        .any(|o| o.country.as_deref() == Some(country))
    {
        return false;
    }
    let with_mfa = seen
        .history
        .iter()
        .filter(|o| matches!(o.value.as_deref(), Some("portal:mfa") | Some("sso:mfa")))
        .count() as u64;
    let portal_without = seen
        .history
        .iter()
        .any(|o| o.value.as_deref() == Some("portal:nomfa"));
    with_mfa >= knobs.count("min_mfa_logins") && !portal_without
}

fn weak_path_examples() -> Examples {
    let habit = |t: &mut Timeline, user: &str| {
        t.repeat(4, "8h", |_| user_login(user));
        t.wait("12h");
    };
    let mut radius_first = Timeline::new("wp-1", DAY1);
    habit(&mut radius_first, "jane.doe");
    radius_first.push(radius("jane.doe").from(&HANOI));
    let mut ldap_first = Timeline::new("wp-2", DAY1);
    habit(&mut ldap_first, "jane.doe");
    ldap_first.push(ldap_bind("jane.doe").from(&ASHBURN_DC));
    let mut wifi_user = Timeline::new("wp-3", DAY1);
    wifi_user.push(radius("jane.doe"));
    habit(&mut wifi_user, "jane.doe");
    wifi_user.push(radius("jane.doe"));
    let mut office_wifi = Timeline::new("wp-5", DAY1);
    habit(&mut office_wifi, "jane.doe");
    office_wifi.push(radius("jane.doe").from(&PARIS.via("82.64.99.1")));
    let mut no_mfa_user = Timeline::new("wp-4", DAY1);
    no_mfa_user.repeat(4, "8h", |_| {
        user_login("john.doe")
            .mfa(false)
            .set("mfa_meta", json!({"type": "none"}))
    });
    no_mfa_user.wait("12h").push(radius("john.doe"));
    Examples {
        config: vec![],
        matching: vec![
            example("first RADIUS login of an MFA user", &radius_first),
            example("first LDAP bind of an MFA user", &ldap_first),
        ],
        near_miss: vec![
            example("a first Wi-Fi login at the office", &office_wifi),
            example("a regular Wi-Fi user", &wifi_user),
            example("a user who never uses MFA", &no_mfa_user),
        ],
    }
}

// --- MFA required for listed users -------------------------------------------------------

fn required_mfa_missing() -> Rule {
    Rule {
        id: "jc.mfa.required_missing",
        title: "{entity} logged in without MFA although MFA is required for them",
        description: "A successful login without MFA by a user on the configured list (and, when applications are listed, to one of those applications). Logins without MFA are common for SSO sessions and Wi-Fi, so this only runs for the people and applications you say must always use MFA.",
        area: Area::MfaBypass,
        severity: Severity::Medium,
        technique: "T1078.004",
        route: Route::Alert,
        first_action: "Find out which policy let the login through without MFA and close it.",
        needs_config: Some(NeedsConfig {
            knobs: &["users"],
            hint: "list in `users` the user names or emails that must always use MFA (optionally `apps`: SSO application labels)",
        }),
        knobs: vec![
            suppress("24h"),
            Knob::words(
                "users",
                &[],
                "User names or emails that must always log in with MFA.",
            ),
            Knob::words(
                "apps",
                &[],
                "SSO application labels the requirement is limited to (empty: every login).",
            ),
        ],
        details: &[],
        logic: Logic::Single {
            observe: observe_required_missing,
        },
        examples: required_examples,
    }
}

fn observe_required_missing(ev: &Event, knobs: &Knobs) -> Option<Hit> {
    let (path, who) = successful_login(ev)?;
    if ev.mfa != Some(false) || !knobs.listed("users", &who) {
        return None;
    }
    let apps = knobs.words("apps");
    if !apps.is_empty() {
        let label = ev
            .application
            .as_ref()
            .and_then(|a| a.display_label.clone().or(a.name.clone()));
        if path != LoginPath::Sso || !label.is_some_and(|l| knobs.listed("apps", &l)) {
            return None;
        }
    }
    Some(Hit::new(who))
}

fn required_examples() -> Examples {
    let mut missing = Timeline::new("rq-1", DAY1);
    missing.push(sso("ceo", "Salesforce").mfa(false));
    let mut with = Timeline::new("rq-2", DAY1);
    with.push(sso("ceo", "Salesforce").mfa(true));
    let mut other_app = Timeline::new("rq-3", DAY1);
    other_app.push(sso("ceo", "Slack").mfa(false));
    let mut other_user = Timeline::new("rq-4", DAY1);
    other_user.push(sso("jane.doe", "Salesforce").mfa(false));
    Examples {
        config: vec![
            ("users", KnobInput::words(&["ceo"])),
            ("apps", KnobInput::words(&["Salesforce"])),
        ],
        matching: vec![example("the CEO in Salesforce without MFA", &missing)],
        near_miss: vec![
            example("with MFA", &with),
            example("an application not listed", &other_app),
            example("a user not listed", &other_user),
        ],
    }
}
