//! A small builder for Directory Insights events in the real schema (the shapes of the public
//! samples: `initiated_by`, `geoip`, `useragent`, `changes`, `auth_context`, RADIUS `outer` and
//! `auth_meta`), used by the rules' own examples and by tests.
//!
//! ```
//! use jcwatch_rules::fixtures::{Timeline, user_login, PARIS};
//!
//! let mut day = Timeline::new("doc", "2024-05-06T08:00:00Z");
//! day.push(user_login("jane.doe").from(&PARIS));
//! day.wait("5m").push(user_login("jane.doe").from(&PARIS).ok(false));
//! assert_eq!(day.events().len(), 2);
//! ```

use chrono::{DateTime, SecondsFormat, Utc};
use jcwatch_model::Event;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The organisation id every fixture uses.
pub const ORG: &str = "641b3db57090821c0b2f8183";

/// A place with an address in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub city: &'static str,
    pub region: &'static str,
    pub region_code: &'static str,
    pub country: &'static str,
    pub continent: &'static str,
    pub timezone: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub ip: &'static str,
}

macro_rules! places {
    ($($name:ident = $city:literal, $region:literal, $rc:literal, $country:literal, $cont:literal, $tz:literal, $lat:literal, $lon:literal, $ip:literal;)+) => {
        $(pub const $name: Place = Place { city: $city, region: $region, region_code: $rc, country: $country, continent: $cont, timezone: $tz, lat: $lat, lon: $lon, ip: $ip };)+
        /// Every named place.
        pub const PLACES: &[Place] = &[$($name),+];
    };
}

places! {
    PARIS = "Paris", "Île-de-France", "IDF", "FR", "EU", "Europe/Paris", 48.8566, 2.3522, "82.64.10.21";
    LYON = "Lyon", "Auvergne-Rhône-Alpes", "ARA", "FR", "EU", "Europe/Paris", 45.7640, 4.8357, "90.12.40.7";
    LONDON = "London", "England", "ENG", "GB", "EU", "Europe/London", 51.5072, -0.1276, "81.2.69.144";
    DUBLIN = "Dublin", "Leinster", "L", "IE", "EU", "Europe/Dublin", 53.3379, -6.2591, "37.228.200.10";
    BERLIN = "Berlin", "Berlin", "BE", "DE", "EU", "Europe/Berlin", 52.5200, 13.4050, "91.64.17.3";
    MADRID = "Madrid", "Madrid", "MD", "ES", "EU", "Europe/Madrid", 40.4168, -3.7038, "88.26.240.9";
    NEW_YORK = "New York", "New York", "NY", "US", "NA", "America/New_York", 40.7128, -74.0060, "72.229.28.185";
    BOSTON = "Boston", "Massachusetts", "MA", "US", "NA", "America/New_York", 42.3601, -71.0589, "73.38.140.22";
    SAN_FRANCISCO = "San Francisco", "California", "CA", "US", "NA", "America/Los_Angeles", 37.7749, -122.4194, "104.132.11.60";
    TORONTO = "Toronto", "Ontario", "ON", "CA", "NA", "America/Toronto", 43.6532, -79.3832, "99.228.11.8";
    MOSCOW = "Moscow", "Moscow", "MOW", "RU", "EU", "Europe/Moscow", 55.7558, 37.6173, "95.165.133.7";
    SAO_PAULO = "São Paulo", "São Paulo", "SP", "BR", "SA", "America/Sao_Paulo", -23.5505, -46.6333, "177.73.12.40";
    LAGOS = "Lagos", "Lagos", "LA", "NG", "AF", "Africa/Lagos", 6.5244, 3.3792, "105.112.66.3";
    SINGAPORE = "Singapore", "Singapore", "SG", "SG", "AS", "Asia/Singapore", 1.3521, 103.8198, "116.87.20.5";
    TOKYO = "Tokyo", "Tokyo", "13", "JP", "AS", "Asia/Tokyo", 35.6762, 139.6503, "126.210.30.12";
    HANOI = "Hanoi", "Hanoi", "HN", "VN", "AS", "Asia/Ho_Chi_Minh", 21.0278, 105.8342, "113.160.5.71";
    FRANKFURT_DC = "Frankfurt am Main", "Hesse", "HE", "DE", "EU", "Europe/Berlin", 50.1109, 8.6821, "3.120.45.201";
    ASHBURN_DC = "Ashburn", "Virginia", "VA", "US", "NA", "America/New_York", 39.0438, -77.4874, "54.210.77.14";
}

