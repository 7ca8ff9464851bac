//! A scripted, realistic Directory Insights corpus with its ground truth: ordinary days at a
//! small company, and one intrusion that touches every detection area.
//!
//! The events are JSON objects in the real Directory Insights schema (the fields, id formats
//! and timestamp precisions each service uses), deterministic for a seed and a start date.
//! The ground truth lives beside each event in [`ScenarioEvent::truth`], never inside the
//! event, so detection can be measured against it: [`Corpus::score`] turns a list of alerts
//! into recall per attack step and area, and names every alert raised on ordinary activity.
//!
//! ```
//! use chrono::NaiveDate;
//! use jcwatch_simulator::scenario::Scenario;
//!
//! let scenario = Scenario::new(7, NaiveDate::from_ymd_opt(2025, 6, 10).unwrap());
//! let day = scenario.demo_day();
//! assert!(day.events().iter().any(|e| e.attack().is_some()));
//! ```
//!
//! What the ordinary days hold (see `ordinary.rs`): about forty people in London, Manchester
//! and at home; device logins, office Wi-Fi over RADIUS, user-portal logins with MFA, SSO
//! with MFA steps, LDAP binds; mistyped passwords; a lockout and unlock every other day; a
//! sales director who flies to New York; a salesperson on her phone's mobile network; admin
//! changes in office hours; the HR system's nightly API-key sync; SCIM updates; a routine
//! patch command; new hires enrolling TOTP; a leaver suspended by the HR sync.

mod company;
mod intrusion;
mod ordinary;
mod rng;
mod shapes;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use jcwatch_model::{Area, Route};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use company::{Base, Company, Geo, Integration, Mfa, Network, Os, Person, System, distance_km};
pub use intrusion::{BACKDOOR_ADMIN_EMAIL, attack_network, key_network};

/// The scenario for one seed and start date. Cheap to build; every corpus it produces is a
/// pure function of the seed, the start date and the arguments.
#[derive(Debug, Clone)]
pub struct Scenario {
    seed: u64,
    start: NaiveDate,
    company: Company,
}

/// The hour (UTC) the demo day's intrusion starts: early afternoon in London.
pub const DEMO_INTRUSION_HOUR: u32 = 13;

impl Scenario {
    pub fn new(seed: u64, start: NaiveDate) -> Self {
        Self {
            seed,
            start,
            company: Company::build(seed, start),
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn start(&self) -> NaiveDate {
        self.start
    }

    pub fn company(&self) -> &Company {
        &self.company
    }

    /// `n` ordinary days from the start date, nothing malicious.
    pub fn ordinary_days(&self, n: u32) -> Corpus {
        Corpus::from_events(ordinary::days(&self.company, self.seed, self.start, n))
    }

    /// The intrusion, starting at `at` and lasting about two hours. It includes one
    /// ordinary event, the victim's own login shortly before, so that the story holds even
    /// when the intrusion is scanned on its own.
    pub fn intrusion(&self, at: DateTime<Utc>) -> Corpus {
        Corpus::from_events(intrusion::story(&self.company, self.seed, at))
    }

    /// When the intrusion starts on day `day` (from the start date) in the stories this
    /// scenario tells: 13:30 UTC.
    pub fn intrusion_time(&self, day: u32) -> DateTime<Utc> {
        let date = self.start + Duration::days(i64::from(day));
        let noon = date
            .and_hms_opt(DEMO_INTRUSION_HOUR, 30, 0)
            .unwrap_or_default();
        Utc.from_utc_datetime(&noon)
    }

    /// `days` ordinary days with the intrusion on day `intrusion_day` in the afternoon.
    pub fn days_with_intrusion(&self, days: u32, intrusion_day: u32) -> Corpus {
        let mut corpus = self.ordinary_days(days);
        corpus.extend(self.intrusion(self.intrusion_time(intrusion_day)));
        corpus
    }

    /// The demo's script: the start date as an ordinary day, with the intrusion in the
    /// afternoon. Under a thousand events.
    pub fn demo_day(&self) -> Corpus {
        self.days_with_intrusion(1, 0)
    }
}

/// What an event really was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "truth", content = "what", rename_all = "snake_case")]
pub enum Truth {
    Ordinary(Activity),
    Attack(AttackStep),
}

/// The ordinary story an event belongs to (used to say which habit a false positive hit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    DeviceLogin,
    PortalLogin,
    MistypedPassword,
    Sso,
    WiFi,
    Ldap,
    AdminConsoleLogin,
    Lockout,
    Travel,
    MobileNetwork,
    GroupMembership,
    JobTitleUpdate,
    PasswordChange,
    NewSsoApp,
    PolicyUpdate,
    PasswordPolicyStrengthened,
    HrSync,
    ScimProvisioning,
    PatchCommand,
    NewHire,
    Leaver,
    /// The intrusion's victim working normally just before it.
    VictimRoutine,
}

impl Activity {
    /// A deliberate configuration change by an administrator: the kind of ordinary event a
    /// "did you expect this?" message may fairly ask its author to confirm.
    pub fn confirmable_change(self) -> bool {
        matches!(
            self,
            Activity::NewSsoApp | Activity::PolicyUpdate | Activity::PasswordPolicyStrengthened
        )
    }
}

/// One step of the intrusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackStep {
    /// Requests with the head of IT's rotated API key.
    OldApiKey,
    /// One password against many accounts from one address.
    PasswordSpray,
    /// Repeated wrong passwords for the victim.
    BruteForce,
    /// JumpCloud Protect pushes declined, again and again.
    PushFatigue,
    /// The attacker's successful logins as the victim, 10,800 km from his desk.
    CompromisedLogin,
    /// The victim's MFA turned off and his TOTP enrolment deleted.
    MfaRemoved,
    /// A login as the victim without MFA after it was removed.
    LoginAfterMfaRemoved,
    /// A back-door portal admin created.
    AdminCreated,
    /// Sudo on a server granted to the victim's account.
    PrivilegeGranted,
    /// The back-door admin logging in without MFA.
    AdminLoginWithoutMfa,
    /// The conditional-access policy requiring MFA deleted.
    AuthPolicyDeleted,
    /// The organisation's password policy weakened and lockout disabled.
    PasswordPolicyWeakened,
    /// A new SSO application pointing at the attacker's service.
    SsoAppCreated,
    /// A command created and run on many systems.
    FleetCommand,
    /// The back-door admin deleted to cover tracks.
    AdminDeleted,
}

