//! Area 2: suspicious authentication and admin activity.

use jcwatch_model::{Area, Event, Route, Severity};
use serde_json::json;

use super::{
    DAY1, NOT_CREDENTIAL_ERRORS, actor_or_unknown, credential_failure, ignore_errors, suppress,
    threshold, type_in, window, within,
};
use crate::fields::{self, FlatChange};
use crate::fixtures::*;
use crate::knob::{Knob, Knobs};
use crate::rule::{Example, Examples, Hit, Logic, Rule, knobs};
use crate::state::Role;

pub(super) fn rules() -> Vec<Rule> {
    vec![
        brute_force(),
        password_spray(),
        lockout_wave(),
        sso_failure_burst(),
        admin_lockout(),
        portal_admin_granted(),
        device_admin_granted(),
        self_escalation(),
        admin_created_then_deleted(),
        mass_user_removal(),
    ]
}

fn example(name: &'static str, t: &Timeline) -> Example {
    Example {
        name,
        events: t.events(),
    }
}

// --- brute force -------------------------------------------------------------------------

fn brute_force() -> Rule {
    Rule {
        id: "jc.auth.brute_force",
        title: "{count} failed logins for {entity} within {window}",
        description: "Many failed logins for one account in a short time, on any login path: admin console, user portal, SSO, RADIUS, LDAP and managed devices (device accounts count per machine). A person mistyping fails once or twice; a guessing tool fails over and over. Failures that are not about the password (an MFA step, a denied push, an SSO outage or an unassigned application) are not counted.",
        area: Area::AuthAndAdmin,
        severity: Severity::Medium,
        technique: "T1110.001",
        route: Route::Alert,
        first_action: "Check whether the failures come from the owner's usual address and device; if not, block the source address and confirm the account has MFA.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            threshold(10, "Failed logins for one account that make a burst."),
            window("10m"),
            ignore_errors(NOT_CREDENTIAL_ERRORS),
        ],
        details: &["threshold"],
        logic: Logic::Threshold {
            observe: observe_brute_force,
            distinct: false,
        },
        examples: brute_force_examples,
    }
}

fn observe_brute_force(ev: &Event, knobs: &Knobs) -> Option<Hit> {
    credential_failure(ev, knobs).map(Hit::new)
}

fn brute_force_examples() -> Examples {
    let mut guessing = Timeline::new("bf-1", DAY1);
    guessing.repeat(12, "20s", |_| {
        user_login_failed("jane.doe").from(&MOSCOW).ua(&CURL)
    });
    let mut radius = Timeline::new("bf-2", DAY1);
    radius.repeat(11, "30s", |_| radius_failed("john.doe"));
    let mut mistype = Timeline::new("bf-3", DAY1);
    mistype.repeat(2, "15s", |_| user_login_failed("jane.doe"));
    mistype.wait("20s").push(user_login("jane.doe"));
    let mut slow = Timeline::new("bf-4", DAY1);
    slow.repeat(12, "30m", |_| user_login_failed("jane.doe"));
    let mut outage = Timeline::new("bf-5", DAY1);
    outage.repeat(12, "10s", |_| {
        sso_failed("jane.doe", "Salesforce", "application unreachable")
    });
    Examples {
        config: vec![],
        matching: vec![
            example("twelve wrong passwords in four minutes", &guessing),
            example("eleven RADIUS rejections", &radius),
        ],
        near_miss: vec![
            example("two typos then a success", &mistype),
            example("twelve failures spread over six hours", &slow),
            example("an SSO outage", &outage),
        ],
    }
}

// --- password spray ----------------------------------------------------------------------

