//! The event shapes: one builder per Directory Insights event type the scenario writes, each
//! producing the JSON object as the real service does (field names, which fields are
//! present, id format, timestamp precision).
//!
//! Every builder goes through [`Emitter`], which stamps the common envelope, labels the
//! event with its ground truth and collects it.

use chrono::{DateTime, Datelike, Duration, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::company::{App, Company, Mfa, Network, Os, Person, System};
use super::rng::{ObjectIds, Rng, upper_uuid};
use super::{ScenarioEvent, Truth};

/// How many fractional digits a service writes in `timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precision {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl Precision {
    fn of_service(service: &str) -> Self {
        match service {
            "radius" => Precision::Seconds,
            "sso" => Precision::Nanos,
            "ldap" => Precision::Micros,
            _ => Precision::Millis,
        }
    }
}

/// The time as the service writes it (what a reader of `timestamp` gets back).
fn truncate(at: DateTime<Utc>, precision: Precision) -> DateTime<Utc> {
    let nanos = i64::from(at.timestamp_subsec_nanos());
    let keep = match precision {
        Precision::Seconds => 0,
        Precision::Millis => nanos - nanos % 1_000_000,
        Precision::Micros => nanos - nanos % 1_000,
        Precision::Nanos => nanos,
    };
    at - Duration::nanoseconds(nanos - keep)
}

/// Formats a time the way the service writes it. Nanosecond services drop trailing zeros
/// (`14:21:10.34334445Z`), as the real SSO events do.
pub(crate) fn stamp(at: DateTime<Utc>, precision: Precision) -> String {
    match precision {
        Precision::Seconds => at.to_rfc3339_opts(SecondsFormat::Secs, true),
        Precision::Millis => at.to_rfc3339_opts(SecondsFormat::Millis, true),
        Precision::Micros => at.to_rfc3339_opts(SecondsFormat::Micros, true),
        Precision::Nanos => {
            let full = at.to_rfc3339_opts(SecondsFormat::Nanos, true);
            let body = full.trim_end_matches('Z').trim_end_matches('0');
            format!("{}Z", body.trim_end_matches('.'))
        }
    }
}

/// A browser or client, as the `useragent` block describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Agent {
    ChromeMac,
    SafariMac,
    EdgeWindows,
    ChromeWindows,
    SafariIphone,
    /// A scripted client (HR sync, SCIM): parsed as `curl`.
    Curl,
    /// The attacker's tooling.
    PythonRequests,
    /// What the parser writes when it recognises nothing.
    Other,
}

impl Agent {
    pub fn for_laptop(os: Os) -> Self {
        match os {
            Os::Mac => Agent::ChromeMac,
            Os::Windows => Agent::EdgeWindows,
        }
    }

    pub fn to_json(self) -> Value {
        let (name, version, os, os_version, device) = match self {
            Agent::ChromeMac => ("Chrome", "126.0.0.0", "Mac OS X", "10.15.7", "Mac"),
            Agent::SafariMac => ("Safari", "17.5", "Mac OS X", "10.15.7", "Mac"),
            Agent::EdgeWindows => ("Edge", "126.0.2592.68", "Windows", "10", "Other"),
            Agent::ChromeWindows => ("Chrome", "126.0.0.0", "Windows", "10", "Other"),
            Agent::SafariIphone => ("Mobile Safari", "17.5", "iOS", "17.5.1", "iPhone"),
            Agent::Curl => ("curl", "7.68.0", "Other", "", "Other"),
            Agent::PythonRequests => ("Python Requests", "2.31", "Other", "", "Other"),
            Agent::Other => {
                return json!({"os_full": "Other", "os": "Other", "name": "Other",
                              "os_name": "Other", "device": "Other"});
            }
        };
        let mut parts = version.split('.');
        let major = parts.next().unwrap_or("0");
        let minor = parts.next().unwrap_or("0");
        let patch = parts.next().unwrap_or("0");
        let os_full = if os_version.is_empty() {
            os.to_string()
        } else {
            format!("{os} {os_version}")
        };
        json!({
            "os": os,
            "minor": minor,
            "os_minor": os_version.split('.').nth(1).unwrap_or(""),
            "os_version": os_version,
            "os_major": os_version.split('.').next().unwrap_or(""),
            "version": version,
            "os_patch": os_version.split('.').nth(2).unwrap_or(""),
            "patch": patch,
            "os_full": os_full,
            "major": major,
            "name": name,
            "os_name": os,
            "device": device,
        })
    }
}

