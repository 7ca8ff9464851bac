//! The Directory Insights event: a typed view of the common envelope over the raw JSON object.
//!
//! The raw object is kept as it arrived and is what serialisation writes back, so an event
//! round-trips unchanged whatever fields JumpCloud adds. The typed fields are read leniently:
//! a missing, null or oddly typed field is `None` ("unknown"), never a parse failure. Only an
//! event without an `id` or a readable `timestamp` is rejected.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::time::parse_timestamp;

/// Why a JSON value could not become an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event is not a JSON object (found {found})")]
    NotAnObject { found: &'static str },
    #[error("event has no `id` (a non-empty string is required)")]
    MissingId,
    #[error("event {id} has no `timestamp`")]
    MissingTimestamp { id: String },
    #[error("event {id} has an unreadable timestamp {value:?}: {reason}")]
    BadTimestamp {
        id: String,
        value: String,
        reason: String,
    },
    #[error("line {line}: {reason}")]
    BadJson { line: usize, reason: String },
}

/// One Directory Insights event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub timestamp: DateTime<Utc>,
    pub event_type: Option<String>,
    pub service: Option<String>,
    pub organization: Option<String>,
    pub client_ip: Option<String>,
    pub geoip: Option<GeoIp>,
    pub initiated_by: Option<Principal>,
    pub resource: Option<Resource>,
    pub changes: Vec<Change>,
    pub useragent: Option<UserAgent>,
    pub success: Option<bool>,
    pub sso_token_success: Option<bool>,
    pub mfa: Option<bool>,
    pub mfa_meta_type: Option<String>,
    pub auth_method: Option<String>,
    pub auth_context: Option<Value>,
    pub association: Option<Value>,
    pub application: Option<Application>,
    pub system: Option<Value>,
    pub error_message: Option<String>,
    /// The event exactly as it arrived; what serialisation writes back.
    raw: Map<String, Value>,
}

/// The `geoip` block. Latitude and longitude arrive as numbers or as strings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeoIp {
    pub country_code: Option<String>,
    pub region_name: Option<String>,
    pub city: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub timezone: Option<String>,
}

/// Who did it (`initiated_by`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Principal {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub email: Option<String>,
    pub username: Option<String>,
    pub source: Option<String>,
    pub administrator: Option<bool>,
}

/// What it was done to (`resource`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub hostname: Option<String>,
}

/// One entry of `changes`: `from` and `to` hold arbitrary JSON and may be absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Value>,
}

/// The parsed user agent (`useragent`, or `user_agent` in some services).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserAgent {
    pub name: Option<String>,
    pub version: Option<String>,
    pub os: Option<String>,
    pub os_full: Option<String>,
    pub device: Option<String>,
}

/// The `application` block of SSO and software events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: Option<String>,
    pub name: Option<String>,
    pub display_label: Option<String>,
    pub sso_type: Option<String>,
}

impl Event {
    /// Builds an event from one JSON value, keeping the value as the raw form.
    pub fn from_value(value: Value) -> Result<Self, EventError> {
        let raw = match value {
            Value::Object(map) => map,
            other => {
                return Err(EventError::NotAnObject {
                    found: json_kind(&other),
                });
            }
        };
        Self::from_map(raw)
    }

    /// Parses one JSON text (one line of a JSON-lines export, for example).
    pub fn from_json(text: &str) -> Result<Self, EventError> {
        let value: Value = serde_json::from_str(text).map_err(|e| EventError::BadJson {
            line: e.line(),
            reason: e.to_string(),
        })?;
        Self::from_value(value)
    }

    fn from_map(raw: Map<String, Value>) -> Result<Self, EventError> {
        let id = match raw.get("id") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(EventError::MissingId),
        };
        let timestamp = match raw.get("timestamp") {
            Some(Value::String(s)) => {
                parse_timestamp(s).map_err(|reason| EventError::BadTimestamp {
                    id: id.clone(),
                    value: s.clone(),
                    reason,
                })?
            }
            Some(Value::Null) | None => return Err(EventError::MissingTimestamp { id }),
            Some(other) => {
                return Err(EventError::BadTimestamp {
                    id,
                    value: other.to_string(),
                    reason: "not a string".into(),
                });
            }
        };

