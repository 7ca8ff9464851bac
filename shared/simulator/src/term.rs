//! The `search_term` filter of an events search, read and applied the way Directory Insights
//! documents it: one of `and`, `or`, `not` at the top, each holding a list of single-key
//! objects that are either a nested term or a field (dot notation) with a value or a list of
//! values; values compared in lowercase, because the service lowercases what it indexes;
//! booleans refused (they must be sent as strings); a field repeated in one list refused.

use serde_json::{Map, Value};

/// Fields the service does not index; a criterion on them matches nothing.
const NOT_SEARCHABLE: [&str; 3] = ["changes", "useragent", "system_timestamp"];

/// A parsed `search_term`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Term {
    And(Vec<Term>),
    Or(Vec<Term>),
    /// Matches when none of its criteria does.
    Not(Vec<Term>),
    /// The field holds one of the values (lowercased).
    Field {
        path: String,
        values: Vec<String>,
    },
}

/// Reads a `search_term`; the error is the 400 message.
pub(crate) fn parse_term(value: &Value) -> Result<Term, String> {
    let object = value
        .as_object()
        .ok_or("Bad Request: search_term must be an object with one of and, or, not")?;
    if object.len() != 1 {
        return Err(
            "Bad Request: search_term must hold exactly one of and, or, not at the top".to_owned(),
        );
    }
    let (key, criteria) = object
        .iter()
        .next()
        .ok_or("Bad Request: empty search_term")?;
    match conjunction(key, criteria)? {
        Some(term) => Ok(term),
        None => Err(format!(
            "Bad Request: search_term must start with and, or or not, not {key:?}"
        )),
    }
}

/// `and`/`or`/`not` with its list, or `None` when `key` is a field.
fn conjunction(key: &str, criteria: &Value) -> Result<Option<Term>, String> {
    let build: fn(Vec<Term>) -> Term = match key {
        "and" => Term::And,
        "or" => Term::Or,
        "not" => Term::Not,
        _ => return Ok(None),
    };
    let items = criteria
        .as_array()
        .filter(|items| !items.is_empty())
        .ok_or_else(|| format!("Bad Request: {key} must hold a non-empty list of criteria"))?;

    let mut fields_seen = Vec::new();
    let mut terms = Vec::with_capacity(items.len());
    for item in items {
        let single = single_key(item)?;
        let (name, value) = single;
        if let Some(nested) = conjunction(name, value)? {
            terms.push(nested);
            continue;
        }
        if fields_seen.contains(&name) {
            return Err(format!(
                "Bad Request: the field {name:?} appears twice in one {key} list; put its values in a list"
            ));
        }
        fields_seen.push(name);
        terms.push(Term::Field {
            path: name.to_owned(),
            values: field_values(name, value)?,
        });
    }
    Ok(Some(build(terms)))
}

fn single_key(item: &Value) -> Result<(&str, &Value), String> {
    let object: &Map<String, Value> = item
        .as_object()
        .ok_or("Bad Request: each criterion must be an object with one key")?;
    match object.iter().next() {
        Some((name, value)) if object.len() == 1 => Ok((name.as_str(), value)),
        _ => Err("Bad Request: each criterion must be an object with exactly one key".to_owned()),
    }
}

fn field_values(name: &str, value: &Value) -> Result<Vec<String>, String> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.to_lowercase()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(_) => Err(format!(
            "Bad Request: the value of {name:?} is a JSON boolean; send it as a string (\"true\", \"false\")"
        )),
        _ => Err(format!(
            "Bad Request: the value of {name:?} must be a string or a list of strings"
        )),
    };
    match value {
        Value::Array(items) if !items.is_empty() => items.iter().map(one).collect(),
        Value::Array(_) => Err(format!(
            "Bad Request: the list of values of {name:?} is empty"
        )),
        single => Ok(vec![one(single)?]),
    }
}

impl Term {
    pub(crate) fn matches(&self, event: &Value) -> bool {
        match self {
            Term::And(terms) => terms.iter().all(|t| t.matches(event)),
            Term::Or(terms) => terms.iter().any(|t| t.matches(event)),
            Term::Not(terms) => !terms.iter().any(|t| t.matches(event)),
            Term::Field { path, values } => {
                if NOT_SEARCHABLE.contains(&path.split('.').next().unwrap_or_default()) {
                    return false;
                }
                let Some(found) = lookup(event, path) else {
                    return false;
                };
                let candidates: Vec<&Value> = match found {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![other],
                };
                candidates
                    .into_iter()
                    .filter_map(indexed_text)
                    .any(|text| values.contains(&text))
            }
        }
    }
}

fn lookup<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(event, |current, part| current.get(part))
}

/// A value as the index holds it: lowercased text.
fn indexed_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn login(username: &str, success: bool) -> Value {
        json!({
            "event_type": "user_login_attempt",
            "initiated_by": {"type": "user", "username": username},
            "success": success,
            "client_ip": "203.0.113.45"
        })
    }

    #[test]
    fn an_or_of_spellings_matches_any_and_compares_in_lowercase() {
        let term = parse_term(&json!({"or": [
            {"initiated_by.username": ["jane.doe"]},
            {"initiated_by.email": ["jane.doe@example.com"]},
            {"username": ["jane.doe"]}
        ]}))
        .unwrap();

        assert!(term.matches(&login("Jane.Doe", false)));
        assert!(!term.matches(&login("john", false)));
    }

    #[test]
    fn nested_terms_and_not_combine() {
        let term = parse_term(&json!({"and": [
            {"success": "false"},
            {"not": [{"client_ip": "198.51.100.1"}]},
            {"or": [{"initiated_by.username": "paul"}, {"username": "paul"}]}
        ]}))
        .unwrap();

        assert!(term.matches(&login("paul", false)));
        assert!(!term.matches(&login("paul", true)));
    }

    #[test]
    fn booleans_repeated_fields_and_bad_shapes_are_refused_as_the_service_does() {
        let cases = [
            (json!({"and": [{"success": false}]}), "boolean"),
            (
                json!({"and": [{"username": "a"}, {"username": "b"}]}),
                "appears twice",
            ),
            (json!({"and": [], }), "non-empty list"),
            (
                json!({"and": [{"a": "1"}], "or": [{"b": "2"}]}),
                "exactly one",
            ),
            (json!({"username": "a"}), "must start with"),
            (json!({"and": [{"a": "1", "b": "2"}]}), "exactly one key"),
        ];

        for (term, expected) in cases {
            let error = parse_term(&term).unwrap_err();

            assert!(error.contains(expected), "{term}: {error}");
        }
    }

    #[test]
    fn unsearchable_fields_match_nothing() {
        let term = parse_term(&json!({"and": [{"changes.field": "mfa"}]})).unwrap();

        assert!(!term.matches(&json!({"changes": {"field": "mfa"}})));
    }
}