/// How a user-portal login attempt ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Login {
    WrongPassword,
    /// Right password, the second factor refused (a denied push or a wrong code).
    MfaRefused(Mfa),
    /// Success; `None` when no second factor was asked (not yet enrolled, or excluded).
    Success(Option<Mfa>),
}

/// How an `sso_auth` event ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sso {
    /// The MFA challenge step: `sso_token_success` false with an empty error.
    MfaStep,
    /// Success; `true` when a second factor was used in this flow.
    Success(bool),
    Failure(&'static str),
}

/// Builds events, labels them and collects them.
pub(crate) struct Emitter<'c> {
    pub company: &'c Company,
    pub rng: Rng,
    ids: ObjectIds,
    truth: Truth,
    /// The exact time of the event being built.
    at: DateTime<Utc>,
    out: Vec<ScenarioEvent>,
}

impl<'c> Emitter<'c> {
    pub fn new(company: &'c Company, rng: Rng, truth: Truth) -> Self {
        let mut rng = rng;
        let ids = ObjectIds::new(&mut rng);
        Self {
            company,
            rng,
            ids,
            truth,
            at: DateTime::<Utc>::MIN_UTC,
            out: Vec::new(),
        }
    }

    /// Labels the events built from now on.
    pub fn label(&mut self, truth: Truth) {
        self.truth = truth;
    }

    pub fn finish(self) -> Vec<ScenarioEvent> {
        self.out
    }

    /// A fresh object id, as the directory would assign to something created at `at`.
    pub fn object_id(&mut self, at: DateTime<Utc>) -> String {
        self.ids.at(at)
    }

    /// The common envelope. The time gets a random sub-second part, written at the
    /// service's precision; the id is an object id of that time (RADIUS: an uppercase UUID).
    fn envelope(
        &mut self,
        event_type: &str,
        service: &str,
        at: DateTime<Utc>,
        from: &Network,
    ) -> Map<String, Value> {
        let at = at + Duration::nanoseconds(self.rng.below(1_000_000_000) as i64);
        self.at = at;
        let id = if service == "radius" {
            upper_uuid(&mut self.rng)
        } else {
            self.ids.at(at)
        };
        let mut e = Map::new();
        e.insert("id".into(), json!(id));
        e.insert("event_type".into(), json!(event_type));
        e.insert("service".into(), json!(service));
        e.insert("organization".into(), json!(self.company.org_id));
        e.insert("@version".into(), json!("1"));
        e.insert("client_ip".into(), json!(from.ip));
        e.insert("geoip".into(), from.geo.to_json());
        match service {
            "directory" => {
                e.insert("provider".into(), Value::Null);
            }
            "sso" => {
                e.insert("provider".into(), json!(""));
            }
            _ => {}
        }
        e.insert(
            "timestamp".into(),
            json!(stamp(at, Precision::of_service(service))),
        );
        e
    }

    fn push(&mut self, event: Map<String, Value>) {
        self.out.push(ScenarioEvent {
            at: truncate(
                self.at,
                Precision::of_service(event.get("service").and_then(Value::as_str).unwrap_or("")),
            ),
            event: Value::Object(event),
            truth: self.truth,
        });
    }

    /// A user-portal login; a push goes to the person's phone on the same network.
    pub fn user_login(
        &mut self,
        at: DateTime<Utc>,
        who: &Person,
        from: &Network,
        agent: Agent,
        outcome: Login,
    ) {
        self.user_login_phone_at(at, who, from, from, agent, outcome);
    }

