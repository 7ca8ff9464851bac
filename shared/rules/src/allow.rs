//! Allow-lists: activity from trusted networks, countries, people or user agents that a rule
//! (or every rule) leaves alone.

use std::collections::BTreeSet;

use ipnet::IpNet;
use jcwatch_model::Event;
use serde::{Deserialize, Serialize};

use crate::fields;
use crate::knob::{parse_cidrs, parse_countries};

/// An allow-list as written in the configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowConfig {
    /// Networks or addresses (`203.0.113.0/24`, `198.51.100.7`): a VPN's exits, the office.
    #[serde(default)]
    pub cidrs: Vec<String>,
    /// Two-letter country codes.
    #[serde(default)]
    pub countries: Vec<String>,
    /// User names, emails or ids (matched against the actor and the login identity).
    #[serde(default)]
    pub users: Vec<String>,
    /// Case-insensitive fragments of the user agent (`okta`, `python-requests`).
    #[serde(default)]
    pub user_agents: Vec<String>,
}

impl AllowConfig {
    pub fn is_empty(&self) -> bool {
        self.cidrs.is_empty()
            && self.countries.is_empty()
            && self.users.is_empty()
            && self.user_agents.is_empty()
    }
}

/// A checked allow-list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllowList {
    pub cidrs: Vec<IpNet>,
    pub countries: BTreeSet<String>,
    pub users: BTreeSet<String>,
    pub user_agents: Vec<String>,
}

impl AllowList {
    /// Checks a configured list; each problem is `(field, message)`.
    pub fn parse(config: &AllowConfig) -> Result<AllowList, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let cidrs = parse_cidrs(&config.cidrs).unwrap_or_else(|e| {
            problems.push(("cidrs", e));
            Vec::new()
        });
        let countries = parse_countries(&config.countries).unwrap_or_else(|e| {
            problems.push(("countries", e));
            Vec::new()
        });
        if config.users.iter().any(|u| u.trim().is_empty()) {
            problems.push(("users", "contains an empty name".to_string()));
        }
        if config.user_agents.iter().any(|u| u.trim().is_empty()) {
            problems.push((
                "user_agents",
                "contains an empty fragment, which would match every user agent".to_string(),
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(AllowList {
            cidrs,
            countries: countries.into_iter().collect(),
            users: config
                .users
                .iter()
                .map(|u| u.trim().to_lowercase())
                .collect(),
            user_agents: config
                .user_agents
                .iter()
                .map(|u| u.trim().to_lowercase())
                .collect(),
        })
    }

    /// Both lists together (a rule's own list on top of the global one).
    pub fn union(&self, other: &AllowList) -> AllowList {
        let mut out = self.clone();
        out.cidrs.extend(other.cidrs.iter().copied());
        out.countries.extend(other.countries.iter().cloned());
        out.users.extend(other.users.iter().cloned());
        out.user_agents.extend(other.user_agents.iter().cloned());
        out
    }

    pub fn is_empty(&self) -> bool {
        self.cidrs.is_empty()
            && self.countries.is_empty()
            && self.users.is_empty()
            && self.user_agents.is_empty()
    }

    /// Whether the event comes from something on the list.
    pub fn allows(&self, ev: &Event) -> bool {
        if self.is_empty() {
            return false;
        }
        if let Some(ip) = fields::source_ip(ev)
            && self.cidrs.iter().any(|net| net.contains(&ip))
        {
            return true;
        }
        if let Some(country) = ev.geoip.as_ref().and_then(|g| g.country_code.as_deref())
            && self.countries.contains(&country.to_ascii_uppercase())
        {
            return true;
        }
        if !self.users.is_empty() {
            let mut names = fields::actor_names(ev);
            names.extend(fields::login_identity(ev));
            if names.iter().any(|n| self.users.contains(n)) {
                return true;
            }
        }
        if !self.user_agents.is_empty()
            && let Some(ua) = fields::user_agent_label(ev)
        {
            let ua = ua.to_lowercase();
            if self
                .user_agents
                .iter()
                .any(|fragment| ua.contains(fragment))
            {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_event_from_a_listed_network_or_user_is_allowed() {
        let list = AllowList::parse(&AllowConfig {
            cidrs: vec!["198.51.100.0/24".into()],
            users: vec!["HR-Sync@corp.example".into()],
            ..AllowConfig::default()
        })
        .unwrap();
        let from_vpn = Event::from_value(
            json!({"id":"1","timestamp":"2024-01-01T00:00:00Z","client_ip":"198.51.100.9"}),
        )
        .unwrap();
        let by_sync = Event::from_value(json!({"id":"2","timestamp":"2024-01-01T00:00:00Z","initiated_by":{"email":"hr-sync@corp.example"}})).unwrap();
        let other = Event::from_value(
            json!({"id":"3","timestamp":"2024-01-01T00:00:00Z","client_ip":"203.0.113.9"}),
        )
        .unwrap();

        assert!(list.allows(&from_vpn));
        assert!(list.allows(&by_sync));
        assert!(!list.allows(&other));
    }

    #[test]
    fn every_bad_entry_is_named() {
        let problems = AllowList::parse(&AllowConfig {
            cidrs: vec!["10.0.0.0/33".into()],
            countries: vec!["France".into()],
            user_agents: vec![" ".into()],
            ..AllowConfig::default()
        })
        .unwrap_err();

        let fields: Vec<_> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["cidrs", "countries", "user_agents"]);
    }
}