fn password_spray() -> Rule {
    Rule {
        id: "jc.auth.password_spray",
        title: "Password spray from {entity}: {distinct_count} accounts failed",
        description: "Failed logins for many different accounts from one source address: someone trying a few common passwords against the whole directory, in a burst (threshold within window) or spread out over the day (slow_threshold within slow_window). An office address where a few people mistype in the same morning stays well below either threshold.",
        area: Area::AuthAndAdmin,
        severity: Severity::High,
        technique: "T1110.003",
        route: Route::Alert,
        first_action: "Block the source address, then check every targeted account for a successful login from it (jc.login.success_after_spray raises that separately).",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            threshold(10, "Distinct accounts failing from one address."),
            window("30m"),
            Knob::count(
                knobs::SLOW_THRESHOLD,
                20,
                "Distinct accounts failing from one address over the slow window.",
            ),
            Knob::duration(knobs::SLOW_WINDOW, "24h", "The window of a slow spray."),
            ignore_errors(NOT_CREDENTIAL_ERRORS),
        ],
        details: &["distinct_count", "distinct", "threshold"],
        logic: Logic::Threshold {
            observe: observe_spray,
            distinct: true,
        },
        examples: spray_examples,
    }
}

fn observe_spray(ev: &Event, knobs: &Knobs) -> Option<Hit> {
    let who = credential_failure(ev, knobs)?;
    let ip = fields::source_ip(ev)?;
    Some(Hit::new(ip.to_string()).value(who))
}

pub(crate) const STAFF: &[&str] = &[
    "alice.martin",
    "bruno.petit",
    "chloe.dubois",
    "david.leroy",
    "emma.moreau",
    "farid.haddad",
    "gina.rossi",
    "hugo.bernard",
    "ines.garcia",
    "jules.fontaine",
    "karim.benali",
    "lea.roux",
    "marc.lambert",
    "nora.simon",
    "oscar.faure",
    "paula.mercier",
];

fn spray_examples() -> Examples {
    let mut spray = Timeline::new("sp-1", DAY1);
    spray.repeat(12, "30s", |i| {
        user_login_failed(STAFF[i])
            .from(&HANOI)
            .ua(&PYTHON_REQUESTS)
    });
    let mut slow = Timeline::new("sp-4", DAY1);
    slow.repeat(22, "20m", |i| {
        user_login_failed(&format!("{}{i}", STAFF[i % STAFF.len()]))
            .from(&HANOI)
            .ua(&PYTHON_REQUESTS)
    });
    let mut office = Timeline::new("sp-2", DAY1);
    office.repeat(6, "4m", |i| user_login_failed(STAFF[i]));
    let mut scattered = Timeline::new("sp-3", DAY1);
    let places = [
        PARIS, LYON, LONDON, BERLIN, MADRID, DUBLIN, NEW_YORK, BOSTON, TORONTO, TOKYO, SINGAPORE,
        LAGOS,
    ];
    scattered.repeat(12, "1m", |i| user_login_failed(STAFF[i]).from(&places[i]));
    Examples {
        config: vec![],
        matching: vec![
            example("twelve accounts from one address in six minutes", &spray),
            example("twenty-two accounts over seven hours", &slow),
        ],
        near_miss: vec![
            example("six people mistyping at the office", &office),
            example("twelve failures from twelve addresses", &scattered),
        ],
    }
}

// --- lockout wave ------------------------------------------------------------------------

fn lockout_wave() -> Rule {
    Rule {
        id: "jc.auth.lockout_wave",
        title: "{distinct_count} accounts locked out within {window}",
        description: "Several accounts locked out in a short time (user_lockout, admin_lockout, or account_locked switched on): the symptom of a spray that the lockout policy stopped. One person locking themselves out is not a wave.",
        area: Area::AuthAndAdmin,
        severity: Severity::High,
        technique: "T1110.003",
        route: Route::Alert,
        first_action: "Find the source of the failed logins before the lockouts and block it; unlock the accounts only after that.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            threshold(3, "Distinct accounts locked out."),
            window("30m"),
        ],
        details: &["distinct_count", "distinct", "threshold"],
        logic: Logic::Threshold {
            observe: observe_lockout,
            distinct: true,
        },
        examples: lockout_examples,
    }
}