impl Place {
    /// The same place reached from another address.
    pub fn via(&self, ip: &'static str) -> Place {
        Place { ip, ..*self }
    }
}

/// A user agent as Directory Insights records it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ua {
    pub name: &'static str,
    pub version: &'static str,
    pub os: &'static str,
    pub os_version: &'static str,
    pub device: &'static str,
}

pub const CHROME_MAC: Ua = Ua {
    name: "Chrome",
    version: "124.0.0.0",
    os: "Mac OS X",
    os_version: "14.4",
    device: "Mac",
};
pub const FIREFOX_WINDOWS: Ua = Ua {
    name: "Firefox",
    version: "125.0",
    os: "Windows",
    os_version: "10",
    device: "Other",
};
pub const EDGE_WINDOWS: Ua = Ua {
    name: "Edge",
    version: "124.0.2478.51",
    os: "Windows",
    os_version: "10",
    device: "Other",
};
pub const SAFARI_IPHONE: Ua = Ua {
    name: "Mobile Safari",
    version: "17.4",
    os: "iOS",
    os_version: "17.4",
    device: "iPhone",
};
pub const CURL: Ua = Ua {
    name: "curl",
    version: "8.5.0",
    os: "Other",
    os_version: "",
    device: "Other",
};
pub const PYTHON_REQUESTS: Ua = Ua {
    name: "Python Requests",
    version: "2.31",
    os: "Other",
    os_version: "",
    device: "Other",
};
pub const GO_CLIENT: Ua = Ua {
    name: "Go-http-client",
    version: "1.1",
    os: "Linux",
    os_version: "",
    device: "Other",
};

/// A stable, realistic-looking object id for a name.
pub fn object_id(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    hex::encode(&digest[..12])
}

/// One event under construction.
#[derive(Debug, Clone, PartialEq)]
pub struct Ev {
    raw: Map<String, Value>,
}

impl Ev {
    /// An event of a type and service, in the fixture organisation.
    pub fn new(event_type: &str, service: &str) -> Ev {
        let mut raw = Map::new();
        raw.insert("@version".into(), json!("1"));
        raw.insert("event_type".into(), json!(event_type));
        raw.insert("service".into(), json!(service));
        raw.insert("organization".into(), json!(ORG));
        raw.insert("provider".into(), Value::Null);
        Ev { raw }
    }

    /// Sets a field by dotted path, creating objects on the way.
    pub fn set(mut self, path: &str, value: Value) -> Ev {
        let mut parts: Vec<&str> = path.split('.').collect();
        let last = parts.pop().unwrap_or(path);
        let mut current = &mut self.raw;
        for part in parts {
            let entry = current.entry(part.to_string()).or_insert_with(|| json!({}));
            if !entry.is_object() {
                *entry = json!({});
            }
            current = entry.as_object_mut().expect("just made an object");
        }
        current.insert(last.to_string(), value);
        self
    }

    /// Removes a top-level field.
    pub fn without(mut self, key: &str) -> Ev {
        self.raw.remove(key);
        self
    }

    pub fn by_user(self, username: &str) -> Ev {
        self.set(
            "initiated_by",
            json!({"id": object_id(username), "type": "user", "username": username}),
        )
    }

    pub fn by_admin(self, email: &str) -> Ev {
        self.set(
            "initiated_by",
            json!({"id": object_id(email), "type": "admin", "email": email}),
        )
    }

    /// Marks the actor as provisioning automation (`initiated_by.source`).
    pub fn source(self, source: &str) -> Ev {
        self.set("initiated_by.source", json!(source))
    }