        Ok(Event {
            event_type: string_at(&raw, "event_type").map(|s| s.to_ascii_lowercase()),
            service: string_at(&raw, "service").map(|s| s.to_ascii_lowercase()),
            organization: string_at(&raw, "organization"),
            client_ip: string_at(&raw, "client_ip").or_else(|| string_at(&raw, "src_ip")),
            geoip: raw.get("geoip").and_then(geoip_from),
            initiated_by: lenient(raw.get("initiated_by")),
            resource: raw.get("resource").and_then(resource_from),
            changes: changes_from(raw.get("changes")),
            useragent: lenient(raw.get("useragent")).or_else(|| lenient(raw.get("user_agent"))),
            success: bool_at(&raw, "success"),
            sso_token_success: bool_at(&raw, "sso_token_success"),
            mfa: bool_at(&raw, "mfa"),
            mfa_meta_type: raw
                .get("mfa_meta")
                .and_then(|m| m.get("type"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_ascii_lowercase),
            auth_method: string_at(&raw, "auth_method").map(|s| s.to_ascii_lowercase()),
            auth_context: object_at(&raw, "auth_context"),
            association: object_at(&raw, "association"),
            application: lenient(raw.get("application")),
            system: object_at(&raw, "system"),
            error_message: string_at(&raw, "error_message").filter(|s| !s.is_empty()),
            id,
            timestamp,
            raw,
        })
    }

    /// The event as it arrived.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// Any field by dotted path (`outer.eap_type`, `auth_meta.auth_idp`), from the raw form.
    pub fn field(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut current = self.raw.get(parts.next()?)?;
        for part in parts {
            current = current.get(part)?;
        }
        if current.is_null() {
            return None;
        }
        Some(current)
    }

