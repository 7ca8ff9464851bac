//! Realistic Directory Insights events in the real schema (field names, nesting and value
//! shapes as JumpCloud sends them), for tests and the demo.
//!
//! Each helper returns the event as a `serde_json::Value`; change any field afterwards to
//! make a variant (`event["mfa"] = json!(false)`). Event ids are unique within the process.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, DurationRound, Utc};
use jcwatch_model::time::format_timestamp;
use serde_json::{Map, Value, json};

use crate::ids::mix;

static NEXT_EVENT: AtomicU64 = AtomicU64::new(1);

/// Where a request came from: the address and what GeoIP says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub ip: String,
    pub country_code: String,
    pub region_name: String,
    pub region_code: String,
    pub continent_code: String,
    pub timezone: String,
    pub latitude: f64,
    pub longitude: f64,
}

impl Place {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ip: &str,
        country_code: &str,
        region_name: &str,
        region_code: &str,
        continent_code: &str,
        timezone: &str,
        latitude: f64,
        longitude: f64,
    ) -> Self {
        Self {
            ip: ip.to_owned(),
            country_code: country_code.to_owned(),
            region_name: region_name.to_owned(),
            region_code: region_code.to_owned(),
            continent_code: continent_code.to_owned(),
            timezone: timezone.to_owned(),
            latitude,
            longitude,
        }
    }

    // The addresses are from the documentation ranges (RFC 5737), so no real host is named.

    pub fn paris() -> Self {
        Self::new(
            "192.0.2.10",
            "FR",
            "Paris",
            "75",
            "EU",
            "Europe/Paris",
            48.8323,
            2.4075,
        )
    }

    pub fn boston() -> Self {
        Self::new(
            "192.0.2.20",
            "US",
            "Massachusetts",
            "MA",
            "NA",
            "America/New_York",
            42.3364,
            -71.0326,
        )
    }

    pub fn dublin() -> Self {
        Self::new(
            "198.51.100.7",
            "IE",
            "Leinster",
            "L",
            "EU",
            "Europe/Dublin",
            53.3379,
            -6.2591,
        )
    }

    pub fn sydney() -> Self {
        Self::new(
            "198.51.100.80",
            "AU",
            "New South Wales",
            "NSW",
            "OC",
            "Australia/Sydney",
            -33.8688,
            151.2093,
        )
    }

    pub fn lagos() -> Self {
        Self::new(
            "203.0.113.45",
            "NG",
            "Lagos",
            "LA",
            "AF",
            "Africa/Lagos",
            6.4541,
            3.3947,
        )
    }

    fn geoip(&self) -> Value {
        json!({
            "country_code": self.country_code,
            "timezone": self.timezone,
            "latitude": self.latitude,
            "continent_code": self.continent_code,
            "region_name": self.region_name,
            "longitude": self.longitude,
            "region_code": self.region_code,
        })
    }
}

/// A browser or tool as the `useragent` object describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Browser {
    pub name: String,
    pub version: String,
    pub os: String,
    pub os_version: String,
    pub device: String,
}

impl Browser {
    pub fn chrome_on_mac() -> Self {
        Self {
            name: "Chrome".to_owned(),
            version: "124.0.0.0".to_owned(),
            os: "Mac OS X".to_owned(),
            os_version: "10.15.7".to_owned(),
            device: "Mac".to_owned(),
        }
    }

    pub fn firefox_on_windows() -> Self {
        Self {
            name: "Firefox".to_owned(),
            version: "125.0".to_owned(),
            os: "Windows".to_owned(),
            os_version: "10".to_owned(),
            device: "Other".to_owned(),
        }
    }

    pub fn curl() -> Self {
        Self {
            name: "curl".to_owned(),
            version: "8.5.0".to_owned(),
            os: "Other".to_owned(),
            os_version: String::new(),
            device: "Other".to_owned(),
        }
    }

