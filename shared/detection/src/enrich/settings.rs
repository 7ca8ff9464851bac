//! The `[enrichment]` and `[addresses]` sections of the configuration file.
//!
//! ```toml
//! [enrichment]
//! budget = "2s"            # all look-ups of one batch together, cache included
//! max_people = 25          # distinct people looked up per batch
//! activity_window = "1h"   # related activity this long before and after an alert
//!
//! [addresses.office]
//! nature = "corporate"     # corporate, vpn, cloud, automation, anonymising, other
//! label = "Paris office"   # how alerts name it (default: from the nature)
//! cidrs = ["192.0.2.0/25"]
//!
//! [addresses.tor]
//! nature = "anonymising"
//! label = "Tor exit"
//! file = "s3://my-bucket/lists/tor-exits.txt"   # or a local path for the CLI
//! raise_severity = true    # alerts from these addresses go up one severity level
//!
//! [addresses.vpn]
//! nature = "vpn"
//! label = "corporate VPN"
//! cidrs = ["198.51.100.0/24"]
//! allow_in = ["jc.login.impossible_travel"]   # the rules that leave these addresses alone
//! ```
//!
//! A list names its networks inline (`cidrs`), in a file (`file`: one address or network per
//! line, `#` comments; Tor's exit-list format is read too), or both. `allow_in` feeds the
//! list into the rule engine's allow-lists: `"*"` for every rule (`detection.allow.cidrs`),
//! or rule ids for those rules only (`detection.rules."<id>".allow.cidrs`), so the engine
//! needs no knowledge of address lists to skip them.

use std::collections::BTreeMap;
use std::time::Duration;

use jcwatch_model::address::{Nature, parse_network};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Span};

/// `[enrichment]`: how much time and how many look-ups one batch may spend on context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnrichmentConfig {
    /// Look people up in JumpCloud's directory when a credential is available.
    pub directory: bool,
    /// The most one batch spends on enrichment (cache, directory, Directory Insights). A
    /// look-up still running then is dropped and its alert goes out without it.
    pub budget: Span,
    /// Distinct people looked up per batch; the rest are named without a profile.
    pub max_people: usize,
    /// Look-ups in flight at once.
    pub concurrency: usize,
    /// How long a profile is reused from the cache.
    pub profile_ttl: Span,
    /// How long "no such person" is reused from the cache.
    pub missing_ttl: Span,
    /// Related activity covers this long before the alert's first event and after its last.
    pub activity_window: Span,
    /// Ask Directory Insights for the part of the window the batch does not hold.
    pub activity_query: bool,
    /// Most events one such query reads.
    pub activity_limit: u32,
    /// Record the addresses each person uses, to say "first time seen for this person".
    pub address_history: bool,
    /// How long an address stays known for a person after its last use.
    pub history_ttl: Span,
    /// Most (person, address) sightings recorded per batch.
    pub max_sightings: usize,
}

impl Default for EnrichmentConfig {
    fn default() -> Self {
        EnrichmentConfig {
            directory: true,
            budget: Span(Duration::from_secs(2)),
            max_people: 25,
            concurrency: 4,
            profile_ttl: Span::minutes(6 * 60),
            missing_ttl: Span::minutes(30),
            activity_window: Span::minutes(60),
            activity_query: true,
            activity_limit: 200,
            address_history: true,
            history_ttl: Span::minutes(90 * 24 * 60),
            max_sightings: 500,
        }
    }
}

/// `[addresses.<name>]`: one named address list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressListConfig {
    pub nature: String,
    /// How alerts name the list; defaults to the nature's wording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidrs: Vec<String>,
    /// A local path (CLI) or an `s3://bucket/key` object (AWS) with more networks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Rules that leave these addresses alone: `"*"` for all, or rule ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_in: Vec<String>,
    /// Raise alerts from these addresses by one severity level.
    #[serde(default)]
    pub raise_severity: bool,
}

/// Most lists; a hundred names is already more than a person can keep apart.
const MAX_LISTS: usize = 100;