fn locked_account(ev: &Event) -> Option<String> {
    let kind = ev.kind();
    let by_type =
        (kind.contains("lockout") || kind.contains("locked_out") || kind.ends_with("_locked"))
            && !kind.contains("unlock");
    let by_change = ev.kind().ends_with("_update")
        && fields::flat_changes(ev).iter().any(|c| {
            c.leaf().contains("locked") && c.to_flag() == Some(true) && c.from_flag() != Some(true)
        });
    if !(by_type || by_change) {
        return None;
    }
    fields::target_identity(ev).or_else(|| fields::login_identity(ev))
}

fn observe_lockout(ev: &Event, _: &Knobs) -> Option<Hit> {
    let who = locked_account(ev)?;
    Some(Hit::new("organisation").value(who))
}

fn lockout(user: &str) -> Ev {
    Ev::new("user_lockout", "directory")
        .by_user(user)
        .on_user(user)
        .from(&PARIS)
        .ok(true)
}

fn lockout_examples() -> Examples {
    let mut wave = Timeline::new("lw-1", DAY1);
    wave.repeat(4, "3m", |i| lockout(STAFF[i]));
    let mut by_update = Timeline::new("lw-2", DAY1);
    by_update.repeat(3, "5m", |i| {
        admin_change("user_update", "it.admin@corp.example")
            .on_user(STAFF[i])
            .change("account_locked", Some(json!(false)), json!(true))
    });
    let mut two = Timeline::new("lw-3", DAY1);
    two.repeat(2, "3m", |i| lockout(STAFF[i]));
    let mut spread = Timeline::new("lw-4", DAY1);
    spread.repeat(3, "4h", |i| lockout(STAFF[i]));
    Examples {
        config: vec![],
        matching: vec![
            example("four lockouts in ten minutes", &wave),
            example("three accounts marked locked", &by_update),
        ],
        near_miss: vec![
            example("two lockouts", &two),
            example("three lockouts over eight hours", &spread),
        ],
    }
}

// --- failed SSO burst --------------------------------------------------------------------

fn sso_failure_burst() -> Rule {
    Rule {
        id: "jc.auth.sso_failure_burst",
        title: "{count} failed SSO logins for {entity} within {window}",
        description: "Repeated SSO failures for one account (sso_token_success false with an error). An SSO step without an error is the MFA prompt and does not count, nor do outages and configuration errors listed in ignore_errors.",
        area: Area::AuthAndAdmin,
        severity: Severity::Medium,
        technique: "T1110",
        route: Route::Alert,
        first_action: "Look at the error messages and applications: repeated denials from an unusual address suggest stolen credentials being tried against applications.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            threshold(5, "Failed SSO logins for one account."),
            window("10m"),
            ignore_errors(&["application unreachable", "internal error"]),
        ],
        details: &["threshold"],
        logic: Logic::Threshold {
            observe: observe_sso_failure,
            distinct: false,
        },
        examples: sso_examples,
    }
}

fn observe_sso_failure(ev: &Event, knobs: &Knobs) -> Option<Hit> {
    if ev.kind() != "sso_auth" || fields::outcome(ev) != fields::Outcome::Failure {
        return None;
    }
    if ev
        .error_message
        .as_deref()
        .is_some_and(|e| knobs.listed("ignore_errors", e))
    {
        return None;
    }
    fields::login_identity(ev).map(Hit::new)
}

fn sso_examples() -> Examples {
    let mut burst = Timeline::new("sso-1", DAY1);
    burst.repeat(6, "40s", |i| {
        let app = ["Salesforce", "Google Workspace", "Slack"][i % 3];
        sso_failed("john.doe", app, "not authorized")
            .from(&SAO_PAULO)
            .ua(&FIREFOX_WINDOWS)
    });
    let mut outage = Timeline::new("sso-2", DAY1);
    outage.repeat(8, "20s", |_| {
        sso_failed("john.doe", "Salesforce", "application unreachable")
    });
    let mut mfa_steps = Timeline::new("sso-3", DAY1);
    mfa_steps.repeat(6, "30s", |_| {
        sso("john.doe", "Slack")
            .set("sso_token_success", json!(false))
            .error("")
    });
    Examples {
        config: vec![],
        matching: vec![example("six denials in four minutes", &burst)],
        near_miss: vec![
            example("an application outage", &outage),
            example("MFA prompts", &mfa_steps),
        ],
    }
}

