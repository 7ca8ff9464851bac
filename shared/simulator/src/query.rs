//! Reading an events search body the way Directory Insights does: required fields answered
//! with 400, a nonsensical `limit` or `sort` silently replaced by the default.

use std::collections::HashSet;

use chrono::{DateTime, SecondsFormat, Utc};
use jcwatch_model::time::parse_timestamp;
use serde_json::{Map, Value};

use crate::store::Search;
use crate::term::parse_term;

/// The `service` values the API accepts: the documented list plus newer ones seen in use.
pub const SERVICES: &[&str] = &[
    "all",
    "access_management",
    "aigw",
    "alerts",
    "asset_management",
    "di_events",
    "directory",
    "genai",
    "ldap",
    "mdm",
    "notifications",
    "object_storage",
    "password_manager",
    "radius",
    "reports",
    "saas_app_management",
    "software",
    "sso",
    "systems",
    "workflows",
];

/// Page sizes: `default` when the request's `limit` is missing or nonsensical, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub default: usize,
    pub max: usize,
}

impl Default for Limits {
    /// The documented values: 1000 by default, 10,000 at most.
    fn default() -> Self {
        Self {
            default: 1_000,
            max: 10_000,
        }
    }
}

/// Parses and validates a search body. The error is the 400 message.
pub(crate) fn parse_search(
    body: &[u8],
    now: DateTime<Utc>,
    limits: Limits,
) -> Result<Search, String> {
    let body: Map<String, Value> = serde_json::from_slice(body)
        .map_err(|e| format!("Bad Request: the body is not a JSON object: {e}"))?;

    let services = parse_services(body.get("service"))?;
    let start = parse_time(&body, "start_time")?
        .ok_or_else(|| "Bad Request: start_time is required".to_owned())?;
    let end = parse_time(&body, "end_time")?.unwrap_or(now);
    if start > now {
        return Err(format!(
            "Start Time is in the future {} > {}",
            show(start),
            show(now)
        ));
    }
    if start >= end {
        let relation = if start == end { ">=" } else { ">" };
        return Err(format!(
            "Start Time not after End Time {} {relation} {}",
            show(start),
            show(end)
        ));
    }
    let limit = match body.get("limit").and_then(Value::as_u64) {
        Some(limit) if (1..=limits.max as u64).contains(&limit) => limit as usize,
        _ => limits.default,
    };
    let descending = body
        .get("sort")
        .and_then(Value::as_str)
        .is_some_and(|sort| sort.eq_ignore_ascii_case("desc"));
    let after = parse_search_after(body.get("search_after"))?;
    let term = match body.get("search_term") {
        None | Some(Value::Null) => None,
        Some(term) => Some(parse_term(term)?),
    };

    Ok(Search {
        start,
        end,
        services,
        limit,
        descending,
        after,
        term,
    })
}

fn show(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_services(value: Option<&Value>) -> Result<Option<HashSet<String>>, String> {
    let Some(value) = value else {
        return Err("Bad Request: service is required".to_owned());
    };
    let list: Vec<String> = value
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .filter(|list: &Vec<String>| !list.is_empty())
        .ok_or_else(|| "Bad Request: service must be a non-empty list of strings".to_owned())?;
    if let Some(unknown) = list.iter().find(|s| !SERVICES.contains(&s.as_str())) {
        return Err(format!(
            "Bad Request: unknown service {unknown:?}; supported services: {}",
            SERVICES.join(", ")
        ));
    }
    if list.iter().any(|s| s == "all") {
        return Ok(None);
    }
    Ok(Some(list.into_iter().collect()))
}

fn parse_time(body: &Map<String, Value>, name: &str) -> Result<Option<DateTime<Utc>>, String> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => parse_timestamp(text)
            .map(Some)
            .map_err(|e| format!("Bad Request: {name} {text:?} is not an RFC 3339 time: {e}")),
        Some(other) => Err(format!(
            "Bad Request: {name} must be an RFC 3339 string, not {other}"
        )),
    }
}

fn parse_search_after(value: Option<&Value>) -> Result<Option<(i64, String)>, String> {
    let items = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) if items.is_empty() => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(SEARCH_AFTER_SHAPE.to_owned()),
    };
    match items.as_slice() {
        [Value::Number(ms), Value::String(id)] => ms
            .as_i64()
            .map(|ms| Some((ms, id.clone())))
            .ok_or_else(|| SEARCH_AFTER_SHAPE.to_owned()),
        _ => Err(SEARCH_AFTER_SHAPE.to_owned()),
    }
}