    fn useragent(&self) -> Value {
        let mut version = self.version.split('.');
        let major = version.next().unwrap_or_default();
        let minor = version.next().unwrap_or("0");
        let mut ua = json!({
            "name": self.name,
            "version": self.version,
            "major": major,
            "minor": minor,
            "os": self.os,
            "os_name": self.os,
            "os_full": format!("{} {}", self.os, self.os_version).trim().to_owned(),
            "device": self.device,
        });
        if !self.os_version.is_empty() {
            ua["os_version"] = json!(self.os_version);
            let mut os = self.os_version.split('.');
            ua["os_major"] = json!(os.next().unwrap_or_default());
            if let Some(os_minor) = os.next() {
                ua["os_minor"] = json!(os_minor);
            }
        }
        ua
    }
}

/// A user or administrator of the organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub username: String,
    pub email: String,
}

impl Person {
    /// `username` at `domain`, with a stable object id derived from the name.
    pub fn new(username: &str, domain: &str) -> Self {
        let hash = username.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Self {
            id: format!("{:08x}{:016x}", (hash >> 32) as u32, mix(hash)),
            username: username.to_owned(),
            email: format!("{username}@{domain}"),
        }
    }

    fn as_user(&self) -> Value {
        json!({"id": self.id, "type": "user", "username": self.username})
    }

    fn as_admin(&self) -> Value {
        json!({"id": self.id, "type": "admin", "email": self.email})
    }
}

/// One `changes` entry: a field with its value before and after.
pub fn change(field: &str, from: Value, to: Value) -> Value {
    json!({"field": field, "from": from, "to": to})
}

/// Makes events for one organisation.
#[derive(Debug, Clone)]
pub struct EventFactory {
    org_id: String,
    browser: Browser,
}

impl EventFactory {
    pub fn new(org_id: impl Into<String>) -> Self {
        Self {
            org_id: org_id.into(),
            browser: Browser::chrome_on_mac(),
        }
    }

    /// The browser put in `useragent` from now on.
    pub fn with_browser(mut self, browser: Browser) -> Self {
        self.browser = browser;
        self
    }

    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// The fields every event carries.
    fn envelope(
        &self,
        event_type: &str,
        service: &str,
        at: DateTime<Utc>,
        place: &Place,
    ) -> Map<String, Value> {
        let mut event = Map::new();
        event.insert("id".to_owned(), json!(object_id(at)));
        event.insert("event_type".to_owned(), json!(event_type));
        event.insert("service".to_owned(), json!(service));
        event.insert("organization".to_owned(), json!(self.org_id));
        event.insert("timestamp".to_owned(), json!(format_timestamp(at)));
        event.insert("client_ip".to_owned(), json!(place.ip));
        event.insert("geoip".to_owned(), place.geoip());
        event.insert("@version".to_owned(), json!("1"));
        event
    }

    /// A user portal login (`user_login_attempt`, service `directory`).
    pub fn user_login_attempt(
        &self,
        at: DateTime<Utc>,
        user: &Person,
        place: &Place,
        success: bool,
    ) -> Value {
        let mut event = self.envelope("user_login_attempt", "directory", at, place);
        event.insert("initiated_by".to_owned(), user.as_user());
        event.insert("username".to_owned(), json!(user.username));
        event.insert("success".to_owned(), json!(success));
        event.insert("mfa".to_owned(), json!(success));
        event.insert(
            "mfa_meta".to_owned(),
            json!({"type": if success { "totp" } else { "" }}),
        );
        event.insert(
            "error_message".to_owned(),
            json!(if success { "" } else { "invalid credentials" }),
        );
        event.insert("useragent".to_owned(), self.browser.useragent());
        event.insert("provider".to_owned(), Value::Null);
        Value::Object(event)
    }

    /// An admin console login (`admin_login_attempt`).
    pub fn admin_login_attempt(
        &self,
        at: DateTime<Utc>,
        admin: &Person,
        place: &Place,
        success: bool,
        mfa: bool,
    ) -> Value {
        let mut event = self.envelope("admin_login_attempt", "directory", at, place);
        event.insert("initiated_by".to_owned(), admin.as_admin());
        event.insert("success".to_owned(), json!(success));
        event.insert("mfa".to_owned(), json!(mfa));
        event.insert("useragent".to_owned(), self.browser.useragent());
        event.insert("provider".to_owned(), Value::Null);
        Value::Object(event)
    }