// --- admin lockout -----------------------------------------------------------------------

fn admin_lockout() -> Rule {
    Rule {
        id: "jc.auth.admin_lockout",
        title: "Admin account {entity} locked out",
        description: "An administrator account was locked out (admin_lockout): someone guessed at an admin password often enough to trip the lockout.",
        area: Area::AuthAndAdmin,
        severity: Severity::Medium,
        technique: "T1110",
        route: Route::Alert,
        first_action: "Ask the admin whether they locked themselves out; if not, find and block the source of the failed admin logins.",
        needs_config: None,
        knobs: vec![suppress("24h")],
        details: &[],
        logic: Logic::Single {
            observe: observe_admin_lockout,
        },
        examples: admin_lockout_examples,
    }
}

fn observe_admin_lockout(ev: &Event, _: &Knobs) -> Option<Hit> {
    if ev.kind() != "admin_lockout" {
        return None;
    }
    let who = fields::target_identity(ev).or_else(|| fields::actor_identity(ev))?;
    Some(Hit::new(who))
}

fn admin_lockout_examples() -> Examples {
    let mut locked = Timeline::new("al-1", DAY1);
    locked.push(
        Ev::new("admin_lockout", "directory")
            .by_admin("it.admin@corp.example")
            .on_admin("it.admin@corp.example")
            .from(&MOSCOW),
    );
    let mut user = Timeline::new("al-2", DAY1);
    user.push(lockout("jane.doe"));
    Examples {
        config: vec![],
        matching: vec![example("an admin locked out", &locked)],
        near_miss: vec![example("a user locked out", &user)],
    }
}

// --- admin privilege grants --------------------------------------------------------------

/// Rank of a JumpCloud admin role, higher is more powerful.
fn role_rank(text: &str) -> Option<u8> {
    let t = text.to_lowercase();
    if t.contains("billing") {
        Some(6)
    } else if t.contains("administrator") || t == "admin" {
        Some(5)
    } else if t.contains("manager") {
        Some(4)
    } else if t.contains("command") {
        Some(3)
    } else if t.contains("help") {
        Some(2)
    } else if t.contains("read") {
        Some(1)
    } else {
        None
    }
}

