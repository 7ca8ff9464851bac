//! Reading Directory Insights events the way rules need them: who authenticated, whether it
//! worked, which network it came from, what an admin change changed.
//!
//! Every helper answers `None` (or `false`) when the event does not say: a missing field is
//! unknown, never a mismatch that raises an alert. Where the reference material is unsure of a
//! name, every known spelling is accepted (`radius_auth` and `radius_auth_attempt`,
//! `useragent` and `user_agent`, `api key` and `api-key`).

use std::net::IpAddr;

use jcwatch_model::Event;
use serde_json::Value;

/// The login event types, every known spelling.
pub const LOGIN_TYPES: &[&str] = &[
    "admin_login_attempt",
    "user_login_attempt",
    "sso_auth",
    "radius_auth",
    "radius_auth_attempt",
    "ldap_bind",
    "login_attempt",
];

/// Which door a login came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginPath {
    /// The admin console (`admin_login_attempt`).
    Admin,
    /// The user portal (`user_login_attempt`).
    Portal,
    Sso,
    Radius,
    Ldap,
    /// A managed device (`login_attempt`, service `systems`).
    Device,
}

impl LoginPath {
    pub fn name(self) -> &'static str {
        match self {
            LoginPath::Admin => "admin",
            LoginPath::Portal => "portal",
            LoginPath::Sso => "sso",
            LoginPath::Radius => "radius",
            LoginPath::Ldap => "ldap",
            LoginPath::Device => "device",
        }
    }
}

/// The login path of an event, `None` when it is not a login.
pub fn login_path(ev: &Event) -> Option<LoginPath> {
    match ev.event_type.as_deref()? {
        "admin_login_attempt" => Some(LoginPath::Admin),
        "user_login_attempt" => Some(LoginPath::Portal),
        "sso_auth" => Some(LoginPath::Sso),
        "radius_auth" | "radius_auth_attempt" => Some(LoginPath::Radius),
        "ldap_bind" => Some(LoginPath::Ldap),
        "login_attempt" => Some(LoginPath::Device),
        _ => None,
    }
}

/// How a login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    /// SSO's intermediate step: `sso_token_success = false` with no error is the MFA prompt,
    /// not a failure.
    MfaStep,
    Unknown,
}