    /// An SSO login to an application (`sso_auth`): success is `sso_token_success`, with an
    /// `error_message` on failure; `success` is absent, as in the real events.
    pub fn sso_auth(
        &self,
        at: DateTime<Utc>,
        user: &Person,
        app: &str,
        place: &Place,
        success: bool,
    ) -> Value {
        let name = app.to_ascii_lowercase().replace(' ', "");
        let mut event = self.envelope("sso_auth", "sso", at, place);
        event.insert("initiated_by".to_owned(), user.as_user());
        event.insert("sso_token_success".to_owned(), json!(success));
        event.insert(
            "error_message".to_owned(),
            json!(if success { "" } else { "not authorized" }),
        );
        event.insert("idp_initiated".to_owned(), json!(false));
        event.insert("mfa".to_owned(), json!(false));
        event.insert(
            "application".to_owned(),
            json!({
                "display_label": app,
                "sso_type": "saml",
                "name": name,
                "id": object_id(at),
                "sso_url": format!("https://sso.jumpcloud.com/saml2/{name}"),
            }),
        );
        event.insert(
            "auth_context".to_owned(),
            json!({
                "auth_methods": {},
                "policies_applied": [{
                    "metadata": {"resource_type": "APPLICATION", "action": "ALLOW"},
                    "name": "Global Policy",
                    "id": "",
                }],
            }),
        );
        event.insert("useragent".to_owned(), self.browser.useragent());
        event.insert("provider".to_owned(), json!(""));
        Value::Object(event)
    }

    /// A RADIUS (Wi-Fi, VPN) login (`radius_auth_attempt`, service `radius`).
    pub fn radius_auth_attempt(
        &self,
        at: DateTime<Utc>,
        user: &Person,
        place: &Place,
        success: bool,
    ) -> Value {
        let mut event = self.envelope("radius_auth_attempt", "radius", at, place);
        event.insert("id".to_owned(), json!(uuid_id(at)));
        event.insert(
            "initiated_by".to_owned(),
            json!({"type": "user", "username": user.username}),
        );
        event.insert("username".to_owned(), json!(user.username));
        event.insert("success".to_owned(), json!(success));
        event.insert("mfa".to_owned(), json!(false));
        event.insert("auth_type".to_owned(), json!("eap"));
        event.insert("eap_type".to_owned(), json!("MSCHAPv2"));
        event.insert("nas_mfa_state".to_owned(), json!("DISABLED"));
        event.insert(
            "outer".to_owned(),
            json!({"eap_type": "PEAP", "username": user.username}),
        );
        event.insert(
            "auth_meta".to_owned(),
            json!({
                "user_password_enabled": true,
                "device_cert_enabled": false,
                "user_cert_enabled": false,
                "auth_idp": "JUMPCLOUD",
                "userid_type": "USERNAME",
            }),
        );
        if !success {
            event.insert(
                "error_message".to_owned(),
                json!("mschap: MS-CHAP2-Response is incorrect"),
            );
        }
        Value::Object(event)
    }

    /// A login on a managed device (`login_attempt`, service `systems`).
    pub fn system_login_attempt(
        &self,
        at: DateTime<Utc>,
        user: &Person,
        hostname: &str,
        place: &Place,
        success: bool,
    ) -> Value {
        let mut event = self.envelope("login_attempt", "systems", at, place);
        event.insert("initiated_by".to_owned(), user.as_user());
        event.insert("username".to_owned(), json!(user.username));
        event.insert("success".to_owned(), json!(success));
        event.insert(
            "system".to_owned(),
            json!({"id": object_id(at), "hostname": hostname, "displayName": hostname}),
        );
        Value::Object(event)
    }

