//! What a rule is: metadata, knobs, the logic kind with its small amount of code, and the
//! example events that prove it matches what it should and nothing next to it.

use std::collections::BTreeSet;

use jcwatch_model::{Area, Event, Route, Severity};
use serde_json::Value;

use crate::knob::{Knob, KnobInput, KnobKind, Knobs};
use crate::state::{Observation, Role};

/// Knob names the engine itself reads, by rule kind.
pub mod knobs {
    /// Every rule: one alert per entity per this long (repeats are counted into it).
    pub const SUPPRESS: &str = "suppress";
    /// Threshold and sequence rules: how many (or how many distinct) events.
    pub const THRESHOLD: &str = "threshold";
    /// Threshold rules: the sliding window the events must fall in.
    pub const WINDOW: &str = "window";
    /// Threshold rules, optionally: a second, slower tier.
    pub const SLOW_THRESHOLD: &str = "slow_threshold";
    pub const SLOW_WINDOW: &str = "slow_window";
    /// Sequence and absence rules: how long after the first step the second may come.
    pub const WITHIN: &str = "within";
    /// First-seen rules: how long an entity must have been seen before its new values alert.
    pub const LEARNING: &str = "learning_period";
    /// First-seen rules (and sequence checks): how far back history is remembered.
    pub const HISTORY: &str = "history";
    /// Geo-velocity rules.
    pub const MAX_SPEED: &str = "max_speed_kmh";
    pub const MIN_DISTANCE: &str = "min_distance_km";
    /// Geo-velocity rules, optionally: the minimum distance between logins in one country.
    pub const MIN_DISTANCE_DOMESTIC: &str = "min_distance_domestic_km";
    pub const RETURN_WITHIN: &str = "return_within";
    /// Geo-velocity rules: the time of day (UTC) suppression windows start at.
    pub const WINDOW_STARTS: &str = "window_starts";
}

/// What a rule's observe function says about one event: which entity it concerns and what to
/// remember about it. The engine adds the event's id, time, address, place and user agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub entity: String,
    pub role: Role,
    pub value: Option<String>,
    pub values: Vec<String>,
    pub aux: Option<String>,
    pub target: Option<String>,
    pub detail: Option<String>,
}

impl Hit {
    pub fn new(entity: impl Into<String>) -> Hit {
        Hit {
            entity: entity.into(),
            role: Role::Hit,
            value: None,
            values: Vec::new(),
            aux: None,
            target: None,
            detail: None,
        }
    }

    pub fn role(mut self, role: Role) -> Hit {
        self.role = role;
        self
    }

    pub fn value(mut self, value: impl Into<String>) -> Hit {
        self.value = Some(value.into());
        self
    }

    pub fn values(mut self, values: Vec<String>) -> Hit {
        self.values = values;
        self
    }

    pub fn aux(mut self, aux: Option<String>) -> Hit {
        self.aux = aux;
        self
    }

    pub fn target(mut self, target: Option<String>) -> Hit {
        self.target = target;
        self
    }

    pub fn detail(mut self, detail: Option<String>) -> Hit {
        self.detail = detail;
        self
    }
}

/// Reads one event for one rule: `None` when the event does not concern the rule.
pub type Observe = fn(&Event, &Knobs) -> Option<Hit>;

/// A completed sequence, offered to a rule's extra check.
#[derive(Debug)]
pub struct SequenceMatch<'a> {
    /// The step that completed the sequence.
    pub then: &'a Observation,
    /// The first steps inside the window before it.
    pub firsts: &'a [&'a Observation],
    /// Every observation of the entity that was loaded and is earlier than `then`.
    pub history: &'a [&'a Observation],
}

/// An extra condition on a sequence that reads the past (so it waits for the past to be
/// complete before it decides).
pub type SequenceCheck = fn(&SequenceMatch<'_>, &Knobs) -> bool;

/// A value seen for the first time, offered to a rule's extra check.
#[derive(Debug)]
pub struct FirstSeenMatch<'a> {
    pub candidate: &'a Observation,
    /// The entity's earlier observations within the history horizon.
    pub history: &'a [&'a Observation],
}