    /// A user-portal login whose push goes to a phone somewhere else (the victim's phone on
    /// his desk while the attacker logs in from abroad).
    pub fn user_login_phone_at(
        &mut self,
        at: DateTime<Utc>,
        who: &Person,
        from: &Network,
        phone: &Network,
        agent: Agent,
        outcome: Login,
    ) {
        let mut e = self.envelope("user_login_attempt", "directory", at, from);
        e.insert("initiated_by".into(), who.as_user());
        e.insert("useragent".into(), agent.to_json());
        let (success, password_ok, factor, mfa_used) = match outcome {
            Login::WrongPassword => (false, false, None, None),
            Login::MfaRefused(m) => (false, true, Some((m, false)), Some(m)),
            Login::Success(m) => (true, true, m.map(|m| (m, true)), m),
        };
        let mut methods = Map::new();
        methods.insert("password".into(), json!({"success": password_ok}));
        if let Some((m, ok)) = factor {
            methods.insert(mfa_key(m).into(), json!({"success": ok}));
        }
        let mut context = json!({"auth_methods": methods});
        if let Some((Mfa::Push, _)) = factor {
            context["jumpcloud_protect_device"] = phone_of(who, phone);
        }
        e.insert("auth_context".into(), context);
        e.insert("success".into(), json!(success));
        e.insert("mfa".into(), json!(mfa_used.is_some() && success));
        e.insert(
            "mfa_meta".into(),
            json!({"type": mfa_used.map_or("none", mfa_key)}),
        );
        let error = match outcome {
            Login::WrongPassword => "invalid credentials",
            Login::MfaRefused(Mfa::Push) => "jumpcloud protect push denied",
            Login::MfaRefused(Mfa::Totp) => "invalid totp code",
            Login::Success(_) => "",
        };
        e.insert("error_message".into(), json!(error));
        self.push(e);
    }

    /// A login attempt with a username that does not exist in the directory.
    pub fn unknown_user_login(
        &mut self,
        at: DateTime<Utc>,
        username: &str,
        from: &Network,
        agent: Agent,
    ) {
        let mut e = self.envelope("user_login_attempt", "directory", at, from);
        e.insert(
            "initiated_by".into(),
            json!({"type": "user", "username": username}),
        );
        e.insert("useragent".into(), agent.to_json());
        e.insert(
            "auth_context".into(),
            json!({"auth_methods": {"password": {"success": false}}}),
        );
        e.insert("success".into(), json!(false));
        e.insert("mfa".into(), json!(false));
        e.insert("mfa_meta".into(), json!({"type": "none"}));
        e.insert("error_message".into(), json!("invalid credentials"));
        self.push(e);
    }

    pub fn admin_login(
        &mut self,
        at: DateTime<Utc>,
        initiated_by: Value,
        from: &Network,
        agent: Agent,
        success: bool,
        mfa: Option<Mfa>,
    ) {
        let mut e = self.envelope("admin_login_attempt", "directory", at, from);
        e.insert("initiated_by".into(), initiated_by);
        e.insert("useragent".into(), agent.to_json());
        e.insert("mfa".into(), json!(mfa.is_some()));
        e.insert(
            "mfa_meta".into(),
            json!({"type": mfa.map_or("none", mfa_key)}),
        );
        e.insert("success".into(), json!(success));
        if !success {
            e.insert("error_message".into(), json!("invalid credentials"));
        }
        self.push(e);
    }