/// Checks both sections, naming every problem by its key path.
pub(crate) fn check(
    enrichment: &EnrichmentConfig,
    addresses: &BTreeMap<String, AddressListConfig>,
) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let mut bad = |path: String, message: String| errors.push(ConfigError { path, message });

    let e = enrichment;
    if e.budget.0 < Duration::from_millis(100) || e.budget.0 > Duration::from_secs(30) {
        bad(
            "enrichment.budget".into(),
            "must be between 100ms and 30s; it delays every notification of a batch".into(),
        );
    }
    if !(1..=200).contains(&e.max_people) {
        bad(
            "enrichment.max_people".into(),
            format!("{} is outside 1..=200", e.max_people),
        );
    }
    if !(1..=32).contains(&e.concurrency) {
        bad(
            "enrichment.concurrency".into(),
            format!("{} is outside 1..=32", e.concurrency),
        );
    }
    for (name, span) in [
        ("profile_ttl", e.profile_ttl),
        ("missing_ttl", e.missing_ttl),
        ("history_ttl", e.history_ttl),
    ] {
        if span.0 < Duration::from_secs(60) {
            bad(format!("enrichment.{name}"), "must be at least 1m".into());
        }
    }
    if e.activity_window.0 > Duration::from_secs(7 * 86_400) {
        bad(
            "enrichment.activity_window".into(),
            "must be at most 7d".into(),
        );
    }
    if !(1..=1_000).contains(&e.activity_limit) {
        bad(
            "enrichment.activity_limit".into(),
            format!("{} is outside 1..=1000", e.activity_limit),
        );
    }
    if e.max_sightings > 10_000 {
        bad(
            "enrichment.max_sightings".into(),
            format!("{} is more than 10000", e.max_sightings),
        );
    }

    if addresses.len() > MAX_LISTS {
        bad(
            "addresses".into(),
            format!("{} lists; at most {MAX_LISTS}", addresses.len()),
        );
    }
    for (name, list) in addresses {
        let at = |key: &str| format!("addresses.{name}.{key}");
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            bad(
                format!("addresses.{name:?}"),
                "a list name is 1 to 64 letters, digits, '-', '_' or '.'".into(),
            );
        }
        if let Err(message) = list.nature.parse::<Nature>() {
            bad(at("nature"), message);
        }
        if let Some(label) = &list.label
            && (label.trim().is_empty() || label.len() > 80 || label.chars().any(char::is_control))
        {
            bad(at("label"), "must be one line of 1 to 80 characters".into());
        }
        for (i, cidr) in list.cidrs.iter().enumerate() {
            if let Err(message) = parse_network(cidr) {
                bad(format!("addresses.{name}.cidrs.{i}"), message);
            }
        }
        match &list.file {
            Some(file) if file.trim().is_empty() => bad(
                at("file"),
                "is empty; give a path or s3://bucket/key".into(),
            ),
            None if list.cidrs.is_empty() => bad(
                format!("addresses.{name}"),
                "names no networks: give cidrs, a file, or both".into(),
            ),
            _ => {}
        }
        for (i, rule) in list.allow_in.iter().enumerate() {
            if rule.trim().is_empty() {
                bad(
                    format!("addresses.{name}.allow_in.{i}"),
                    "is empty; use \"*\" for every rule or a rule id".into(),
                );
            }
        }
        if list.raise_severity && !list.allow_in.is_empty() {
            bad(
                at("raise_severity"),
                "cannot be set on a list the rules are told to allow (allow_in)".into(),
            );
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn enrichment_and_address_lists_read_from_the_config_file() {
        let text = r#"
            [enrichment]
            budget = "1500ms"
            max_people = 10

            [addresses.vpn]
            nature = "vpn"
            label = "corporate VPN"
            cidrs = ["198.51.100.0/24", "2001:db8::/32"]
            allow_in = ["jc.login.impossible_travel"]

            [addresses.tor]
            nature = "anonymizing"
            file = "s3://lists/tor.txt"
            raise_severity = true
        "#;

        let config = Config::from_toml(text).unwrap();

        assert_eq!(config.enrichment.budget.0.as_millis(), 1_500);
        assert_eq!(config.enrichment.max_people, 10);
        assert_eq!(config.addresses["vpn"].cidrs.len(), 2);
        assert!(config.addresses["tor"].raise_severity);
    }

    #[test]
    fn every_problem_in_the_new_sections_is_named_by_its_path() {
        let text = r#"
            [enrichment]
            budget = "1m"
            concurrency = 0
            colour = "blue"

            [addresses.office]
            nature = "headquarters"
            cidrs = ["192.0.2.0/24", "192.0.2.300"]

            [addresses.empty]
            nature = "cloud"

            [addresses.both]
            nature = "vpn"
            cidrs = ["198.51.100.1"]
            allow_in = ["*"]
            raise_severity = true
        "#;

        let errors = Config::from_toml(text).unwrap_err();

        let paths: Vec<&str> = errors.errors.iter().map(|e| e.path.as_str()).collect();
        for expected in [
            "enrichment.colour",
            "enrichment.budget",
            "enrichment.concurrency",
            "addresses.office.nature",
            "addresses.office.cidrs.1",
            "addresses.empty",
            "addresses.both.raise_severity",
        ] {
            assert!(
                paths.contains(&expected),
                "{expected} missing from {errors}"
            );
        }
    }
}