impl AttackStep {
    pub const ALL: &'static [AttackStep] = &[
        AttackStep::OldApiKey,
        AttackStep::PasswordSpray,
        AttackStep::BruteForce,
        AttackStep::PushFatigue,
        AttackStep::CompromisedLogin,
        AttackStep::MfaRemoved,
        AttackStep::LoginAfterMfaRemoved,
        AttackStep::AdminCreated,
        AttackStep::PrivilegeGranted,
        AttackStep::AdminLoginWithoutMfa,
        AttackStep::AuthPolicyDeleted,
        AttackStep::PasswordPolicyWeakened,
        AttackStep::SsoAppCreated,
        AttackStep::FleetCommand,
        AttackStep::AdminDeleted,
    ];

    /// The detection area a defender would file this step under.
    pub fn area(self) -> Area {
        match self {
            AttackStep::OldApiKey => Area::ApiKeys,
            AttackStep::PasswordSpray
            | AttackStep::BruteForce
            | AttackStep::AdminCreated
            | AttackStep::PrivilegeGranted
            | AttackStep::AdminDeleted => Area::AuthAndAdmin,
            AttackStep::PushFatigue
            | AttackStep::MfaRemoved
            | AttackStep::LoginAfterMfaRemoved
            | AttackStep::AdminLoginWithoutMfa => Area::MfaBypass,
            AttackStep::CompromisedLogin => Area::SuspiciousLogin,
            AttackStep::AuthPolicyDeleted
            | AttackStep::PasswordPolicyWeakened
            | AttackStep::SsoAppCreated
            | AttackStep::FleetCommand => Area::RiskyConfig,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AttackStep::OldApiKey => "old_api_key",
            AttackStep::PasswordSpray => "password_spray",
            AttackStep::BruteForce => "brute_force",
            AttackStep::PushFatigue => "push_fatigue",
            AttackStep::CompromisedLogin => "compromised_login",
            AttackStep::MfaRemoved => "mfa_removed",
            AttackStep::LoginAfterMfaRemoved => "login_after_mfa_removed",
            AttackStep::AdminCreated => "admin_created",
            AttackStep::PrivilegeGranted => "privilege_granted",
            AttackStep::AdminLoginWithoutMfa => "admin_login_without_mfa",
            AttackStep::AuthPolicyDeleted => "auth_policy_deleted",
            AttackStep::PasswordPolicyWeakened => "password_policy_weakened",
            AttackStep::SsoAppCreated => "sso_app_created",
            AttackStep::FleetCommand => "fleet_command",
            AttackStep::AdminDeleted => "admin_deleted",
        }
    }
}