const SEARCH_AFTER_SHAPE: &str = "Bad Request: search_after must be the X-Search_after value of the previous page, [epoch_ms, \"id\"]";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        parse_timestamp("2026-01-26T10:00:00Z").unwrap()
    }

    fn parse(body: Value) -> Result<Search, String> {
        parse_search(body.to_string().as_bytes(), now(), Limits::default())
    }

    fn base() -> Value {
        json!({"service": ["all"], "start_time": "2026-01-26T09:00:00Z", "end_time": "2026-01-26T09:30:00Z"})
    }

    #[test]
    fn service_and_start_time_are_required() {
        let mut no_service = base();
        no_service.as_object_mut().unwrap().remove("service");
        let mut no_start = base();
        no_start.as_object_mut().unwrap().remove("start_time");

        assert!(
            parse(no_service)
                .unwrap_err()
                .contains("service is required")
        );
        assert!(
            parse(no_start)
                .unwrap_err()
                .contains("start_time is required")
        );
    }

    #[test]
    fn start_not_before_end_gets_the_real_message() {
        let mut later = base();
        later["start_time"] = json!("2026-01-26T09:13:52Z");
        later["end_time"] = json!("2026-01-26T09:11:52Z");
        let mut equal = base();
        equal["end_time"] = json!("2026-01-26T09:00:00Z");

        assert_eq!(
            parse(later).unwrap_err(),
            "Start Time not after End Time 2026-01-26T09:13:52Z > 2026-01-26T09:11:52Z"
        );
        assert!(
            parse(equal)
                .unwrap_err()
                .starts_with("Start Time not after End Time")
        );
    }

    #[test]
    fn limit_defaults_to_1000_caps_at_10000_and_nonsense_falls_back() {
        let limit_of = |limit: Value| {
            let mut body = base();
            body["limit"] = limit;
            parse(body).unwrap().limit
        };

        assert_eq!(parse(base()).unwrap().limit, 1_000);
        assert_eq!(limit_of(json!(10_000)), 10_000);
        assert_eq!(limit_of(json!(7)), 7);
        for nonsense in [json!(10_001), json!(0), json!(-3), json!("50"), json!(2.5)] {
            assert_eq!(limit_of(nonsense.clone()), 1_000, "{nonsense}");
        }
    }

    #[test]
    fn sort_is_case_insensitive_and_anything_else_is_ascending() {
        let sort_of = |sort: Value| {
            let mut body = base();
            body["sort"] = sort;
            parse(body).unwrap().descending
        };

        assert!(sort_of(json!("desc")));
        assert!(sort_of(json!("DESC")));
        assert!(!sort_of(json!("ASC")));
        assert!(!sort_of(json!("sideways")));
    }

    #[test]
    fn search_after_must_be_the_echoed_pair() {
        let mut good = base();
        good["search_after"] = json!([1576181718000u64, "DZrPyW8BNsa9iKWoOm7h"]);
        let mut bad = base();
        bad["search_after"] = json!(["DZrPyW8BNsa9iKWoOm7h"]);

        assert_eq!(
            parse(good).unwrap().after,
            Some((1576181718000, "DZrPyW8BNsa9iKWoOm7h".to_owned()))
        );
        assert!(parse(bad).unwrap_err().contains("search_after"));
    }

    #[test]
    fn unknown_services_are_refused_with_the_supported_list() {
        let mut body = base();
        body["service"] = json!(["sso", "alert"]);

        let error = parse(body).unwrap_err();

        assert!(error.contains("unknown service \"alert\""), "{error}");
        assert!(error.contains("alerts"), "{error}");
    }

    #[test]
    fn a_search_term_is_read_and_a_malformed_one_is_a_400() {
        let mut good = base();
        good["search_term"] = json!({"or": [{"username": ["jane.doe"]}]});
        let mut bad = base();
        bad["search_term"] = json!({"or": [{"success": false}]});

        assert!(parse(good).unwrap().term.is_some());
        assert!(parse(bad).unwrap_err().starts_with("Bad Request"));
    }

    #[test]
    fn a_start_in_the_future_is_refused() {
        let mut body = base();
        body["start_time"] = json!("2026-01-26T11:00:00Z");
        body["end_time"] = json!("2026-01-26T12:00:00Z");

        assert!(parse(body).unwrap_err().contains("in the future"));
    }
}