    /// An administrator's change to a user (`user_update` with `changes`).
    pub fn user_update(
        &self,
        at: DateTime<Utc>,
        admin: &Person,
        user: &Person,
        place: &Place,
        changes: Vec<Value>,
    ) -> Value {
        self.directory_change(
            at,
            admin,
            place,
            "user_update",
            json!({"id": user.id, "type": "user", "username": user.username}),
            changes,
        )
    }

    /// Any directory change by an administrator (`group_update`, `authnpolicy_delete`,
    /// `organization_update`, ...): the resource changed and the `changes` list.
    pub fn directory_change(
        &self,
        at: DateTime<Utc>,
        admin: &Person,
        place: &Place,
        event_type: &str,
        resource: Value,
        changes: Vec<Value>,
    ) -> Value {
        let mut event = self.envelope(event_type, "directory", at, place);
        event.insert("initiated_by".to_owned(), admin.as_admin());
        event.insert("resource".to_owned(), resource);
        if !changes.is_empty() {
            event.insert("changes".to_owned(), Value::Array(changes));
        }
        event.insert("auth_method".to_owned(), json!("session"));
        event.insert("success".to_owned(), json!(true));
        event.insert("useragent".to_owned(), self.browser.useragent());
        event.insert("provider".to_owned(), Value::Null);
        Value::Object(event)
    }

    /// A user locked out after too many failed logins (`user_lockout`).
    pub fn user_lockout(&self, at: DateTime<Utc>, user: &Person, place: &Place) -> Value {
        let mut event = self.envelope("user_lockout", "directory", at, place);
        event.insert("initiated_by".to_owned(), user.as_user());
        event.insert(
            "resource".to_owned(),
            json!({"id": user.id, "type": "user", "username": user.username}),
        );
        Value::Object(event)
    }

    /// A request made with an administrator's old (rotated or expired) API key.
    pub fn admin_old_api_key_attempt(
        &self,
        at: DateTime<Utc>,
        admin: &Person,
        place: &Place,
    ) -> Value {
        let mut event = self.envelope("admin_old_api_key_attempt", "directory", at, place);
        event.insert("initiated_by".to_owned(), admin.as_admin());
        event.insert("auth_method".to_owned(), json!("api key"));
        event.insert("success".to_owned(), json!(false));
        event.insert("useragent".to_owned(), Browser::curl().useragent());
        Value::Object(event)
    }

    /// `count` SSO logins all stamped with the same millisecond (the one `at` falls in),
    /// from different users: the case that breaks paging on the timestamp alone.
    pub fn same_millisecond(&self, at: DateTime<Utc>, count: usize) -> Vec<Value> {
        let at = at.duration_trunc(Duration::milliseconds(1)).unwrap_or(at);
        (0..count)
            .map(|i| {
                let user = Person::new(&format!("user{i:04}"), "example.com");
                self.sso_auth(at, &user, "Slack", &Place::boston(), i % 7 != 3)
            })
            .collect()
    }

    /// `count` ordinary events (user, SSO, RADIUS and admin logins, a few failures) from
    /// `start`, one every `spacing`.
    pub fn ordinary_activity(
        &self,
        start: DateTime<Utc>,
        count: usize,
        spacing: Duration,
    ) -> Vec<Value> {
        let places = [Place::boston(), Place::paris(), Place::dublin()];
        let admin = Person::new("it.admin", "example.com");
        (0..count)
            .map(|i| {
                let at = start + spacing * i32::try_from(i).unwrap_or(i32::MAX);
                let user = Person::new(&format!("staff{:03}", i % 40), "example.com");
                let place = &places[i % places.len()];
                let success = i % 11 != 5;
                match i % 5 {
                    0 => self.user_login_attempt(at, &user, place, success),
                    1 => self.sso_auth(at, &user, "Google Workspace", place, success),
                    2 => self.radius_auth_attempt(at, &user, place, success),
                    3 => self.system_login_attempt(at, &user, "STAFF-LAPTOP", place, success),
                    _ => self.admin_login_attempt(at, &admin, &places[0], true, true),
                }
            })
            .collect()
    }
}

fn next_event_number() -> u64 {
    NEXT_EVENT.fetch_add(1, Ordering::Relaxed)
}