fn role_text(change: &FlatChange, to: bool) -> Option<String> {
    let v = if to {
        change.to.as_ref()
    } else {
        change.from.as_ref()
    }?;
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A portal-admin grant: a new admin, a role raised, a suspended admin brought back.
pub(crate) fn portal_admin_grant(ev: &Event) -> Option<String> {
    let kind = ev.kind();
    if matches!(
        kind,
        "admin_create" | "admin_unsuspend" | "admin_unsuspended" | "provider_admin_create"
    ) {
        return Some(match kind {
            "admin_create" | "provider_admin_create" => "admin account created".into(),
            _ => "admin account reactivated".into(),
        });
    }
    if kind != "admin_update" {
        return None;
    }
    for change in fields::flat_changes(ev) {
        let path = change.path.to_lowercase();
        if path.contains("role") || path.ends_with("permissions") {
            let from = role_text(&change, false)
                .and_then(|r| role_rank(&r))
                .unwrap_or(0);
            let to_text = role_text(&change, true).unwrap_or_default();
            let raised = match role_rank(&to_text) {
                Some(to) => to > from,
                None => to_text.to_lowercase().contains("admin"),
            };
            if raised {
                return Some(change.describe());
            }
        }
        if change.leaf() == "suspended"
            && change.from_flag() == Some(true)
            && change.to_flag() == Some(false)
        {
            return Some("admin account reactivated".into());
        }
    }
    None
}

fn sudo_on(value: &serde_json::Value, depth: usize) -> bool {
    let Some(map) = value.as_object() else {
        return false;
    };
    if depth > 4 {
        return false;
    }
    map.iter().any(|(key, v)| {
        let k = key.to_lowercase();
        let enabled = |v: &serde_json::Value| match v {
            serde_json::Value::Bool(b) => *b,
            serde_json::Value::Object(o) => {
                o.get("enabled").and_then(|e| e.as_bool()).unwrap_or(false)
            }
            _ => false,
        };
        ((k == "sudo" || k == "administrator" || k == "admin") && enabled(v))
            || sudo_on(v, depth + 1)
    })
}

/// A device-admin grant: sudo or local admin rights on managed systems.
pub(crate) fn device_admin_grant(ev: &Event) -> Option<String> {
    let kind = ev.kind();
    if matches!(
        kind,
        "user_admin_granted" | "system_admin_grant" | "user_group_admin_grant"
    ) {
        return Some(kind.replace('_', " "));
    }
    if kind == "association_change" {
        let op = ev
            .field_str("association.op")
            .unwrap_or_default()
            .to_lowercase();
        if op == "remove" || op == "delete" {
            return None;
        }
        let granted = ev
            .field("association.attributes")
            .is_some_and(|a| sudo_on(a, 0));
        return granted.then(|| "sudo granted through an association".into());
    }
    if kind.ends_with("_update") && !kind.starts_with("admin") {
        for change in fields::flat_changes(ev) {
            let leaf = change.leaf();
            if (leaf == "sudo" || leaf == "passwordless_sudo" || leaf == "enable_managed_uid_admin")
                && change.to_flag() == Some(true)
                && change.from_flag() != Some(true)
            {
                return Some(change.describe());
            }
        }
    }
    None
}

fn portal_admin_granted() -> Rule {
    Rule {
        id: "jc.admin.portal_admin_granted",
        title: "{actor} gave admin console access to {target}",
        description: "A JumpCloud administrator was created, reactivated or given a more powerful role (admin_create, admin_unsuspend, admin_update raising the role). Admin console access controls every account and device.",
        area: Area::AuthAndAdmin,
        severity: Severity::High,
        technique: "T1098",
        route: Route::Duet,
        first_action: "Ask the acting admin to confirm the new admin access was intended; if not, remove the access and reset the acting admin's credentials.",
        needs_config: None,
        knobs: vec![suppress("24h")],
        details: &[],
        logic: Logic::Single {
            observe: observe_portal_grant,
        },
        examples: portal_grant_examples,
    }
}

/// Whether the actor changed their own account (reported by jc.admin.self_escalation, so the
/// grant rules leave it alone rather than raise the same event twice).
fn to_self(ev: &Event) -> bool {
    let actors = fields::actor_names(ev);
    let targets = fields::target_names(ev);
    actors
        .iter()
        .any(|a| targets.iter().any(|t| fields::same_person(a, t)))
}

fn observe_portal_grant(ev: &Event, _: &Knobs) -> Option<Hit> {
    if to_self(ev) {
        return None;
    }
    let what = portal_admin_grant(ev)?;
    Some(Hit::new(actor_or_unknown(ev)).detail(Some(what)))
}

fn portal_grant_examples() -> Examples {
    let mut created = Timeline::new("pg-1", DAY1);
    created.push(
        admin_change("admin_create", "it.admin@corp.example")
            .on_admin("new.admin@corp.example")
            .change("role", None, json!("Administrator with Billing")),
    );
    let mut raised = Timeline::new("pg-2", DAY1);
    raised.push(
        admin_change("admin_update", "it.admin@corp.example")
            .on_admin("helpdesk@corp.example")
            .change("roleName", Some(json!("Help Desk")), json!("Administrator")),
    );
    let mut lowered = Timeline::new("pg-3", DAY1);
    lowered.push(
        admin_change("admin_update", "it.admin@corp.example")
            .on_admin("old.admin@corp.example")
            .change("roleName", Some(json!("Administrator")), json!("Read Only")),
    );
    let mut own = Timeline::new("pg-5", DAY1);
    own.push(
        admin_change("admin_update", "helpdesk@corp.example")
            .on_admin("helpdesk@corp.example")
            .change("roleName", Some(json!("Help Desk")), json!("Administrator")),
    );
    let mut renamed = Timeline::new("pg-4", DAY1);
    renamed.push(
        admin_change("admin_update", "it.admin@corp.example")
            .on_admin("helpdesk@corp.example")
            .change("lastname", Some(json!("Smith")), json!("Smyth")),
    );
    Examples {
        config: vec![],
        matching: vec![
            example("a new administrator", &created),
            example("help desk raised to administrator", &raised),
        ],
        near_miss: vec![
            example("an administrator lowered to read-only", &lowered),
            example("an admin's name changed", &renamed),
            example(
                "an admin raising their own role (self-escalation reports it)",
                &own,
            ),
        ],
    }
}

fn device_admin_granted() -> Rule {
    Rule {
        id: "jc.admin.device_admin_granted",
        title: "{actor} gave device admin (sudo) rights to {target}",
        description: "Local administrator or sudo rights on managed devices were granted: user_admin_granted, system_admin_grant, user_group_admin_grant, an association_change whose attributes enable sudo, or a user's global sudo flag switched on.",
        area: Area::AuthAndAdmin,
        severity: Severity::Medium,
        technique: "T1098",
        route: Route::Duet,
        first_action: "Ask the acting admin to confirm the grant and how long it should last; remove it if nobody expected it.",
        needs_config: None,
        knobs: vec![suppress("24h")],
        details: &[],
        logic: Logic::Single {
            observe: observe_device_grant,
        },
        examples: device_grant_examples,
    }
}

fn observe_device_grant(ev: &Event, _: &Knobs) -> Option<Hit> {
    if to_self(ev) {
        return None;
    }
    let what = device_admin_grant(ev)?;
    Some(Hit::new(actor_or_unknown(ev)).detail(Some(what)))
}

fn association(user: &str, host: &str, op: &str, attributes: serde_json::Value) -> Ev {
    admin_change("association_change", "it.admin@corp.example").set(
        "association",
        json!({"op": op, "action_source": "manual", "attributes": attributes, "connection": {
            "from": {"name": host, "type": "system", "object_id": object_id(host)},
            "to": {"name": user, "type": "user", "object_id": object_id(user)}}}),
    )
}

fn device_grant_examples() -> Examples {
    let mut sudo = Timeline::new("dg-1", DAY1);
    sudo.push(association(
        "jane.doe",
        "BUILD-01",
        "add",
        json!({"sudo": {"enabled": true, "withoutPassword": false}}),
    ));
    let mut granted = Timeline::new("dg-2", DAY1);
    granted.push(admin_change("user_admin_granted", "it.admin@corp.example").on_user("john.doe"));
    let mut global = Timeline::new("dg-3", DAY1);
    global.push(
        admin_change("user_update", "it.admin@corp.example")
            .on_user("john.doe")
            .change("sudo", Some(json!(false)), json!(true)),
    );
    let mut plain = Timeline::new("dg-4", DAY1);
    plain.push(association(
        "jane.doe",
        "JDOE-LAPTOP",
        "add",
        serde_json::Value::Null,
    ));
    let mut no_sudo = Timeline::new("dg-5", DAY1);
    no_sudo.push(association(
        "jane.doe",
        "BUILD-01",
        "add",
        json!({"sudo": {"enabled": false}}),
    ));
    let mut removed = Timeline::new("dg-6", DAY1);
    removed.push(association(
        "jane.doe",
        "BUILD-01",
        "remove",
        json!({"sudo": {"enabled": true}}),
    ));
    Examples {
        config: vec![],
        matching: vec![
            example("sudo through a device binding", &sudo),
            example("user_admin_granted", &granted),
            example("global sudo switched on", &global),
        ],
        near_miss: vec![
            example("a plain device binding", &plain),
            example("a binding with sudo off", &no_sudo),
            example("a sudo binding removed", &removed),
        ],
    }
}

fn self_escalation() -> Rule {
    Rule {
        id: "jc.admin.self_escalation",
        title: "{actor} raised their own privileges",
        description: "An admin granted admin console access or device admin rights to themselves (the actor and the target are the same person, by id, email or the email's user name). Legitimate changes of one's own rights go through another admin.",
        area: Area::AuthAndAdmin,
        severity: Severity::High,
        technique: "T1098",
        route: Route::Alert,
        first_action: "Treat the admin account as compromised until its owner confirms: revoke the new rights and the account's sessions and API key.",
        needs_config: None,
        knobs: vec![suppress("24h")],
        details: &[],
        logic: Logic::Single {
            observe: observe_self_escalation,
        },
        examples: self_escalation_examples,
    }
}

fn observe_self_escalation(ev: &Event, _: &Knobs) -> Option<Hit> {
    let what = portal_admin_grant(ev).or_else(|| device_admin_grant(ev))?;
    to_self(ev).then(|| Hit::new(actor_or_unknown(ev)).detail(Some(what)))
}

fn self_escalation_examples() -> Examples {
    let mut own_role = Timeline::new("se-1", DAY1);
    own_role.push(
        admin_change("admin_update", "helpdesk@corp.example")
            .on_admin("helpdesk@corp.example")
            .change(
                "roleName",
                Some(json!("Help Desk")),
                json!("Administrator with Billing"),
            ),
    );
    let mut own_sudo = Timeline::new("se-2", DAY1);
    own_sudo.push(admin_change("user_admin_granted", "jane.doe@corp.example").on_user("jane.doe"));
    let mut other = Timeline::new("se-3", DAY1);
    other.push(admin_change("user_admin_granted", "it.admin@corp.example").on_user("jane.doe"));
    let mut own_name = Timeline::new("se-4", DAY1);
    own_name.push(
        admin_change("admin_update", "helpdesk@corp.example")
            .on_admin("helpdesk@corp.example")
            .change("firstname", Some(json!("Sam")), json!("Samuel")),
    );
    Examples {
        config: vec![],
        matching: vec![
            example("help desk makes itself administrator", &own_role),
            example("an admin grants sudo to their own user", &own_sudo),
        ],
        near_miss: vec![
            example("a grant to someone else", &other),
            example("an admin edits their own name", &own_name),
        ],
    }
}

// --- admin created then deleted ----------------------------------------------------------

fn admin_created_then_deleted() -> Rule {
    Rule {
        id: "jc.admin.created_then_deleted",
        title: "Admin account {entity} created and deleted again within {within}",
        description: "An administrator account was created and deleted shortly after (admin_create then admin_delete of the same account): the pattern of a throw-away admin used and removed to cover tracks.",
        area: Area::AuthAndAdmin,
        severity: Severity::High,
        technique: "T1136.003",
        route: Route::Alert,
        first_action: "Review everything the short-lived admin did between creation and deletion, and who created it.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            threshold(1, "Creations before the deletion (one is enough)."),
            within("24h", "How soon after the creation the deletion must come."),
        ],
        details: &["first_count"],
        logic: Logic::Sequence {
            observe: observe_admin_lifecycle,
            distinct: false,
            check: None,
        },
        examples: created_deleted_examples,
    }
}