    #[allow(clippy::too_many_arguments)]
    pub fn sso(
        &mut self,
        at: DateTime<Utc>,
        who: &Person,
        app: &App,
        from: &Network,
        agent: Agent,
        outcome: Sso,
        device: Option<&System>,
    ) {
        let mut e = self.envelope("sso_auth", "sso", at, from);
        e.insert("initiated_by".into(), who.as_user());
        e.insert("useragent".into(), agent.to_json());
        e.insert("application".into(), app.to_json());
        e.insert("idp_initiated".into(), json!(self.rng.chance(0.4)));
        let mut methods = Map::new();
        let (token, error, mfa) = match outcome {
            Sso::MfaStep => ("false", "", false),
            Sso::Success(mfa) => {
                if mfa {
                    methods.insert("password".into(), json!({"success": true}));
                    methods.insert(mfa_key(who.mfa).into(), json!({"success": true}));
                }
                ("true", "", mfa)
            }
            Sso::Failure(message) => ("false", message, false),
        };
        let mut context = json!({"auth_methods": methods});
        if let Some(system) = device {
            context["system"] = system.auth_context();
        }
        if token == "true" {
            context["policies_applied"] = json!([
                {"id": "", "name": "Global Policy",
                 "metadata": {"action": "ALLOW", "resource_type": "APPLICATION"}},
                {"id": self.company.mfa_policy.0, "name": self.company.mfa_policy.1,
                 "metadata": {"action": "ALLOW_WITH_MFA", "resource_type": "APPLICATION"}},
            ]);
        }
        e.insert("auth_context".into(), context);
        e.insert("mfa".into(), json!(mfa));
        e.insert("sso_token_success".into(), json!(token == "true"));
        e.insert("error_message".into(), json!(error));
        self.push(e);
    }

    /// A Wi-Fi (802.1X) authentication through JumpCloud RADIUS.
    pub fn radius(&mut self, at: DateTime<Utc>, who: &Person, from: &Network, success: bool) {
        let mut e = self.envelope("radius_auth_attempt", "radius", at, from);
        e.insert(
            "initiated_by".into(),
            json!({"type": "user", "username": who.username}),
        );
        e.insert("username".into(), json!(who.username));
        // Both spellings of the EAP auth type occur in real data.
        let auth_type = if self.rng.chance(0.5) { "eap" } else { "EAP" };
        e.insert("auth_type".into(), json!(auth_type));
        e.insert("eap_type".into(), json!("MSCHAPv2"));
        e.insert("nas_mfa_state".into(), json!("DISABLED"));
        e.insert("mfa".into(), json!(false));
        e.insert("mfa_meta".into(), json!({"type": ""}));
        e.insert(
            "auth_meta".into(),
            json!({"user_password_enabled": true, "device_cert_enabled": false,
                   "user_cert_enabled": false, "auth_idp": "JUMPCLOUD",
                   "userid_type": "USERNAME"}),
        );
        e.insert("success".into(), json!(success));
        if success {
            e.insert(
                "outer".into(),
                json!({"eap_type": "PEAP", "username": who.username, "error_message": null}),
            );
            e.insert("error_message".into(), Value::Null);
        } else {
            let inner = "mschap: MS-CHAP2-Response is incorrect";
            e.insert(
                "outer".into(),
                json!({"eap_type": "PEAP", "username": who.username,
                       "error_message": format!("eap_peap: The users session was previously rejected: returning reject (again.), eap: Failed continuing EAP PEAP (25) session.  EAP sub-module failed: {inner}")}),
            );
            e.insert("error_message".into(), json!(inner));
        }
        self.push(e);
    }

    /// An LDAP simple bind over TLS.
    pub fn ldap_bind(&mut self, at: DateTime<Utc>, username: &str, from: &Network, success: bool) {
        let mut e = self.envelope("ldap_bind", "ldap", at, from);
        let org = self.company.org_id.clone();
        e.insert(
            "initiated_by".into(),
            json!({"type": "user", "username": username}),
        );
        e.insert(
            "dn".into(),
            json!(format!(
                "uid={username},ou=Users,o={org},dc=jumpcloud,dc=com"
            )),
        );
        e.insert("username".into(), json!(username));
        e.insert("auth_method".into(), json!("simple"));
        e.insert("mech".into(), json!("SIMPLE"));
        e.insert("start_tls".into(), json!(false));
        e.insert("tls_established".into(), json!(true));
        e.insert(
            "connection_id".into(),
            json!(self.rng.between(100_000, 999_999).to_string()),
        );
        e.insert("operation_number".into(), json!(self.rng.between(0, 3)));
        e.insert("operation_type".into(), json!("bind"));
        e.insert("success".into(), json!(success));
        e.insert("error_code".into(), json!(if success { 0 } else { 49 }));
        e.insert(
            "error_message".into(),
            json!(if success { "" } else { "Invalid credentials" }),
        );
        self.push(e);
    }