    pub fn from(self, place: &Place) -> Ev {
        self.set("client_ip", json!(place.ip)).set(
            "geoip",
            json!({
                "country_code": place.country, "region_name": place.region,
                "region_code": place.region_code, "continent_code": place.continent,
                "timezone": place.timezone, "latitude": place.lat, "longitude": place.lon
            }),
        )
    }

    /// An address without a `geoip` block.
    pub fn from_ip(self, ip: &str) -> Ev {
        self.set("client_ip", json!(ip))
    }

    pub fn ua(self, ua: &Ua) -> Ev {
        let os_full = if ua.os_version.is_empty() {
            ua.os.to_string()
        } else {
            format!("{} {}", ua.os, ua.os_version)
        };
        self.set(
            "useragent",
            json!({"name": ua.name, "version": ua.version, "os": ua.os, "os_name": ua.os,
                   "os_full": os_full, "os_version": ua.os_version, "device": ua.device}),
        )
    }

    pub fn ok(self, success: bool) -> Ev {
        self.set("success", json!(success))
    }

    pub fn mfa(self, used: bool) -> Ev {
        self.set("mfa", json!(used))
    }

    pub fn error(self, message: &str) -> Ev {
        self.set("error_message", json!(message))
    }

    pub fn on_user(self, username: &str) -> Ev {
        self.set(
            "resource",
            json!({"id": object_id(username), "type": "user", "username": username}),
        )
    }

    pub fn on_admin(self, email: &str) -> Ev {
        self.set(
            "resource",
            json!({"id": object_id(email), "type": "admin", "email": email}),
        )
    }

    /// A named object (`policy`, `application`, `command`, ...).
    pub fn on(self, kind: &str, name: &str) -> Ev {
        self.set(
            "resource",
            json!({"id": object_id(name), "type": kind, "name": name}),
        )
    }

    /// Appends a `changes` entry; `from: None` leaves `from` out, as creations do.
    pub fn change(mut self, field: &str, from: Option<Value>, to: Value) -> Ev {
        let mut entry = Map::new();
        entry.insert("field".into(), json!(field));
        if let Some(from) = from {
            entry.insert("from".into(), from);
        }
        entry.insert("to".into(), to);
        let changes = self.raw.entry("changes").or_insert_with(|| json!([]));
        if let Some(list) = changes.as_array_mut() {
            list.push(Value::Object(entry));
        }
        self
    }

    pub fn api_key(self) -> Ev {
        self.set("auth_method", json!("api key"))
    }

    pub fn session(self) -> Ev {
        self.set("auth_method", json!("session"))
    }

    /// The event without id and timestamp (a [`Timeline`] adds them).
    pub fn into_value(self) -> Value {
        Value::Object(self.raw)
    }
}

fn auth_methods(password: bool, second: Option<(&str, bool)>) -> Value {
    let mut methods = Map::new();
    methods.insert("password".into(), json!({"success": password}));
    if let Some((name, ok)) = second {
        methods.insert(name.into(), json!({"success": ok}));
    }
    Value::Object(methods)
}

/// A successful user-portal login with TOTP.
pub fn user_login(user: &str) -> Ev {
    Ev::new("user_login_attempt", "directory")
        .by_user(user)
        .from(&PARIS)
        .ua(&CHROME_MAC)
        .ok(true)
        .mfa(true)
        .set("mfa_meta", json!({"type": "totp"}))
        .set(
            "auth_context.auth_methods",
            auth_methods(true, Some(("totp", true))),
        )
}

/// A user-portal login with a wrong password.
pub fn user_login_failed(user: &str) -> Ev {
    Ev::new("user_login_attempt", "directory")
        .by_user(user)
        .from(&PARIS)
        .ua(&CHROME_MAC)
        .ok(false)
        .mfa(false)
        .error("invalid credentials")
        .set("auth_context.auth_methods", auth_methods(false, None))
}