    /// A field by dotted path as a string (numbers and booleans are written out).
    pub fn field_str(&self, path: &str) -> Option<String> {
        match self.field(path)? {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The event type, or `"unknown"`.
    pub fn kind(&self) -> &str {
        self.event_type.as_deref().unwrap_or("unknown")
    }

    /// The person (or admin) who acted, as a lowercase identity: the email, else the username,
    /// else the top-level `username` (RADIUS, systems), else the principal id.
    pub fn actor(&self) -> Option<String> {
        let from_principal = self.initiated_by.as_ref().and_then(|p| {
            p.email
                .clone()
                .or_else(|| p.username.clone())
                .filter(|s| !s.is_empty())
        });
        from_principal
            .or_else(|| string_at(&self.raw, "username"))
            .or_else(|| self.initiated_by.as_ref().and_then(|p| p.id.clone()))
            .filter(|s| !s.is_empty())
            .map(|s| s.to_lowercase())
    }

    /// The object acted on, as a readable identity (username, email, name or id).
    pub fn target(&self) -> Option<String> {
        let r = self.resource.as_ref()?;
        r.username
            .clone()
            .or_else(|| r.email.clone())
            .or_else(|| r.name.clone())
            .or_else(|| r.display_name.clone())
            .or_else(|| r.hostname.clone())
            .or_else(|| r.id.clone())
            .filter(|s| !s.is_empty())
    }

    /// Whether the attempt succeeded: `success`, or for SSO `sso_token_success`.
    /// `None` when the event does not say.
    pub fn succeeded(&self) -> Option<bool> {
        self.success.or(self.sso_token_success)
    }

    /// The ordering key used everywhere: time, then id for events sharing a timestamp.
    pub fn order_key(&self) -> (DateTime<Utc>, &str) {
        (self.timestamp, self.id.as_str())
    }

    /// The size of the event's JSON form in bytes.
    pub fn json_len(&self) -> usize {
        serde_json::to_vec(&self.raw).map(|v| v.len()).unwrap_or(0)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Event::from_value(value).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.id, self.timestamp, self.kind())
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn string_at(raw: &Map<String, Value>, key: &str) -> Option<String> {
    match raw.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn bool_at(raw: &Map<String, Value>, key: &str) -> Option<bool> {
    match raw.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn object_at(raw: &Map<String, Value>, key: &str) -> Option<Value> {
    raw.get(key).filter(|v| v.is_object()).cloned()
}

/// Reads a nested block leniently: each field that has the wrong type becomes `None`.
fn lenient<T: for<'de> Deserialize<'de> + Default>(value: Option<&Value>) -> Option<T> {
    let Value::Object(map) = value? else {
        return None;
    };
    let usable = |key: &String, v: &Value| -> Option<(String, Value)> {
        let v = match v {
            Value::String(s) if s.is_empty() => return None,
            Value::Number(n) => Value::String(n.to_string()),
            Value::String(_) | Value::Bool(_) => v.clone(),
            _ => return None,
        };
        let single = Map::from_iter([(key.clone(), v.clone())]);
        serde_json::from_value::<T>(Value::Object(single)).ok()?;
        Some((key.clone(), v))
    };
    let cleaned: Map<String, Value> = map.iter().filter_map(|(k, v)| usable(k, v)).collect();
    serde_json::from_value(Value::Object(cleaned)).ok()
}

fn geoip_from(value: &Value) -> Option<GeoIp> {
    let map = value.as_object()?;
    let text = |key: &str| match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let number = |key: &str| match map.get(key) {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    Some(GeoIp {
        country_code: text("country_code").or_else(|| text("country_code2")),
        region_name: text("region_name"),
        city: text("city").or_else(|| text("city_name")),
        latitude: number("latitude").filter(|v| v.is_finite() && v.abs() <= 90.0),
        longitude: number("longitude").filter(|v| v.is_finite() && v.abs() <= 180.0),
        timezone: text("timezone"),
    })
}

fn resource_from(value: &Value) -> Option<Resource> {
    let map = value.as_object()?;
    let text = |keys: &[&str]| {
        keys.iter().find_map(|k| match map.get(*k) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        })
    };
    Some(Resource {
        id: text(&["id", "object_id"]),
        kind: text(&["type"]),
        username: text(&["username"]),
        email: text(&["email", "recipient_email"]),
        name: text(&["name", "policy_name"]),
        display_name: text(&["displayName", "display_name", "displayLabel"]),
        hostname: text(&["hostname"]),
    })
}

fn changes_from(value: Option<&Value>) -> Vec<Change> {
    let Some(Value::Array(items)) = value else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let map = item.as_object()?;
            let field = map.get("field")?.as_str()?.to_string();
            Some(Change {
                field,
                from: map.get("from").cloned(),
                to: map.get("to").cloned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_event_without_optional_fields_parses_with_unknowns() {
        let event = Event::from_value(json!({"id": "a1", "timestamp": "2024-01-01T00:00:00Z"}))
            .expect("minimal event parses");

        assert_eq!(event.kind(), "unknown");
        assert_eq!(event.actor(), None);
        assert_eq!(event.succeeded(), None);
        assert!(event.changes.is_empty());
    }

    #[test]
    fn an_event_without_id_is_rejected_with_a_clear_error() {
        let err = Event::from_value(json!({"timestamp": "2024-01-01T00:00:00Z"})).unwrap_err();

        assert_eq!(err, EventError::MissingId);
        assert!(err.to_string().contains("no `id`"));
    }

    #[test]
    fn an_event_without_timestamp_is_rejected_naming_the_event() {
        let err = Event::from_value(json!({"id": "x9"})).unwrap_err();

        assert!(err.to_string().contains("x9"), "{err}");
    }

    #[test]
    fn oddly_typed_fields_become_unknown_instead_of_failing() {
        let event = Event::from_value(json!({
            "id": "a2", "timestamp": "2024-01-01T00:00:00.5Z",
            "success": null, "mfa": "yes", "geoip": {"latitude": "48.8", "country_code": 7},
            "initiated_by": "not an object", "changes": [{"nofield": 1}, {"field": "x", "to": [1, {"a": null}]}],
            "useragent": {"name": ["nested"]}
        }))
        .expect("lenient parse");

        assert_eq!(event.success, None);
        assert_eq!(event.mfa, None);
        assert_eq!(event.initiated_by, None);
        assert_eq!(event.changes.len(), 1);
        assert_eq!(event.changes[0].to, Some(json!([1, {"a": null}])));
        let geo = event.geoip.expect("geoip kept");
        assert_eq!(geo.latitude, Some(48.8));
        assert_eq!(geo.country_code, None);
    }

    #[test]
    fn the_raw_form_is_what_serialises_back() {
        let text = r#"{"z":1,"id":"a3","timestamp":"2024-01-01T00:00:00.123456789Z","success":null,"x":{"y":[1,2]}}"#;

        let event = Event::from_json(text).unwrap();

        assert_eq!(serde_json::to_string(&event).unwrap(), text);
    }

    #[test]
    fn sso_success_falls_back_to_the_token_flag() {
        let event = Event::from_value(json!({
            "id": "a4", "timestamp": "2024-01-01T00:00:00Z", "sso_token_success": false
        }))
        .unwrap();

        assert_eq!(event.succeeded(), Some(false));
    }
}