/// One generated event with its ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioEvent {
    /// The event as Directory Insights would serve it.
    pub event: Value,
    /// Its time, exactly as written in `timestamp`.
    pub at: DateTime<Utc>,
    pub truth: Truth,
}

impl ScenarioEvent {
    pub fn id(&self) -> &str {
        self.event.get("id").and_then(Value::as_str).unwrap_or("")
    }

    pub fn event_type(&self) -> &str {
        self.event
            .get("event_type")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn attack(&self) -> Option<AttackStep> {
        match self.truth {
            Truth::Attack(step) => Some(step),
            Truth::Ordinary(_) => None,
        }
    }
}

/// A list of generated events in time order, with their ground truth.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Corpus {
    events: Vec<ScenarioEvent>,
}

impl Corpus {
    fn from_events(mut events: Vec<ScenarioEvent>) -> Self {
        sort(&mut events);
        Self { events }
    }

    pub fn events(&self) -> &[ScenarioEvent] {
        &self.events
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Adds another corpus's events, keeping time order.
    pub fn extend(&mut self, other: Corpus) {
        self.events.extend(other.events);
        sort(&mut self.events);
    }

    /// The events alone, as Directory Insights would serve them.
    pub fn values(&self) -> Vec<Value> {
        self.events.iter().map(|e| e.event.clone()).collect()
    }

    /// Each event with its attack step, `None` for ordinary activity.
    pub fn pairs(&self) -> Vec<(Value, Option<AttackStep>)> {
        self.events
            .iter()
            .map(|e| (e.event.clone(), e.attack()))
            .collect()
    }

    /// One event per line: the file `jcwatch scan` reads.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            out.push_str(&e.event.to_string());
            out.push('\n');
        }
        out
    }

    /// The ground truth, one line per event: `{"id", "truth", "what", "area"}` (area for
    /// attack events only).
    pub fn truth_json_lines(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            let mut line = serde_json::to_value(e.truth).unwrap_or(Value::Null);
            line["id"] = json!(e.id());
            if let Some(step) = e.attack() {
                line["area"] = json!(step.area().as_str());
            }
            out.push_str(&line.to_string());
            out.push('\n');
        }
        out
    }

    /// The ids of each attack step's events.
    pub fn attack_steps(&self) -> BTreeMap<AttackStep, Vec<String>> {
        let mut steps: BTreeMap<AttackStep, Vec<String>> = BTreeMap::new();
        for e in &self.events {
            if let Some(step) = e.attack() {
                steps.entry(step).or_default().push(e.id().to_string());
            }
        }
        steps
    }

    /// Measures a detection run against the ground truth.
    pub fn score(&self, alerts: &[ScoredAlert]) -> Score {
        let truth: HashMap<&str, Truth> = self.events.iter().map(|e| (e.id(), e.truth)).collect();
        let steps = self.attack_steps();

        let mut caught: BTreeMap<AttackStep, BTreeSet<String>> = BTreeMap::new();
        let mut false_positives = Vec::new();
        let mut confirmable = Vec::new();
        let mut unknown_event_ids = BTreeSet::new();
        for alert in alerts {
            let mut attack_steps = BTreeSet::new();
            let mut activities = BTreeSet::new();
            for id in &alert.event_ids {
                match truth.get(id.as_str()) {
                    Some(Truth::Attack(step)) => {
                        attack_steps.insert(*step);
                    }
                    Some(Truth::Ordinary(activity)) => {
                        activities.insert(*activity);
                    }
                    None => {
                        unknown_event_ids.insert(id.clone());
                    }
                }
            }
            for step in &attack_steps {
                caught
                    .entry(*step)
                    .or_default()
                    .insert(alert.rule_id.clone());
            }
            if !attack_steps.is_empty() || activities.is_empty() {
                continue;
            }
            let miss = Misfire {
                rule_id: alert.rule_id.clone(),
                area: alert.area,
                route: alert.route,
                title: alert.title.clone(),
                activities: activities.iter().copied().collect(),
                event_ids: alert.event_ids.clone(),
            };
            if alert.route == Route::Duet && activities.iter().all(|a| a.confirmable_change()) {
                confirmable.push(miss);
            } else {
                false_positives.push(miss);
            }
        }

        let step_scores = steps
            .iter()
            .map(|(step, ids)| StepScore {
                step: *step,
                area: step.area(),
                events: ids.len(),
                caught_by: caught.get(step).cloned().unwrap_or_default(),
                alerts: alerts
                    .iter()
                    .filter(|a| a.event_ids.iter().any(|id| ids.contains(id)))
                    .count(),
            })
            .collect();
        Score {
            steps: step_scores,
            alert_areas: alerts.iter().map(|a| a.area).collect(),
            total_alerts: alerts.len(),
            false_positives,
            confirmable_duets: confirmable,
            unknown_event_ids,
        }
    }
}

