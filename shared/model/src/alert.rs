//! Alerts: what a rule raises, what is stored and what is notified.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::enrichment::Enrichment;
use crate::event::Change;

/// How urgent an alert is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// The five detection areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// Attempted use of expired or revoked API keys.
    ApiKeys,
    /// Suspicious authentication and admin activity.
    AuthAndAdmin,
    /// Possible bypass of MFA.
    MfaBypass,
    /// Suspicious successful authentications.
    SuspiciousLogin,
    /// Risky configuration changes.
    RiskyConfig,
}

/// Who a notification goes to: the person who can confirm it (`duet`), the security team
/// (`alert`), or whoever runs jcwatch (`ops`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    Duet,
    Alert,
    Ops,
}

/// Where an alert's activity came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Source {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// One alert. Its id is deterministic (rule, entity, window), so the same activity always
/// yields the same id, however the events were batched or redelivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub alert_id: String,
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    pub area: Area,
    pub route: Route,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default)]
    pub source: Source,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    pub event_ids: Vec<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub count: u64,
    #[serde(default)]
    pub notified: bool,
    /// What a person should do first.
    pub first_action: String,
    /// MITRE ATT&CK technique id, e.g. `T1110.003`.
    pub technique: String,
    /// Rule-specific facts worth showing (`countries`, `distance_km`, `threshold`...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
    /// Who the person is, what the address is, what else they did (filled by enrichment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrichment: Option<Enrichment>,
}

impl Alert {
    /// Folds a later observation of the same alert in: the union of events, the widest
    /// time span, and the count of distinct events.
    pub fn merge(&mut self, other: &Alert) {
        for id in &other.event_ids {
            if !self.event_ids.contains(id) {
                self.event_ids.push(id.clone());
            }
        }
        self.event_ids.sort();
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.count = self.count.max(other.count).max(self.event_ids.len() as u64);
    }
}

macro_rules! string_enum {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $text),+ }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok(<$ty>::$variant),)+
                    other => Err(format!(
                        "{other:?} is not one of {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

string_enum!(Severity { Info => "info", Low => "low", Medium => "medium", High => "high", Critical => "critical" });
string_enum!(Area {
    ApiKeys => "api_keys",
    AuthAndAdmin => "auth_and_admin",
    MfaBypass => "mfa_bypass",
    SuspiciousLogin => "suspicious_login",
    RiskyConfig => "risky_config",
});
string_enum!(Route { Duet => "duet", Alert => "alert", Ops => "ops" });

impl Area {
    /// The area's name as a person reads it.
    pub fn title(self) -> &'static str {
        match self {
            Area::ApiKeys => "Attempted use of expired or revoked API keys",
            Area::AuthAndAdmin => "Suspicious authentication and admin activity",
            Area::MfaBypass => "Possible bypass of MFA",
            Area::SuspiciousLogin => "Suspicious successful authentication",
            Area::RiskyConfig => "Risky configuration change",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_parse_their_own_names_and_reject_others() {
        for s in Severity::ALL {
            assert_eq!(s.as_str().parse::<Severity>().unwrap(), *s);
        }
        assert!(Severity::Critical > Severity::High);
        assert!(
            "urgent"
                .parse::<Severity>()
                .unwrap_err()
                .contains("critical")
        );
        assert_eq!("DUET".parse::<Route>().unwrap(), Route::Duet);
    }
}