fn observe_admin_lifecycle(ev: &Event, _: &Knobs) -> Option<Hit> {
    let role = match ev.kind() {
        "admin_create" | "provider_admin_create" => Role::First,
        "admin_delete" | "provider_admin_delete" => Role::Then,
        _ => return None,
    };
    let who = ev
        .field_str("resource.email")
        .or_else(|| ev.field_str("resource.id"))
        .map(|s| s.to_lowercase())?;
    Some(Hit::new(who).role(role))
}

fn created_deleted_examples() -> Examples {
    let mut quick = Timeline::new("cd-1", DAY1);
    quick.push(
        admin_change("admin_create", "it.admin@corp.example").on_admin("backup.svc@corp.example"),
    );
    quick.wait("40m").push(
        admin_change("admin_delete", "it.admin@corp.example").on_admin("backup.svc@corp.example"),
    );
    let mut later = Timeline::new("cd-2", DAY1);
    later.push(
        admin_change("admin_create", "it.admin@corp.example").on_admin("temp.admin@corp.example"),
    );
    later.wait("3d").push(
        admin_change("admin_delete", "it.admin@corp.example").on_admin("temp.admin@corp.example"),
    );
    let mut other = Timeline::new("cd-3", DAY1);
    other.push(
        admin_change("admin_create", "it.admin@corp.example").on_admin("new.admin@corp.example"),
    );
    other.wait("40m").push(
        admin_change("admin_delete", "it.admin@corp.example").on_admin("old.admin@corp.example"),
    );
    Examples {
        config: vec![],
        matching: vec![example(
            "an admin created and deleted within the hour",
            &quick,
        )],
        near_miss: vec![
            example("deleted three days later", &later),
            example("a different admin deleted", &other),
        ],
    }
}