fn sort(events: &mut [ScenarioEvent]) {
    events.sort_by(|a, b| (a.at, a.id()).cmp(&(b.at, b.id())));
}

/// The part of an alert that scoring needs; `jcwatch scan --format jsonl` lines deserialise
/// into it directly (other fields are ignored).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ScoredAlert {
    pub rule_id: String,
    #[serde(default)]
    pub title: String,
    pub area: Area,
    pub route: Route,
    pub event_ids: Vec<String>,
}

/// How one attack step fared.
#[derive(Debug, Clone, PartialEq)]
pub struct StepScore {
    pub step: AttackStep,
    pub area: Area,
    /// How many events the step has.
    pub events: usize,
    /// The rules whose alerts include at least one of the step's events.
    pub caught_by: BTreeSet<String>,
    /// How many alerts include at least one of the step's events.
    pub alerts: usize,
}

/// An alert raised on ordinary activity only.
#[derive(Debug, Clone, PartialEq)]
pub struct Misfire {
    pub rule_id: String,
    pub area: Area,
    pub route: Route,
    pub title: String,
    pub activities: Vec<Activity>,
    pub event_ids: Vec<String>,
}

/// A detection run measured against the ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub steps: Vec<StepScore>,
    /// The areas of every alert raised.
    pub alert_areas: BTreeSet<Area>,
    pub total_alerts: usize,
    /// Alerts on ordinary activity, except those below.
    pub false_positives: Vec<Misfire>,
    /// DUET alerts asking an admin to confirm a deliberate configuration change they made:
    /// not false positives, but counted so their volume stays visible.
    pub confirmable_duets: Vec<Misfire>,
    /// Event ids in alerts that the corpus does not hold (a scoring input error).
    pub unknown_event_ids: BTreeSet<String>,
}

impl Score {
    /// Per area: (steps caught, steps in the area).
    pub fn recall_by_area(&self) -> BTreeMap<Area, (usize, usize)> {
        let mut by_area: BTreeMap<Area, (usize, usize)> = BTreeMap::new();
        for step in &self.steps {
            let entry = by_area.entry(step.area).or_default();
            entry.1 += 1;
            if !step.caught_by.is_empty() {
                entry.0 += 1;
            }
        }
        by_area
    }

    pub fn missed_steps(&self) -> Vec<AttackStep> {
        self.steps
            .iter()
            .filter(|s| s.caught_by.is_empty())
            .map(|s| s.step)
            .collect()
    }

    /// A readable report: recall per area, each step with the rules that caught it, and
    /// every alert on ordinary activity.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "recall by area (attack steps caught / steps):");
        for (area, (caught, total)) in self.recall_by_area() {
            let _ = writeln!(out, "  {:<17} {caught}/{total}", area.as_str());
        }
        let _ = writeln!(out, "attack steps:");
        for step in &self.steps {
            let rules: Vec<&str> = step.caught_by.iter().map(String::as_str).collect();
            let verdict = if rules.is_empty() {
                "MISSED".to_string()
            } else {
                format!("{} alert(s) from {}", step.alerts, rules.join(", "))
            };
            let _ = writeln!(
                out,
                "  {:<24} {:<17} {:>2} events  {verdict}",
                step.step.as_str(),
                step.area.as_str(),
                step.events
            );
        }
        let _ = writeln!(
            out,
            "alerts: {} in all; {} false positive(s); {} DUET(s) on confirmable admin changes",
            self.total_alerts,
            self.false_positives.len(),
            self.confirmable_duets.len()
        );
        for (kind, list) in [
            ("false positive", &self.false_positives),
            ("confirmable DUET", &self.confirmable_duets),
        ] {
            for m in list {
                let _ = writeln!(
                    out,
                    "  {kind}: {} [{} {}] on {:?} ({} events) {}",
                    m.rule_id,
                    m.area.as_str(),
                    m.route.as_str(),
                    m.activities,
                    m.event_ids.len(),
                    m.title
                );
            }
        }
        if !self.unknown_event_ids.is_empty() {
            let _ = writeln!(
                out,
                "alerts cite {} event id(s) not in the corpus",
                self.unknown_event_ids.len()
            );
        }
        out
    }
}