/// An extra condition on a first-seen value.
pub type FirstSeenCheck = fn(&FirstSeenMatch<'_>, &Knobs) -> bool;

/// The kinds of rule the engine evaluates.
#[derive(Debug, Clone)]
pub enum Logic {
    /// One event is enough.
    Single { observe: Observe },
    /// At least `threshold` events (or distinct values) for an entity within `window`.
    Threshold { observe: Observe, distinct: bool },
    /// `threshold` first steps (or distinct values) within `within` before a then-step.
    Sequence {
        observe: Observe,
        distinct: bool,
        check: Option<SequenceCheck>,
    },
    /// A start not followed by a cancel for the same entity within `within`.
    Absence { observe: Observe },
    /// A value never seen for the entity, once the entity has been known for
    /// `learning_period`. With `new_entities`, an entity never seen at all counts too, and a
    /// value counts as known only once it was seen `learning_period` before: for actions
    /// that should come from a familiar place (an intruder's own first minutes there do not
    /// make it familiar).
    FirstSeen {
        observe: Observe,
        check: Option<FirstSeenCheck>,
        new_entities: bool,
    },
    /// Two successful logins too far apart for the time between them, or a trip out and
    /// back too fast to be real.
    GeoVelocity { observe: Observe },
}

impl Logic {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Logic::Single { .. } => "single",
            Logic::Threshold { .. } => "threshold",
            Logic::Sequence { .. } => "sequence",
            Logic::Absence { .. } => "absence",
            Logic::FirstSeen { .. } => "first_seen",
            Logic::GeoVelocity { .. } => "geo_velocity",
        }
    }

    pub fn observe(&self) -> Observe {
        match self {
            Logic::Single { observe }
            | Logic::Threshold { observe, .. }
            | Logic::Sequence { observe, .. }
            | Logic::Absence { observe }
            | Logic::FirstSeen { observe, .. }
            | Logic::GeoVelocity { observe } => *observe,
        }
    }

    /// The knobs the engine reads for this kind, with their kinds.
    pub fn required_knobs(&self) -> &'static [(&'static str, KnobKind)] {
        use knobs::*;
        match self {
            Logic::Single { .. } => &[(SUPPRESS, KnobKind::Duration)],
            Logic::Threshold { .. } => &[
                (SUPPRESS, KnobKind::Duration),
                (THRESHOLD, KnobKind::Count),
                (WINDOW, KnobKind::Duration),
            ],
            Logic::Sequence { .. } => &[
                (SUPPRESS, KnobKind::Duration),
                (THRESHOLD, KnobKind::Count),
                (WITHIN, KnobKind::Duration),
            ],
            Logic::Absence { .. } => {
                &[(SUPPRESS, KnobKind::Duration), (WITHIN, KnobKind::Duration)]
            }
            Logic::FirstSeen {
                new_entities: true, ..
            } => &[
                (SUPPRESS, KnobKind::Duration),
                (HISTORY, KnobKind::Duration),
            ],
            Logic::FirstSeen { .. } => &[
                (SUPPRESS, KnobKind::Duration),
                (LEARNING, KnobKind::Duration),
                (HISTORY, KnobKind::Duration),
            ],
            Logic::GeoVelocity { .. } => &[
                (SUPPRESS, KnobKind::Duration),
                (MAX_SPEED, KnobKind::Number),
                (MIN_DISTANCE, KnobKind::Number),
                (RETURN_WITHIN, KnobKind::Duration),
                (WINDOW_STARTS, KnobKind::Duration),
            ],
        }
    }
}

/// A rule that cannot run until someone configures it (it ships disabled).
#[derive(Debug, Clone, PartialEq)]
pub struct NeedsConfig {
    /// List knobs that must be given at least one entry before the rule may be enabled.
    pub knobs: &'static [&'static str],
    /// What to configure, in a sentence.
    pub hint: &'static str,
}

/// One example: events in the real Directory Insights schema, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub name: &'static str,
    pub events: Vec<Value>,
}

/// The evidence a rule carries: what it must catch and what it must leave alone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Examples {
    /// Knob values the examples run with (rules that need configuration).
    pub config: Vec<(&'static str, KnobInput)>,
    pub matching: Vec<Example>,
    pub near_miss: Vec<Example>,
}

/// A detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable identifier, `jc.<group>.<name>`.
    pub id: &'static str,
    /// Title template; `{placeholders}` are filled from the alert.
    pub title: &'static str,
    pub description: &'static str,
    pub area: Area,
    pub severity: Severity,
    /// MITRE ATT&CK technique, e.g. `T1110.003`.
    pub technique: &'static str,
    pub route: Route,
    /// What a person should do first.
    pub first_action: &'static str,
    pub needs_config: Option<NeedsConfig>,
    pub knobs: Vec<Knob>,
    /// Rule-specific detail keys the alert carries (usable as title placeholders).
    pub details: &'static [&'static str],
    pub logic: Logic,
    pub examples: fn() -> Examples,
}

/// Placeholders every title may use.
pub const BASE_PLACEHOLDERS: &[&str] = &[
    "actor",
    "target",
    "entity",
    "value",
    "ip",
    "country",
    "region",
    "city",
    "user_agent",
    "count",
    "event_type",
    "first_seen",
    "last_seen",
];