// --- mass user removal -------------------------------------------------------------------

fn mass_user_removal() -> Rule {
    Rule {
        id: "jc.admin.mass_user_removal",
        title: "{actor} deleted or suspended {distinct_count} accounts within {window}",
        description: "One admin deleted or suspended many accounts in a short time (user_delete, user_suspended, admin_delete, or a user_update suspending): account access removal that locks the organisation out. SCIM de-provisioning by the identity provider is left out.",
        area: Area::AuthAndAdmin,
        severity: Severity::High,
        technique: "T1531",
        route: Route::Alert,
        first_action: "Confirm with the admin at once; if unexpected, suspend the admin's access and restore the accounts.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            threshold(10, "Distinct accounts removed by one admin."),
            window("1h"),
        ],
        details: &["distinct_count", "distinct", "threshold"],
        logic: Logic::Threshold {
            observe: observe_removal,
            distinct: true,
        },
        examples: removal_examples,
    }
}

fn observe_removal(ev: &Event, _: &Knobs) -> Option<Hit> {
    if fields::is_automation(ev) {
        return None;
    }
    let removed = type_in(
        ev,
        &[
            "user_delete",
            "user_suspended",
            "admin_delete",
            "systemuser_delete",
        ],
        &[],
    ) || (ev.kind() == "user_update"
        && fields::flat_changes(ev).iter().any(|c| {
            (c.leaf() == "suspended" && c.to_flag() == Some(true) && c.from_flag() != Some(true))
                || (c.leaf() == "state"
                    && c.to
                        .as_ref()
                        .and_then(|v| v.as_str())
                        .is_some_and(|s| s.eq_ignore_ascii_case("suspended")))
        }));
    if !removed {
        return None;
    }
    let target = fields::target_identity(ev)?;
    Some(Hit::new(actor_or_unknown(ev)).value(target))
}

fn removal_examples() -> Examples {
    let mut wipe = Timeline::new("mr-1", DAY1);
    wipe.repeat(12, "1m", |i| {
        admin_change("user_delete", "it.admin@corp.example").on_user(STAFF[i])
    });
    let mut few = Timeline::new("mr-2", DAY1);
    few.repeat(3, "10m", |i| {
        admin_change("user_delete", "it.admin@corp.example").on_user(STAFF[i])
    });
    let mut scim = Timeline::new("mr-3", DAY1);
    scim.repeat(12, "10s", |i| {
        admin_change("user_suspended", "okta-scim@corp.example")
            .source("scim")
            .api_key()
            .on_user(STAFF[i])
    });
    Examples {
        config: vec![],
        matching: vec![example("twelve accounts deleted in twelve minutes", &wipe)],
        near_miss: vec![
            example("three leavers removed", &few),
            example("SCIM de-provisioning", &scim),
        ],
    }
}