/// The outcome of a login event.
pub fn outcome(ev: &Event) -> Outcome {
    if ev.event_type.as_deref() == Some("sso_auth") {
        return match (ev.sso_token_success, ev.success) {
            (Some(true), _) => Outcome::Success,
            (Some(false), _) if ev.error_message.is_some() => Outcome::Failure,
            (Some(false), _) => Outcome::MfaStep,
            (None, Some(true)) => Outcome::Success,
            (None, Some(false)) => Outcome::Failure,
            (None, None) => Outcome::Unknown,
        };
    }
    match ev.success {
        Some(true) => Outcome::Success,
        Some(false) => Outcome::Failure,
        None => Outcome::Unknown,
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn lower(s: Option<String>) -> Option<String> {
    s.map(|s| s.to_lowercase())
}

/// Who tried to log in, lower-cased: the username, else the email, else the RADIUS/LDAP
/// user name, else (old admin-login shape) the resource. Device logins are `user@host`,
/// because a local account name only means something on its machine.
pub fn login_identity(ev: &Event) -> Option<String> {
    if login_path(ev) == Some(LoginPath::Device) {
        let user = text(ev.field("username")).or_else(|| principal_name(ev))?;
        let host = text(ev.field("system.hostname"))
            .or_else(|| text(ev.field("system.displayName")))
            .or_else(|| text(ev.field("system.id")))
            .unwrap_or_else(|| "unknown-host".into());
        return Some(format!("{user}@{host}").to_lowercase());
    }
    let found = principal_name(ev)
        .or_else(|| text(ev.field("username")))
        .or_else(|| text(ev.field("outer.username")))
        .or_else(|| {
            (ev.event_type.as_deref() == Some("admin_login_attempt"))
                .then(|| {
                    text(ev.field("resource.email")).or_else(|| text(ev.field("resource.username")))
                })
                .flatten()
        })
        .or_else(|| text(ev.field("initiated_by.id")));
    lower(found)
}

/// `initiated_by.username`, else `initiated_by.email`.
fn principal_name(ev: &Event) -> Option<String> {
    text(ev.field("initiated_by.username")).or_else(|| text(ev.field("initiated_by.email")))
}

/// Who made an admin change, lower-cased: the email, else the username, else the id.
pub fn actor_identity(ev: &Event) -> Option<String> {
    let found = text(ev.field("initiated_by.email"))
        .or_else(|| text(ev.field("initiated_by.username")))
        .or_else(|| text(ev.field("initiated_by.id")))
        .or_else(|| text(ev.field("username")));
    lower(found)
}

/// What an admin change was made to: a user name, an email, an object name or an id.
pub fn target_identity(ev: &Event) -> Option<String> {
    if ev.event_type.as_deref() == Some("association_change")
        && let Some(user) = association_user(ev)
    {
        return Some(user);
    }
    let r = ev.resource.as_ref()?;
    r.username
        .clone()
        .or_else(|| r.email.clone())
        .or_else(|| r.name.clone())
        .or_else(|| r.display_name.clone())
        .or_else(|| r.hostname.clone())
        .or_else(|| r.id.clone())
        .map(|s| s.to_lowercase())
}

/// The user at either end of an association, by name (lower-cased).
pub fn association_user(ev: &Event) -> Option<String> {
    ["association.connection.to", "association.connection.from"]
        .iter()
        .find_map(|end| {
            let kind = text(ev.field(&format!("{end}.type")))?.to_ascii_lowercase();
            if kind == "user" || kind == "systemuser" {
                lower(
                    text(ev.field(&format!("{end}.name")))
                        .or_else(|| text(ev.field(&format!("{end}.object_id")))),
                )
            } else {
                None
            }
        })
}

/// Every form under which the actor may be known (id, email, username), lower-cased.
pub fn actor_names(ev: &Event) -> Vec<String> {
    [
        "initiated_by.id",
        "initiated_by.email",
        "initiated_by.username",
    ]
    .iter()
    .filter_map(|p| lower(text(ev.field(p))))
    .collect()
}

/// Every form under which the target may be known, lower-cased.
pub fn target_names(ev: &Event) -> Vec<String> {
    let mut names: Vec<String> = ["resource.id", "resource.email", "resource.username"]
        .iter()
        .filter_map(|p| lower(text(ev.field(p))))
        .collect();
    for end in ["association.connection.to", "association.connection.from"] {
        let kind = text(ev.field(&format!("{end}.type"))).unwrap_or_default();
        if kind.eq_ignore_ascii_case("user") || kind.eq_ignore_ascii_case("systemuser") {
            for leaf in ["name", "object_id"] {
                if let Some(v) = lower(text(ev.field(&format!("{end}.{leaf}")))) {
                    names.push(v);
                }
            }
        }
    }
    names
}

/// Whether two identities name the same person: equal, or an email whose local part is the
/// other (JumpCloud admins log in by email, users by username).
pub fn same_person(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim().to_lowercase(), b.trim().to_lowercase());
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    let local = |s: &str| s.split_once('@').map(|(l, _)| l.to_string());
    match (local(&a), local(&b)) {
        (Some(la), None) => la == b,
        (None, Some(lb)) => lb == a,
        _ => false,
    }
}

/// The source address, when it is a readable IP address.
pub fn source_ip(ev: &Event) -> Option<IpAddr> {
    ev.client_ip.as_deref()?.trim().parse().ok()
}

/// The /24 (IPv4) or /48 (IPv6) network of an address: "the same place" for most purposes.
pub fn network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// The /16 (IPv4) or /32 (IPv6) network: "the same provider" as a rough guide.
pub fn wide_network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.0.0/16", o[0], o[1])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}::/32", s[0], s[1])
        }
    }
}

fn user_agent_block(ev: &Event) -> Option<&Value> {
    ev.field("useragent")
        .filter(|v| v.is_object())
        .or_else(|| ev.field("user_agent").filter(|v| v.is_object()))
}

/// The browser family and operating system (`Chrome|Mac OS X`): "the same device" as far as
/// the log can tell. `None` when the log does not say (or says only "Other").
pub fn device_family(ev: &Event) -> Option<String> {
    let ua = user_agent_block(ev)?;
    let known = |key: &str| text(ua.get(key)).filter(|s| !s.eq_ignore_ascii_case("other"));
    let name = known("name");
    let os = known("os_name").or_else(|| known("os"));
    if name.is_none() && os.is_none() {
        return None;
    }
    Some(format!(
        "{}|{}",
        name.unwrap_or_else(|| "?".into()),
        os.unwrap_or_else(|| "?".into())
    ))
}

