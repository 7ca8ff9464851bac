//! Knobs: the tunable settings of a rule (thresholds, windows, lists), typed, with defaults,
//! and how a value written in the configuration becomes one.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use jcwatch_model::time::{format_duration, parse_duration};
use serde::{Deserialize, Serialize};

/// What kind of value a knob holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KnobKind {
    /// A whole number of at least 1 (a threshold).
    Count,
    /// A non-negative number (a speed, a distance).
    Number,
    /// A duration written like `10m`, `24h`, `14d`.
    Duration,
    /// `true` or `false`.
    Flag,
    /// A list of words (user names, error messages, application labels).
    Words,
    /// A list of IP networks (`203.0.113.0/24`) or addresses.
    Cidrs,
    /// A list of two-letter ISO country codes.
    Countries,
}

impl KnobKind {
    fn expects(self) -> &'static str {
        match self {
            KnobKind::Count => "a whole number of at least 1",
            KnobKind::Number => "a non-negative number",
            KnobKind::Duration => "a duration written like \"10m\", \"24h\" or \"14d\"",
            KnobKind::Flag => "true or false",
            KnobKind::Words => "a list of strings",
            KnobKind::Cidrs => "a list of networks like \"203.0.113.0/24\"",
            KnobKind::Countries => "a list of two-letter country codes like \"FR\"",
        }
    }
}

/// A knob's value.
#[derive(Debug, Clone, PartialEq)]
pub enum KnobValue {
    Count(u64),
    Number(f64),
    Duration(Duration),
    Flag(bool),
    Words(Vec<String>),
    Cidrs(Vec<IpNet>),
    Countries(Vec<String>),
}

impl KnobValue {
    pub fn kind(&self) -> KnobKind {
        match self {
            KnobValue::Count(_) => KnobKind::Count,
            KnobValue::Number(_) => KnobKind::Number,
            KnobValue::Duration(_) => KnobKind::Duration,
            KnobValue::Flag(_) => KnobKind::Flag,
            KnobValue::Words(_) => KnobKind::Words,
            KnobValue::Cidrs(_) => KnobKind::Cidrs,
            KnobValue::Countries(_) => KnobKind::Countries,
        }
    }

    /// Whether a list knob is empty (rules that need configuration check their lists).
    pub fn is_empty_list(&self) -> bool {
        match self {
            KnobValue::Words(v) | KnobValue::Countries(v) => v.is_empty(),
            KnobValue::Cidrs(v) => v.is_empty(),
            _ => false,
        }
    }

    /// Reads a configured value as a knob of `kind`, or says what was expected.
    pub fn parse(kind: KnobKind, input: &KnobInput) -> Result<KnobValue, String> {
        let wrong = || format!("expected {}, found {}", kind.expects(), input.describe());
        match (kind, input) {
            (KnobKind::Count, KnobInput::Int(n)) if *n >= 1 => Ok(KnobValue::Count(*n as u64)),
            (KnobKind::Count, KnobInput::Int(n)) => Err(format!("must be at least 1, found {n}")),
            (KnobKind::Number, KnobInput::Int(n)) if *n >= 0 => Ok(KnobValue::Number(*n as f64)),
            (KnobKind::Number, KnobInput::Number(x)) if x.is_finite() && *x >= 0.0 => {
                Ok(KnobValue::Number(*x))
            }
            (KnobKind::Duration, KnobInput::Text(text)) => match parse_duration(text) {
                Ok(d) if d.is_zero() => Err("must be longer than zero".into()),
                Ok(d) => Ok(KnobValue::Duration(d)),
                Err(e) => Err(e),
            },
            (KnobKind::Flag, KnobInput::Flag(b)) => Ok(KnobValue::Flag(*b)),
            (KnobKind::Words, KnobInput::List(items)) => Ok(KnobValue::Words(
                items.iter().map(|s| s.trim().to_string()).collect(),
            )),
            (KnobKind::Cidrs, KnobInput::List(items)) => parse_cidrs(items).map(KnobValue::Cidrs),
            (KnobKind::Countries, KnobInput::List(items)) => {
                parse_countries(items).map(KnobValue::Countries)
            }
            _ => Err(wrong()),
        }
    }