    /// A login at a managed device (or, for `unlock`, a screen unlock on Windows).
    pub fn device_login(
        &mut self,
        at: DateTime<Utc>,
        who: &Person,
        system: &System,
        from: &Network,
        success: bool,
        unlock: bool,
    ) {
        let mut e = self.envelope("login_attempt", "systems", at, from);
        e.insert("initiated_by".into(), who.as_user());
        e.insert("system".into(), system.to_json());
        e.insert("username".into(), json!(who.username));
        e.insert("src_ip".into(), json!(""));
        // The device's local time: UK summer time from April to October (close enough here).
        let offset = if (4..=10).contains(&at.month()) { 1 } else { 0 };
        let local = at + Duration::hours(offset);
        e.insert(
            "system_timestamp".into(),
            json!(format!(
                "{}+0{offset}:00",
                local.format("%Y-%m-%dT%H:%M:%S")
            )),
        );
        let verb = if success {
            "logged in"
        } else {
            "failed to log in"
        };
        match system.os {
            Os::Mac => {
                e.insert("process_name".into(), json!("loginwindow"));
                e.insert(
                    "message".into(),
                    json!(format!(
                        "User {} {verb}, process name: loginwindow",
                        who.username
                    )),
                );
            }
            Os::Windows => {
                e.insert(
                    "process_name".into(),
                    json!("C:\\Windows\\System32\\svchost.exe"),
                );
                e.insert(
                    "message".into(),
                    json!(format!(
                        "User {} {verb}, process name: svchost.exe",
                        who.username
                    )),
                );
                e.insert(
                    "windows_meta".into(),
                    json!({"elevated": false, "logon_type": if unlock { 7 } else { 2 }}),
                );
            }
        }
        e.insert("success".into(), json!(success));
        if !success {
            e.insert("error_message".into(), json!("bad password"));
        }
        self.push(e);
    }

    /// Any directory write: `user_update`, `policy_update`, `organization_update`...
    #[allow(clippy::too_many_arguments)]
    pub fn directory_change(
        &mut self,
        at: DateTime<Utc>,
        event_type: &str,
        initiated_by: Value,
        auth_method: &str,
        from: &Network,
        agent: Agent,
        resource: Value,
        changes: Vec<Value>,
    ) {
        let mut e = self.envelope(event_type, "directory", at, from);
        e.insert("initiated_by".into(), initiated_by);
        e.insert("resource".into(), resource);
        if !changes.is_empty() {
            e.insert("changes".into(), Value::Array(changes));
        }
        e.insert("useragent".into(), agent.to_json());
        e.insert("auth_method".into(), json!(auth_method));
        if auth_method == "api key" {
            e.insert("correlation".into(), json!({}));
            e.insert("message_chain".into(), json!({}));
        }
        e.insert("success".into(), json!(true));
        self.push(e);
    }

    /// `association_change`: an edge added to or removed from the directory graph.
    #[allow(clippy::too_many_arguments)]
    pub fn association(
        &mut self,
        at: DateTime<Utc>,
        initiated_by: Value,
        from_net: &Network,
        agent: Agent,
        op: &str,
        from: (&str, &str, &str),
        to: (&str, &str, &str),
        attributes: Value,
    ) {
        let mut e = self.envelope("association_change", "directory", at, from_net);
        e.insert("initiated_by".into(), initiated_by);
        e.insert("useragent".into(), agent.to_json());
        e.insert(
            "association".into(),
            json!({
                "op": op,
                "action_source": "manual",
                "connection": {
                    "from": {"type": from.0, "object_id": from.1, "name": from.2},
                    "to": {"type": to.0, "object_id": to.1, "name": to.2},
                },
                "attributes": attributes,
            }),
        );
        e.insert("auth_method".into(), json!("session"));
        e.insert("success".into(), json!(true));
        self.push(e);
    }