/// The user agent as a person reads it (`Chrome 114.0.0.0 on Mac OS X 10.15.7`).
pub fn user_agent_label(ev: &Event) -> Option<String> {
    if let Some(Value::String(s)) = ev.field("useragent").or_else(|| ev.field("user_agent")) {
        return Some(bounded(s, 160));
    }
    let ua = user_agent_block(ev)?;
    let name = text(ua.get("name"));
    let version = text(ua.get("version"));
    let os = text(ua.get("os_full")).or_else(|| text(ua.get("os")));
    let browser = match (name, version) {
        (Some(n), Some(v)) => Some(format!("{n} {v}")),
        (n, _) => n,
    };
    let label = match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b,
        (None, Some(o)) => o,
        (None, None) => return None,
    };
    Some(bounded(&label, 160))
}

fn flag(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Whether the password step of a login worked, when the event records its steps.
pub fn password_ok(ev: &Event) -> Option<bool> {
    flag(ev.field("auth_context.auth_methods.password.success"))
        .or_else(|| flag(ev.field("auth_meta.auth_methods.password.success")))
}

/// The result of a push MFA prompt (JumpCloud Protect, Duo push), when the event has one.
pub fn push_result(ev: &Event) -> Option<bool> {
    for base in ["auth_context.auth_methods", "auth_meta.auth_methods"] {
        for method in ["jumpcloud_protect", "duo", "push"] {
            if let Some(b) = flag(ev.field(&format!("{base}.{method}.success"))) {
                return Some(b);
            }
        }
    }
    let failed = outcome(ev) == Outcome::Failure;
    if failed
        && let Some(error) = ev.error_message.as_deref().map(str::to_lowercase)
        && (error.contains("push") || error.contains("user denied") || error.contains("protect"))
    {
        return Some(false);
    }
    let kind = ev.mfa_meta_type.as_deref()?;
    if kind.contains("protect") || kind.contains("push") {
        return match outcome(ev) {
            Outcome::Success => Some(true),
            Outcome::Failure => Some(false),
            _ => None,
        };
    }
    None
}

/// Whether an admin change was made with an API key (`auth_method`, every known spelling).
pub fn is_api_key(ev: &Event) -> bool {
    let Some(method) = ev.auth_method.as_deref() else {
        return false;
    };
    let squeezed: String = method
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    squeezed == "apikey"
}

/// Whether a change came from provisioning automation (SCIM, JumpCloud itself), which
/// changes users in bulk by design.
pub fn is_automation(ev: &Event) -> bool {
    let source = ev
        .initiated_by
        .as_ref()
        .and_then(|p| p.source.as_deref())
        .unwrap_or_default()
        .to_ascii_lowercase();
    source.contains("scim")
        || source == "system"
        || ev.kind().ends_with("_provision")
        || ev.field("idm_client_id").is_some()
}

/// Whether an event is a directory write (created, changed, deleted, granted something).
pub fn is_directory_write(ev: &Event) -> bool {
    let kind = ev.kind();
    if LOGIN_TYPES.contains(&kind) || kind == "admin_old_api_key_attempt" {
        return false;
    }
    [
        "_create",
        "_update",
        "_delete",
        "_change",
        "_grant",
        "_granted",
        "_revoke",
        "_revoked",
        "_add",
        "_remove",
        "_run",
        "_activate",
        "_deactivate",
        "_include",
        "_exclude",
        "_set",
        "_suspended",
        "_unsuspend",
        "_unsuspended",
    ]
    .iter()
    .any(|suffix| kind.ends_with(suffix))
}

/// One leaf of a change, its path dotted down into objects (`settings.passwordPolicy.minLength`).
#[derive(Debug, Clone, PartialEq)]
pub struct FlatChange {
    pub path: String,
    pub from: Option<Value>,
    pub to: Option<Value>,
}

impl FlatChange {
    /// The last segment of the path, lower-cased.
    pub fn leaf(&self) -> String {
        self.path
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    }

    pub fn from_flag(&self) -> Option<bool> {
        flag(self.from.as_ref())
    }

    pub fn to_flag(&self) -> Option<bool> {
        flag(self.to.as_ref())
    }

    pub fn from_number(&self) -> Option<f64> {
        number(self.from.as_ref())
    }

    pub fn to_number(&self) -> Option<f64> {
        number(self.to.as_ref())
    }

    /// `path: from → to`, bounded.
    pub fn describe(&self) -> String {
        let show = |v: &Option<Value>| match v {
            None => "∅".to_string(),
            Some(Value::String(s)) => bounded(s, 40),
            Some(other) => bounded(&other.to_string(), 40),
        };
        format!(
            "{}: {} → {}",
            bounded(&self.path, 60),
            show(&self.from),
            show(&self.to)
        )
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The event's `changes`, with objects on either side flattened into leaves.
pub fn flat_changes(ev: &Event) -> Vec<FlatChange> {
    let mut out = Vec::new();
    for change in &ev.changes {
        flatten(
            &change.field,
            change.from.as_ref(),
            change.to.as_ref(),
            0,
            &mut out,
        );
    }
    out
}

fn flatten(
    path: &str,
    from: Option<&Value>,
    to: Option<&Value>,
    depth: usize,
    out: &mut Vec<FlatChange>,
) {
    let from_obj = from.and_then(Value::as_object);
    let to_obj = to.and_then(Value::as_object);
    if depth < 6 && (from_obj.is_some() || to_obj.is_some()) {
        let mut keys: Vec<&String> = from_obj
            .into_iter()
            .chain(to_obj)
            .flat_map(|m| m.keys())
            .collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let child = format!("{path}.{key}");
            flatten(
                &child,
                from_obj.and_then(|m| m.get(key)),
                to_obj.and_then(|m| m.get(key)),
                depth + 1,
                out,
            );
        }
        return;
    }
    if from == to {
        return;
    }
    out.push(FlatChange {
        path: path.to_string(),
        from: from.filter(|v| !v.is_null()).cloned(),
        to: to.filter(|v| !v.is_null()).cloned(),
    });
}

/// A short, bounded description of an event's changes (`field: from → to; …`).
pub fn change_summary(ev: &Event) -> Option<String> {
    let changes = flat_changes(ev);
    if changes.is_empty() {
        return None;
    }
    let shown: Vec<String> = changes.iter().take(4).map(FlatChange::describe).collect();
    let more = changes.len().saturating_sub(4);
    let mut text = shown.join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    Some(bounded(&text, 400))
}

/// Whether MFA was switched off or on for someone, and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaToggle {
    Off(String),
    On(String),
}

fn mfa_words(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    [
        "multifactor",
        "totp",
        "mfa",
        "2fa",
        "webauthn",
        "second_factor",
        "secondfactor",
    ]
    .iter()
    .any(|w| p.contains(w))
}

/// Reads an MFA change from dedicated event types (`totp_delete_enrollment`,
/// `admin_totp_disable`, ...) or from `user_update`/`admin_update` changes
/// (`enable_user_portal_multifactor`, `totp_enabled`, `mfa.configured`, `mfa.exclusion`).
/// A creation never counts as switching MFA off: a new account has nothing to remove.
pub fn mfa_toggle(ev: &Event) -> Option<MfaToggle> {
    let kind = ev.kind();
    let subject = || target_identity(ev).or_else(|| login_identity(ev));
    if let Some(toggle) = mfa_toggle_by_type(kind) {
        return subject().map(|who| match toggle {
            true => MfaToggle::On(who),
            false => MfaToggle::Off(who),
        });
    }
    if !(kind.ends_with("_update") || kind.starts_with("user_mfa")) {
        return None;
    }
    let mut off = false;
    let mut on = false;
    for change in flat_changes(ev) {
        let path = change.path.to_ascii_lowercase();
        if !mfa_words(&path) && !path.contains("exclusion") {
            continue;
        }
        if path.contains("until") || path.contains("date") || path.contains("_at") {
            continue;
        }
        let (from, to) = (change.from_flag(), change.to_flag());
        if path.contains("exclusion") {
            match (from, to) {
                (f, Some(true)) if f != Some(true) => off = true,
                (Some(true), Some(false)) => on = true,
                _ => {}
            }
        } else {
            match (from, to) {
                (Some(true), Some(false)) => off = true,
                (f, Some(true)) if f != Some(true) => on = true,
                _ => {}
            }
        }
    }
    let who = subject()?;
    if off {
        Some(MfaToggle::Off(who))
    } else if on {
        Some(MfaToggle::On(who))
    } else {
        None
    }
}

/// MFA switched on (`true`) or off (`false`) by the event type alone: the documented names
/// (`totp_delete_enrollment`, `admin_totp_disable`, `totp_finish_enrollment`,
/// `user_mfa_exclusion_expired`) and the spellings an undocumented one would likely use.
fn mfa_toggle_by_type(kind: &str) -> Option<bool> {
    if !(kind.contains("totp")
        || kind.contains("mfa")
        || kind.contains("webauthn")
        || kind.contains("multifactor"))
    {
        return None;
    }
    if kind.contains("exclusion_expired")
        || kind.contains("exclusion_removed")
        || kind.contains("exclusion_delete")
    {
        return Some(true);
    }
    if kind.contains("start_enrollment") || kind.ends_with("_update") || kind.contains("login") {
        return None;
    }
    let off = [
        "delete",
        "disable",
        "remove",
        "reset",
        "exclusion",
        "exclude",
        "unenroll",
        "deactivate",
    ];
    let on = [
        "finish_enrollment",
        "enrollment_complete",
        "enable",
        "enroll",
        "activate",
        "create",
    ];
    if off.iter().any(|w| kind.contains(w)) {
        Some(false)
    } else if on.iter().any(|w| kind.contains(w)) {
        Some(true)
    } else {
        None
    }
}

/// Great-circle distance in kilometres.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6_371.0;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// Text from an event made safe to carry: control characters removed, at most `max`
/// characters (an attacker controls user names, labels and user agents).
pub fn bounded(text: &str, max: usize) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.chars().count() <= max {
        return clean;
    }
    let mut cut: String = clean.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(v: Value) -> Event {
        Event::from_value(v).unwrap()
    }

    #[test]
    fn an_sso_token_failure_without_error_is_an_mfa_step() {
        let step = event(
            json!({"id":"1","timestamp":"2024-01-01T00:00:00Z","event_type":"sso_auth","sso_token_success":false,"error_message":""}),
        );
        let fail = event(
            json!({"id":"2","timestamp":"2024-01-01T00:00:00Z","event_type":"sso_auth","sso_token_success":false,"error_message":"not authorized"}),
        );

        assert_eq!(outcome(&step), Outcome::MfaStep);
        assert_eq!(outcome(&fail), Outcome::Failure);
    }

    #[test]
    fn nested_changes_flatten_into_leaves_with_before_and_after() {
        let ev = event(
            json!({"id":"3","timestamp":"2024-01-01T00:00:00Z","changes":[
                {"field":"settings.passwordPolicy","from":{"minLength":12,"needsSymbolic":true},"to":{"minLength":6,"needsSymbolic":true}}
            ]}),
        );

        let flat = flat_changes(&ev);

        assert_eq!(flat.len(), 1);
        assert_eq!(flat[0].path, "settings.passwordPolicy.minLength");
        assert_eq!(
            (flat[0].from_number(), flat[0].to_number()),
            (Some(12.0), Some(6.0))
        );
    }

    #[test]
    fn mfa_switched_off_in_a_user_update_is_read_for_the_target() {
        let ev = event(
            json!({"id":"4","timestamp":"2024-01-01T00:00:00Z","event_type":"user_update",
            "resource":{"type":"user","username":"Jane.Doe"},
            "changes":[{"field":"enable_user_portal_multifactor","from":true,"to":false}]}),
        );
        let created = event(
            json!({"id":"5","timestamp":"2024-01-01T00:00:00Z","event_type":"user_create",
            "resource":{"type":"user","username":"new.hire"},
            "changes":[{"field":"enable_user_portal_multifactor","to":false}]}),
        );

        assert_eq!(mfa_toggle(&ev), Some(MfaToggle::Off("jane.doe".into())));
        assert_eq!(mfa_toggle(&created), None);
    }

    #[test]
    fn mfa_event_types_are_read_in_every_likely_spelling() {
        assert_eq!(mfa_toggle_by_type("totp_delete_enrollment"), Some(false));
        assert_eq!(mfa_toggle_by_type("admin_totp_disable"), Some(false));
        assert_eq!(mfa_toggle_by_type("user_mfa_exclusion_create"), Some(false));
        assert_eq!(mfa_toggle_by_type("user_mfa_exclusion_expired"), Some(true));
        assert_eq!(mfa_toggle_by_type("totp_finish_enrollment"), Some(true));
        assert_eq!(mfa_toggle_by_type("totp_start_enrollment"), None);
        assert_eq!(mfa_toggle_by_type("user_update"), None);
        assert_eq!(mfa_toggle_by_type("user_login_attempt"), None);
    }

    #[test]
    fn emails_and_usernames_of_one_person_match() {
        assert!(same_person("jane.doe@corp.example", "jane.doe"));
        assert!(!same_person("jane.doe@corp.example", "john.doe"));
        assert!(!same_person("", ""));
    }

    #[test]
    fn distances_are_great_circle_kilometres() {
        let paris_new_york = haversine_km(48.8566, 2.3522, 40.7128, -74.0060);

        assert!((paris_new_york - 5_837.0).abs() < 15.0, "{paris_new_york}");
    }

    #[test]
    fn hostile_text_is_bounded_and_stripped_of_control_characters() {
        let text = format!("evil\u{7}\n{}", "x".repeat(500));

        let out = bounded(&text, 20);

        assert_eq!(out.chars().count(), 20);
        assert!(!out.contains('\n'));
    }
}