    /// The value as a person would write it in the configuration.
    pub fn render(&self) -> String {
        let list = |items: Vec<String>| {
            let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
            format!("[{}]", quoted.join(", "))
        };
        match self {
            KnobValue::Count(n) => n.to_string(),
            KnobValue::Number(x) => format!("{x}"),
            KnobValue::Duration(d) => format!("{:?}", format_duration(*d)),
            KnobValue::Flag(b) => b.to_string(),
            KnobValue::Words(v) | KnobValue::Countries(v) => list(v.clone()),
            KnobValue::Cidrs(v) => list(v.iter().map(|n| n.to_string()).collect()),
        }
    }
}

impl fmt::Display for KnobValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// Reads networks; a bare address means that one address.
pub fn parse_cidrs(items: &[String]) -> Result<Vec<IpNet>, String> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for item in items {
        let text = item.trim();
        match text.parse::<IpNet>() {
            Ok(net) => out.push(net.trunc()),
            Err(_) => match text.parse::<IpAddr>() {
                Ok(addr) => out.push(IpNet::from(addr)),
                Err(_) => bad.push(format!("{text:?}")),
            },
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(format!(
            "not a network or address: {} (write them like \"203.0.113.0/24\")",
            bad.join(", ")
        ))
    }
}

/// Reads two-letter country codes, upper-cased.
pub fn parse_countries(items: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for item in items {
        let code = item.trim();
        if code.len() == 2 && code.chars().all(|c| c.is_ascii_alphabetic()) {
            out.push(code.to_ascii_uppercase());
        } else {
            bad.push(format!("{code:?}"));
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(format!(
            "not a two-letter country code: {} (write them like \"FR\")",
            bad.join(", ")
        ))
    }
}

/// A value as written in the configuration file, before it is checked against a knob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KnobInput {
    Flag(bool),
    Int(i64),
    Number(f64),
    Text(String),
    List(Vec<String>),
    /// Anything else (a table, a mixed list): kept so validation can name it.
    Other(serde_json::Value),
}

impl KnobInput {
    fn describe(&self) -> String {
        match self {
            KnobInput::Flag(b) => format!("{b}"),
            KnobInput::Int(n) => format!("{n}"),
            KnobInput::Number(x) => format!("{x}"),
            KnobInput::Text(s) => format!("{s:?}"),
            KnobInput::List(_) => "a list of strings".into(),
            KnobInput::Other(serde_json::Value::Object(_)) => "a table".into(),
            KnobInput::Other(serde_json::Value::Array(_)) => "a list of mixed values".into(),
            KnobInput::Other(_) => "a value of another type".into(),
        }
    }

    /// Shorthand for examples and tests.
    pub fn words(items: &[&str]) -> KnobInput {
        KnobInput::List(items.iter().map(|s| s.to_string()).collect())
    }
}

/// One tunable setting of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Knob {
    pub name: &'static str,
    pub default: KnobValue,
    pub doc: &'static str,
}

impl Knob {
    pub fn kind(&self) -> KnobKind {
        self.default.kind()
    }

    pub fn count(name: &'static str, default: u64, doc: &'static str) -> Knob {
        Knob {
            name,
            default: KnobValue::Count(default),
            doc,
        }
    }

    pub fn number(name: &'static str, default: f64, doc: &'static str) -> Knob {
        Knob {
            name,
            default: KnobValue::Number(default),
            doc,
        }
    }

    pub fn duration(name: &'static str, default_text: &'static str, doc: &'static str) -> Knob {
        let default = parse_duration(default_text).unwrap_or(Duration::from_secs(3_600));
        Knob {
            name,
            default: KnobValue::Duration(default),
            doc,
        }
    }

    pub fn flag(name: &'static str, default: bool, doc: &'static str) -> Knob {
        Knob {
            name,
            default: KnobValue::Flag(default),
            doc,
        }
    }

    pub fn words(name: &'static str, default: &[&str], doc: &'static str) -> Knob {
        Knob {
            name,
            default: KnobValue::Words(default.iter().map(|s| s.to_string()).collect()),
            doc,
        }
    }

    pub fn cidrs(name: &'static str, doc: &'static str) -> Knob {
        Knob {
            name,
            default: KnobValue::Cidrs(Vec::new()),
            doc,
        }
    }