    /// A request made with an admin's API key after that key was rotated.
    pub fn old_api_key_attempt(
        &mut self,
        at: DateTime<Utc>,
        admin: &Person,
        from: &Network,
        agent: Agent,
    ) {
        let mut e = self.envelope("admin_old_api_key_attempt", "directory", at, from);
        if let Some(initiator) = admin.as_admin() {
            e.insert("initiated_by".into(), initiator);
        }
        e.insert("useragent".into(), agent.to_json());
        e.insert("auth_method".into(), json!("api key"));
        e.insert("success".into(), json!(false));
        e.insert(
            "error_message".into(),
            json!("request made with an API key that has been rotated"),
        );
        self.push(e);
    }

    /// A JumpCloud command run on one device.
    #[allow(clippy::too_many_arguments)]
    pub fn command_run(
        &mut self,
        at: DateTime<Utc>,
        initiated_by: Value,
        from: &Network,
        agent: Agent,
        command: (&str, &str),
        system: &System,
    ) {
        let mut e = self.envelope("command_run", "directory", at, from);
        e.insert("initiated_by".into(), initiated_by);
        e.insert(
            "resource".into(),
            json!({"id": command.0, "type": "command", "name": command.1}),
        );
        e.insert(
            "system".into(),
            json!({"id": system.id, "hostname": system.hostname,
                   "displayName": system.hostname, "type": "system"}),
        );
        e.insert("useragent".into(), agent.to_json());
        e.insert("auth_method".into(), json!("session"));
        e.insert("success".into(), json!(true));
        self.push(e);
    }

    /// A user's own account event (`totp_start_enrollment`, `user_password_change`...).
    pub fn self_service(
        &mut self,
        at: DateTime<Utc>,
        event_type: &str,
        who: &Person,
        from: &Network,
        agent: Agent,
        changes: Vec<Value>,
    ) {
        let mut e = self.envelope(event_type, "directory", at, from);
        e.insert("initiated_by".into(), who.as_user());
        e.insert("resource".into(), who.as_resource());
        if !changes.is_empty() {
            e.insert("changes".into(), Value::Array(changes));
        }
        e.insert("useragent".into(), agent.to_json());
        e.insert("auth_method".into(), json!("session"));
        e.insert("success".into(), json!(true));
        self.push(e);
    }

    /// The directory locking an account after too many failed logins.
    pub fn lockout(&mut self, at: DateTime<Utc>, who: &Person, from: &Network) {
        let mut e = self.envelope("user_lockout", "directory", at, from);
        e.insert("initiated_by".into(), who.as_user());
        e.insert("resource".into(), who.as_resource());
        e.insert(
            "changes".into(),
            json!([{"field": "account_locked", "from": false, "to": true}]),
        );
        e.insert("success".into(), json!(true));
        self.push(e);
    }
}

/// The JumpCloud Protect phone a person approves pushes on, as seen on `net`.
fn phone_of(who: &Person, net: &Network) -> Value {
    json!({
        "id": who.user_id.chars().rev().collect::<String>(),
        "make": "Apple",
        "model": "iPhone15,2",
        "os": "iOS",
        "os_version": "17.5.1",
        "app_version": "2.14.0",
        "username": who.username,
        "user_id": who.user_id,
        "ip": net.ip,
        "geoip": net.geo.to_json(),
    })
}

/// The `auth_methods` key (and `mfa_meta.type`) of a second factor.
pub(crate) fn mfa_key(m: Mfa) -> &'static str {
    match m {
        Mfa::Push => "jumpcloud_protect",
        Mfa::Totp => "totp",
    }
}

/// One entry of `changes`.
pub(crate) fn change(field: &str, from: Value, to: Value) -> Value {
    json!({"field": field, "from": from, "to": to})
}

/// A `changes` entry for a newly set field (no `from`).
pub(crate) fn set(field: &str, to: Value) -> Value {
    json!({"field": field, "to": to})
}
