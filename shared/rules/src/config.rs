//! The detection part of the configuration: global allow-lists and, per rule, whether it
//! runs, its severity and route, its own allow-list and its knobs. It is read with serde
//! (from the TOML file the detect function and the CLI share) and checked against the
//! catalogue, every problem named at once.
//!
//! ```toml
//! [allow]
//! cidrs = ["198.51.100.0/24"]
//!
//! [rules."jc.auth.password_spray"]
//! threshold = 15
//! window = "10m"
//!
//! [rules."jc.login.disallowed_country"]
//! enabled = true
//! countries = ["KP", "IR"]
//! ```

use std::collections::BTreeMap;
use std::fmt;

use jcwatch_model::{Route, Severity};
use serde::{Deserialize, Serialize};

use crate::allow::{AllowConfig, AllowList};
use crate::knob::{KnobInput, KnobValue};
use crate::rule::Rule;

/// Detection settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionConfig {
    /// Activity every rule leaves alone.
    #[serde(default, skip_serializing_if = "AllowConfig::is_empty")]
    pub allow: AllowConfig,
    /// Per-rule settings, by rule id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rules: BTreeMap<String, RuleConfig>,
}

/// One rule's settings. Any key other than `enabled`, `severity`, `route` and `allow` is a
/// knob of the rule (`threshold = 15`, `window = "10m"`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<AllowConfig>,
    // N.B. serde cannot deny unknown fields next to a flattened map; the map collects every
    // other key and `validate` names the ones that are not knobs of the rule.
    #[serde(flatten)]
    pub knobs: BTreeMap<String, KnobInput>,
}

/// One thing wrong with the configuration, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Where, as a TOML path: `rules."jc.auth.password_spray".window`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem with a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the detection configuration has {} problem(s): {}", .0.len(), join(.0))]
pub struct ConfigError(pub Vec<ConfigProblem>);

fn join(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A rule's settings after checking.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub enabled: bool,
    pub severity: Severity,
    pub route: Route,
    pub allow: AllowList,
    pub knobs: BTreeMap<&'static str, KnobValue>,
}

impl DetectionConfig {
    /// Checks the configuration against the catalogue, naming every problem: unknown rule
    /// ids, unknown knobs, values of the wrong type, bad networks, countries or durations,
    /// and rules that need configuration enabled without it.
    pub fn validate(&self, catalogue: &[Rule]) -> Result<(), Vec<ConfigProblem>> {
        self.resolve(catalogue).map(|_| ())
    }

    pub(crate) fn resolve(
        &self,
        catalogue: &[Rule],
    ) -> Result<(AllowList, BTreeMap<&'static str, Resolved>), Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let global = AllowList::parse(&self.allow).unwrap_or_else(|errors| {
            for (field, message) in errors {
                problems.push(ConfigProblem {
                    path: format!("allow.{field}"),
                    message,
                });
            }
            AllowList::default()
        });

        for id in self.rules.keys() {
            if !catalogue.iter().any(|r| r.id == id) {
                problems.push(ConfigProblem {
                    path: format!("rules.{id:?}"),
                    message: format!("no rule has this id{}", suggestion(id, catalogue)),
                });
            }
        }

        let mut resolved = BTreeMap::new();
        for rule in catalogue {
            let settings = self.rules.get(rule.id).cloned().unwrap_or_default();
            if let Some(r) = resolve_rule(rule, &settings, &mut problems) {
                resolved.insert(rule.id, r);
            }
        }

        if problems.is_empty() {
            Ok((global, resolved))
        } else {
            Err(problems)
        }
    }
}

fn resolve_rule(
    rule: &Rule,
    settings: &RuleConfig,
    problems: &mut Vec<ConfigProblem>,
) -> Option<Resolved> {
    let at = |key: &str| format!("rules.{:?}.{key}", rule.id);
    let before = problems.len();

    let severity = match &settings.severity {
        None => rule.severity,
        Some(text) => text.parse().unwrap_or_else(|e: String| {
            problems.push(ConfigProblem {
                path: at("severity"),
                message: e,
            });
            rule.severity
        }),
    };
    let route = match &settings.route {
        None => rule.route,
        Some(text) => {
            match text.parse::<Route>() {
                Ok(Route::Ops) => {
                    problems.push(ConfigProblem {
                    path: at("route"),
                    message: "rules route to \"duet\" or \"alert\"; \"ops\" is for jcwatch's own health".into(),
                });
                    rule.route
                }
                Ok(route) => route,
                Err(e) => {
                    problems.push(ConfigProblem {
                        path: at("route"),
                        message: e,
                    });
                    rule.route
                }
            }
        }
    };
    let allow = match &settings.allow {
        None => AllowList::default(),
        Some(config) => AllowList::parse(config).unwrap_or_else(|errors| {
            for (field, message) in errors {
                problems.push(ConfigProblem {
                    path: at(&format!("allow.{field}")),
                    message,
                });
            }
            AllowList::default()
        }),
    };

    let mut knobs = BTreeMap::new();
    for (name, input) in &settings.knobs {
        let Some(knob) = rule.knob(name) else {
            let known: Vec<&str> = rule.knobs.iter().map(|k| k.name).collect();
            problems.push(ConfigProblem {
                path: at(name),
                message: format!(
                    "not a setting of this rule (it has enabled, severity, route, allow, {})",
                    known.join(", ")
                ),
            });
            continue;
        };
        match KnobValue::parse(knob.kind(), input) {
            Ok(value) => {
                knobs.insert(knob.name, value);
            }
            Err(message) => problems.push(ConfigProblem {
                path: at(name),
                message,
            }),
        }
    }

    let enabled = settings.enabled.unwrap_or(rule.enabled_by_default());
    if enabled && let Some(needs) = &rule.needs_config {
        for name in needs.knobs {
            let set = knobs
                .get(name)
                .is_some_and(|v: &KnobValue| !v.is_empty_list());
            if !set {
                problems.push(ConfigProblem {
                    path: at(name),
                    message: format!(
                        "this rule is enabled but needs configuration: {}",
                        needs.hint
                    ),
                });
            }
        }
    }

    if problems.len() > before {
        return None;
    }
    Some(Resolved {
        enabled,
        severity,
        route,
        allow,
        knobs,
    })
}

/// ", did you mean …?" when a rule id is one typo away from a real one.
fn suggestion(id: &str, catalogue: &[Rule]) -> String {
    let close = catalogue
        .iter()
        .map(|r| (edit_distance(id, r.id), r.id))
        .filter(|(d, _)| *d <= 3)
        .min();
    match close {
        Some((_, best)) => format!(", did you mean {best:?}?"),
        None => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            prev = current;
        }
    }
    row[b.len()]
}