    pub fn countries(name: &'static str, doc: &'static str) -> Knob {
        Knob {
            name,
            default: KnobValue::Countries(Vec::new()),
            doc,
        }
    }
}

/// A rule's knobs after configuration: every declared knob has a value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Knobs {
    values: BTreeMap<&'static str, KnobValue>,
}

impl Knobs {
    /// The defaults of `declared`, with `overrides` (already checked) on top.
    pub fn resolve(declared: &[Knob], overrides: &BTreeMap<&'static str, KnobValue>) -> Self {
        let values = declared
            .iter()
            .map(|k| {
                let value = overrides.get(k.name).cloned().unwrap_or(k.default.clone());
                (k.name, value)
            })
            .collect();
        Knobs { values }
    }

    pub fn get(&self, name: &str) -> Option<&KnobValue> {
        self.values.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &KnobValue)> {
        self.values.iter().map(|(k, v)| (*k, v))
    }

    // N.B. The accessors below fall back to a neutral value for an undeclared knob: a rule
    // asking for a knob it did not declare is a bug the catalogue test catches (every
    // rule's examples run), and a neutral value never raises an alert on its own.

    pub fn count(&self, name: &str) -> u64 {
        match self.values.get(name) {
            Some(KnobValue::Count(n)) => *n,
            _ => {
                debug_assert!(false, "undeclared count knob {name}");
                u64::MAX
            }
        }
    }

    pub fn number(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(KnobValue::Number(x)) => *x,
            _ => {
                debug_assert!(false, "undeclared number knob {name}");
                f64::INFINITY
            }
        }
    }

    pub fn duration(&self, name: &str) -> Duration {
        match self.values.get(name) {
            Some(KnobValue::Duration(d)) => *d,
            _ => {
                debug_assert!(false, "undeclared duration knob {name}");
                Duration::from_secs(3_600)
            }
        }
    }

    pub fn flag(&self, name: &str) -> bool {
        match self.values.get(name) {
            Some(KnobValue::Flag(b)) => *b,
            _ => {
                debug_assert!(false, "undeclared flag knob {name}");
                false
            }
        }
    }

    pub fn words(&self, name: &str) -> &[String] {
        match self.values.get(name) {
            Some(KnobValue::Words(v)) | Some(KnobValue::Countries(v)) => v,
            _ => {
                debug_assert!(false, "undeclared list knob {name}");
                &[]
            }
        }
    }

    pub fn cidrs(&self, name: &str) -> &[IpNet] {
        match self.values.get(name) {
            Some(KnobValue::Cidrs(v)) => v,
            _ => {
                debug_assert!(false, "undeclared cidr knob {name}");
                &[]
            }
        }
    }

    /// Whether `text` equals one of a word list's entries, ignoring case.
    pub fn listed(&self, name: &str, text: &str) -> bool {
        self.words(name)
            .iter()
            .any(|w| w.eq_ignore_ascii_case(text.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_values_are_checked_against_the_knob_kind() {
        assert_eq!(
            KnobValue::parse(KnobKind::Duration, &KnobInput::Text("10m".into())),
            Ok(KnobValue::Duration(Duration::from_secs(600)))
        );
        assert!(
            KnobValue::parse(KnobKind::Duration, &KnobInput::Int(600))
                .unwrap_err()
                .contains("duration")
        );
        assert!(
            KnobValue::parse(KnobKind::Count, &KnobInput::Int(0))
                .unwrap_err()
                .contains("at least 1")
        );
        assert!(
            KnobValue::parse(KnobKind::Cidrs, &KnobInput::words(&["10.0.0.0/8", "nope"]))
                .unwrap_err()
                .contains("\"nope\"")
        );
        assert_eq!(
            KnobValue::parse(KnobKind::Countries, &KnobInput::words(&["ru", "KP"])),
            Ok(KnobValue::Countries(vec!["RU".into(), "KP".into()]))
        );
    }

    #[test]
    fn a_single_address_is_read_as_a_one_address_network() {
        let nets = parse_cidrs(&["192.0.2.7".to_string()]).unwrap();

        assert_eq!(nets[0].to_string(), "192.0.2.7/32");
    }
}