impl Rule {
    /// Rules that need configuration ship disabled; all others run by default.
    pub fn enabled_by_default(&self) -> bool {
        self.needs_config.is_none()
    }

    pub fn knob(&self, name: &str) -> Option<&Knob> {
        self.knobs.iter().find(|k| k.name == name)
    }

    /// The `{placeholders}` used in the title.
    pub fn placeholders(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut rest = self.title;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    out.push(&after[..close]);
                    rest = &after[close + 1..];
                }
                None => break,
            }
        }
        out
    }

    /// Everything wrong with the rule's definition; empty when it is sound.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut say = |text: String| problems.push(text);

        let id_ok = self.id.starts_with("jc.")
            && self.id.split('.').count() == 3
            && self.id.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
        if !id_ok {
            say(format!(
                "id {:?} is not of the form jc.<group>.<name>",
                self.id
            ));
        }
        for (name, text) in [
            ("title", self.title),
            ("description", self.description),
            ("first_action", self.first_action),
        ] {
            if text.trim().len() < 10 {
                say(format!("{name} is missing or too short"));
            }
        }
        if !technique_ok(self.technique) {
            say(format!(
                "technique {:?} is not an ATT&CK id like T1110.003",
                self.technique
            ));
        }
        if self.title.matches('{').count() != self.title.matches('}').count() {
            say("title has unbalanced braces".into());
        }
        let known: BTreeSet<&str> = BASE_PLACEHOLDERS
            .iter()
            .copied()
            .chain(self.details.iter().copied())
            .chain(self.knobs.iter().map(|k| k.name))
            .collect();
        for placeholder in self.placeholders() {
            if !known.contains(placeholder) {
                say(format!("title placeholder {{{placeholder}}} is not known"));
            }
        }

        let mut names = BTreeSet::new();
        for knob in &self.knobs {
            if !names.insert(knob.name) {
                say(format!("knob {} is declared twice", knob.name));
            }
            if knob.doc.trim().is_empty() {
                say(format!("knob {} has no description", knob.name));
            }
            if knob.name == "enabled"
                || knob.name == "severity"
                || knob.name == "route"
                || knob.name == "allow"
            {
                say(format!("knob name {} is reserved", knob.name));
            }
        }
        for (name, kind) in self.logic.required_knobs() {
            match self.knob(name) {
                Some(k) if k.kind() == *kind => {}
                Some(k) => say(format!("knob {name} must be {kind:?}, is {:?}", k.kind())),
                None => say(format!(
                    "a {} rule needs knob {name}",
                    self.logic.kind_name()
                )),
            }
        }
        if let Some(needs) = &self.needs_config {
            if needs.knobs.is_empty() || needs.hint.trim().is_empty() {
                say("needs_config must name its knobs and say what to configure".into());
            }
            for name in needs.knobs {
                match self.knob(name) {
                    Some(k) if k.default.is_empty_list() => {}
                    Some(_) => say(format!(
                        "needs_config knob {name} must default to an empty list"
                    )),
                    None => say(format!("needs_config names unknown knob {name}")),
                }
            }
        }

        let examples = (self.examples)();
        if examples.matching.is_empty() {
            say("no matching example".into());
        }
        if examples.near_miss.is_empty() {
            say("no near-miss example".into());
        }
        for (name, _) in &examples.config {
            if self.knob(name).is_none() {
                say(format!("example config sets unknown knob {name}"));
            }
        }
        for example in examples.matching.iter().chain(&examples.near_miss) {
            if example.events.is_empty() {
                say(format!("example {:?} has no events", example.name));
            }
            for event in &example.events {
                match Event::from_value(event.clone()) {
                    Ok(ev) if ev.event_type.is_some() && ev.service.is_some() => {}
                    Ok(ev) => say(format!(
                        "example {:?} event {} lacks event_type or service",
                        example.name, ev.id
                    )),
                    Err(e) => say(format!(
                        "example {:?} has an unreadable event: {e}",
                        example.name
                    )),
                }
            }
        }
        problems
    }
}

fn technique_ok(t: &str) -> bool {
    let Some(rest) = t.strip_prefix('T') else {
        return false;
    };
    let (main, sub) = match rest.split_once('.') {
        Some((m, s)) => (m, Some(s)),
        None => (rest, None),
    };
    main.len() == 4
        && main.chars().all(|c| c.is_ascii_digit())
        && sub.is_none_or(|s| s.len() == 3 && s.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_technique_ids_are_checked() {
        assert!(technique_ok("T1110"));
        assert!(technique_ok("T1110.003"));
        assert!(!technique_ok("TA0001"));
        assert!(!technique_ok("T1110.3"));
    }
}