/// A user-portal login answered (or not) on a JumpCloud Protect push.
pub fn push_login(user: &str, accepted: bool) -> Ev {
    let ev = Ev::new("user_login_attempt", "directory")
        .by_user(user)
        .from(&PARIS)
        .ua(&CHROME_MAC)
        .ok(accepted)
        .mfa(true)
        .set("mfa_meta", json!({"type": "jumpcloud_protect"}))
        .set(
            "auth_context.auth_methods",
            auth_methods(true, Some(("jumpcloud_protect", accepted))),
        );
    if accepted {
        ev
    } else {
        ev.error("push notification denied")
    }
}

/// A successful admin-console login with TOTP.
pub fn admin_login(email: &str) -> Ev {
    Ev::new("admin_login_attempt", "directory")
        .by_admin(email)
        .from(&PARIS)
        .ua(&CHROME_MAC)
        .ok(true)
        .mfa(true)
        .set("mfa_meta", json!({"type": "totp"}))
}

/// A successful SSO login to an application (the session already passed MFA at the portal).
pub fn sso(user: &str, app: &str) -> Ev {
    let name = app.to_lowercase().replace(' ', "");
    Ev::new("sso_auth", "sso")
        .by_user(user)
        .from(&PARIS)
        .ua(&CHROME_MAC)
        .set("sso_token_success", json!(true))
        .error("")
        .mfa(false)
        .set("idp_initiated", json!(false))
        .set(
            "application",
            json!({"id": object_id(app), "name": name, "display_label": app, "sso_type": "saml",
                   "sso_url": format!("https://sso.jumpcloud.com/saml2/{name}")}),
        )
        .set("auth_context", json!({"auth_methods": {}, "policies_applied": [
            {"id": "", "name": "Global Policy", "metadata": {"action": "ALLOW", "resource_type": "APPLICATION"}}]}))
}

/// A failed SSO login (`sso_token_success = false` with an error).
pub fn sso_failed(user: &str, app: &str, error: &str) -> Ev {
    sso(user, app)
        .set("sso_token_success", json!(false))
        .error(error)
}

/// A successful Wi-Fi (RADIUS, PEAP/MSCHAPv2) authentication, without MFA as Wi-Fi usually is.
pub fn radius(user: &str) -> Ev {
    Ev::new("radius_auth_attempt", "radius")
        .set("initiated_by", json!({"type": "user", "username": user}))
        .set("username", json!(user))
        .from(&PARIS)
        .ok(true)
        .mfa(false)
        .set("mfa_meta", json!({"type": "none"}))
        .set("auth_type", json!("eap"))
        .set("eap_type", json!("MSCHAPv2"))
        .set("nas_mfa_state", json!("DISABLED"))
        .set(
            "outer",
            json!({"eap_type": "PEAP", "username": user, "error_message": null}),
        )
        .set(
            "auth_meta",
            json!({"user_password_enabled": true, "device_cert_enabled": false,
            "user_cert_enabled": false, "auth_idp": "JUMPCLOUD", "userid_type": "USERNAME"}),
        )
        .set("error_message", Value::Null)
}

/// A RADIUS authentication with a wrong password.
pub fn radius_failed(user: &str) -> Ev {
    radius(user)
        .ok(false)
        .error("mschap: MS-CHAP2-Response is incorrect")
}

/// A successful LDAP bind.
pub fn ldap_bind(user: &str) -> Ev {
    Ev::new("ldap_bind", "ldap")
        .set("initiated_by", json!({"type": "user", "username": user}))
        .set("username", json!(user))
        .set(
            "dn",
            json!(format!("uid={user},ou=Users,o={ORG},dc=jumpcloud,dc=com")),
        )
        .set("auth_method", json!("simple"))
        .set("mech", json!("simple"))
        .set("start_tls", json!(true))
        .set("tls_established", json!(true))
        .from(&PARIS)
        .ok(true)
}

/// A login on a managed device (SSH on Linux).
pub fn device_login(user: &str, host: &str) -> Ev {
    Ev::new("login_attempt", "systems")
        .set(
            "system",
            json!({"id": object_id(host), "hostname": host, "displayName": host}),
        )
        .set("username", json!(user))
        .set("process_name", json!("sshd"))
        .set(
            "message",
            json!(format!("User {user} logged in, process name: sshd")),
        )
        .from(&PARIS)
        .ok(true)
}