/// A 24-hex-digit object id whose first 8 digits are the epoch seconds, like MongoDB's.
fn object_id(at: DateTime<Utc>) -> String {
    let seconds = u32::try_from(at.timestamp().max(0)).unwrap_or(u32::MAX);
    format!("{seconds:08x}{:016x}", mix(next_event_number()))
}

/// An upper-case UUID-shaped id, as RADIUS events carry.
fn uuid_id(at: DateTime<Utc>) -> String {
    let a = mix(next_event_number());
    let b = mix(a ^ at.timestamp_millis() as u64);
    format!(
        "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use jcwatch_model::Event;
    use jcwatch_model::time::parse_timestamp;

    fn at() -> DateTime<Utc> {
        parse_timestamp("2026-01-26T09:00:00.123456Z").unwrap()
    }

    #[test]
    fn every_helper_makes_an_event_the_model_reads_with_actor_and_kind() {
        let factory = EventFactory::new("5bf6defbdcd8233029e0c598");
        let user = Person::new("jane.doe", "example.com");
        let admin = Person::new("it.admin", "example.com");
        let place = Place::paris();

        let events = [
            factory.user_login_attempt(at(), &user, &place, false),
            factory.admin_login_attempt(at(), &admin, &place, true, false),
            factory.sso_auth(at(), &user, "Salesforce", &place, true),
            factory.radius_auth_attempt(at(), &user, &place, false),
            factory.system_login_attempt(at(), &user, "JDOE-MAC", &place, true),
            factory.user_update(
                at(),
                &admin,
                &user,
                &place,
                vec![change("suspended", json!(false), json!(true))],
            ),
            factory.user_lockout(at(), &user, &place),
            factory.admin_old_api_key_attempt(at(), &admin, &place),
        ];

        for value in events {
            let event = Event::from_value(value.clone()).unwrap();
            assert!(event.actor().is_some(), "{value}");
            assert_eq!(
                event.field_str("organization").as_deref(),
                Some("5bf6defbdcd8233029e0c598")
            );
            assert_eq!(event.field_str("geoip.country_code").as_deref(), Some("FR"));
        }
    }

    #[test]
    fn sso_events_report_success_the_way_the_real_ones_do() {
        let factory = EventFactory::new("org");
        let user = Person::new("jane.doe", "example.com");

        let failed = factory.sso_auth(at(), &user, "Zoom", &Place::boston(), false);

        assert_eq!(failed["sso_token_success"], json!(false));
        assert_eq!(failed["error_message"], json!("not authorized"));
        assert!(failed.get("success").is_none());
        assert_eq!(failed["application"]["name"], json!("zoom"));
    }

    #[test]
    fn same_millisecond_events_share_one_timestamp_and_have_distinct_ids() {
        let factory = EventFactory::new("org");

        let events = factory.same_millisecond(at(), 50);

        let stamps: std::collections::HashSet<_> =
            events.iter().map(|e| e["timestamp"].clone()).collect();
        let ids: std::collections::HashSet<_> = events.iter().map(|e| e["id"].clone()).collect();
        assert_eq!(stamps.len(), 1);
        assert_eq!(
            stamps.into_iter().next().unwrap(),
            json!("2026-01-26T09:00:00.123Z")
        );
        assert_eq!(ids.len(), 50);
    }

    #[test]
    fn ordinary_activity_is_spaced_and_mixed() {
        let factory = EventFactory::new("org");

        let events = factory.ordinary_activity(at(), 10, Duration::seconds(30));

        let kinds: std::collections::HashSet<_> = events
            .iter()
            .map(|e| e["event_type"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kinds.len(), 5);
        assert_eq!(events[1]["timestamp"], json!("2026-01-26T09:00:30.123456Z"));
    }

    #[test]
    fn person_ids_are_stable_and_distinct() {
        assert_eq!(Person::new("a", "x.com").id, Person::new("a", "x.com").id);
        assert_ne!(Person::new("a", "x.com").id, Person::new("b", "x.com").id);
        assert_eq!(Person::new("a", "x.com").id.len(), 24);
    }
}