/// A change made by an admin in the console.
pub fn admin_change(event_type: &str, admin: &str) -> Ev {
    Ev::new(event_type, "directory")
        .by_admin(admin)
        .from(&PARIS)
        .ua(&CHROME_MAC)
        .ok(true)
        .session()
}

/// An attempt to use an admin's rotated or expired API key.
pub fn old_api_key_attempt(admin: &str) -> Ev {
    Ev::new("admin_old_api_key_attempt", "directory")
        .by_admin(admin)
        .from(&PARIS)
        .ua(&CURL)
        .ok(false)
}

/// Events placed in time with ids, the way Directory Insights would return them.
#[derive(Debug, Clone)]
pub struct Timeline {
    tag: u32,
    now: DateTime<Utc>,
    next: u64,
    events: Vec<Value>,
}

impl Timeline {
    /// A timeline starting at an RFC 3339 time; `tag` keeps its ids apart from other
    /// timelines'.
    pub fn new(tag: &str, start: &str) -> Timeline {
        let digest = Sha256::digest(tag.as_bytes());
        Timeline {
            tag: u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]),
            now: jcwatch_model::time::parse_timestamp(start).unwrap_or_default(),
            next: 0,
            events: Vec::new(),
        }
    }

    /// Moves the clock forward by a duration written like `90s`, `10m`, `3h`, `2d`.
    pub fn wait(&mut self, duration: &str) -> &mut Timeline {
        let d = jcwatch_model::time::parse_duration(duration).unwrap_or_default();
        self.now += chrono::TimeDelta::from_std(d).unwrap_or_default();
        self
    }

    /// Moves the clock to a time.
    pub fn at(&mut self, time: &str) -> &mut Timeline {
        if let Ok(t) = jcwatch_model::time::parse_timestamp(time) {
            self.now = t;
        }
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Adds an event at the current time.
    pub fn push(&mut self, ev: Ev) -> &mut Timeline {
        let id = format!("{:08x}{:016x}", self.tag, self.next);
        self.next += 1;
        let ev = ev.set("id", json!(id)).set(
            "timestamp",
            json!(self.now.to_rfc3339_opts(SecondsFormat::Millis, true)),
        );
        self.events.push(ev.into_value());
        self
    }

    /// Adds several events a fixed interval apart.
    pub fn repeat(
        &mut self,
        times: usize,
        every: &str,
        make: impl Fn(usize) -> Ev,
    ) -> &mut Timeline {
        for i in 0..times {
            if i > 0 {
                self.wait(every);
            }
            self.push(make(i));
        }
        self
    }

    pub fn events(&self) -> Vec<Value> {
        self.events.clone()
    }

    /// The events parsed (they always parse: the builder writes id and timestamp).
    pub fn parsed(&self) -> Vec<Event> {
        parse_all(&self.events)
    }
}

/// Parses fixture events, skipping any that do not parse (there are none by construction).
pub fn parse_all(values: &[Value]) -> Vec<Event> {
    values
        .iter()
        .filter_map(|v| Event::from_value(v.clone()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_events_parse_with_the_model_and_keep_the_sample_shapes() {
        let mut t = Timeline::new("t", "2024-05-06T09:00:00Z");
        t.push(radius_failed("jane.doe"));
        t.wait("1m")
            .push(sso_failed("jane.doe", "Salesforce", "not authorized"));

        let events = t.parsed();

        assert_eq!(events.len(), 2);
        assert_eq!(events[0].kind(), "radius_auth_attempt");
        assert_eq!(
            events[0].error_message.as_deref(),
            Some("mschap: MS-CHAP2-Response is incorrect")
        );
        assert_eq!(events[1].sso_token_success, Some(false));
        assert_ne!(events[0].id, events[1].id);
        assert_eq!(
            (events[1].timestamp - events[0].timestamp).num_seconds(),
            60
        );
    }
}
