//! The catalogue: every rule jcwatch ships, by detection area. Each rule is data (metadata,
//! knobs, examples) plus the small `observe` function that reads one event for it.

mod api_keys;
mod auth;
mod config_changes;
mod logins;
mod mfa;

use jcwatch_model::Event;

use crate::fields::{self, LoginPath, Outcome};
use crate::knob::{Knob, Knobs};
use crate::rule::{Rule, knobs};

/// Every rule, in a stable order (by area, then id).
pub fn catalogue() -> Vec<Rule> {
    let mut rules = Vec::new();
    rules.extend(api_keys::rules());
    rules.extend(auth::rules());
    rules.extend(mfa::rules());
    rules.extend(logins::rules());
    rules.extend(config_changes::rules());
    rules
}

/// The date the examples start on (a Monday).
pub(crate) const DAY1: &str = "2024-05-06T09:00:00Z";

pub(crate) fn suppress(default: &'static str) -> Knob {
    Knob::duration(
        knobs::SUPPRESS,
        default,
        "One alert per entity per this long; repeats inside it are counted into that alert.",
    )
}

pub(crate) fn threshold(default: u64, doc: &'static str) -> Knob {
    Knob::count(knobs::THRESHOLD, default, doc)
}

pub(crate) fn window(default: &'static str) -> Knob {
    Knob::duration(
        knobs::WINDOW,
        default,
        "The sliding window the events must fall in.",
    )
}

pub(crate) fn within(default: &'static str, doc: &'static str) -> Knob {
    Knob::duration(knobs::WITHIN, default, doc)
}

pub(crate) fn learning(default: &'static str) -> Knob {
    Knob::duration(
        knobs::LEARNING,
        default,
        "How long an entity must have been seen before its new values alert (a fresh deployment or a new user does not).",
    )
}

pub(crate) fn history(default: &'static str) -> Knob {
    Knob::duration(
        knobs::HISTORY,
        default,
        "How far back values are remembered.",
    )
}

/// SSO errors that are not about credentials: an outage, an unassigned app, a policy.
pub(crate) const NOT_CREDENTIAL_ERRORS: &[&str] = &[
    "application unreachable",
    "internal error",
    "invalid session",
    "not authorized",
    "policy denied",
    "user denied",
];

pub(crate) fn ignore_errors(default: &[&str]) -> Knob {
    Knob::words(
        "ignore_errors",
        default,
        "Error messages (compared without case) of failures that do not count: outages and configuration errors, not guessed passwords.",
    )
}

/// Who failed to log in, when a login failed on its credentials: not an MFA step, not a
/// push denial, not an error listed in `ignore_errors`.
pub(crate) fn credential_failure(ev: &Event, knobs: &Knobs) -> Option<String> {
    fields::login_path(ev)?;
    if fields::outcome(ev) != Outcome::Failure {
        return None;
    }
    if fields::password_ok(ev) == Some(true) || fields::push_result(ev) == Some(false) {
        return None;
    }
    if let Some(error) = ev.error_message.as_deref()
        && knobs.listed("ignore_errors", error)
    {
        return None;
    }
    fields::login_identity(ev)
}

/// Who logged in, when a login succeeded (any path).
pub(crate) fn successful_login(ev: &Event) -> Option<(LoginPath, String)> {
    let path = fields::login_path(ev)?;
    if fields::outcome(ev) != Outcome::Success {
        return None;
    }
    Some((path, fields::login_identity(ev)?))
}

/// Successful logins that say where the person is: the console, the portal, SSO and Wi-Fi.
/// (An LDAP bind comes from the server that binds; a device login is local or a hop.)
pub(crate) fn located_login(ev: &Event) -> Option<String> {
    let (path, who) = successful_login(ev)?;
    matches!(
        path,
        LoginPath::Admin | LoginPath::Portal | LoginPath::Sso | LoginPath::Radius
    )
    .then_some(who)
}

/// The actor of an admin change, or `unknown` when the event does not say.
pub(crate) fn actor_or_unknown(ev: &Event) -> String {
    fields::actor_identity(ev).unwrap_or_else(|| "unknown".into())
}

/// Whether an event type is one of a list, or starts with one of a list of prefixes.
pub(crate) fn type_in(ev: &Event, exact: &[&str], prefixes: &[&str]) -> bool {
    let kind = ev.kind();
    exact.contains(&kind) || prefixes.iter().any(|p| kind.starts_with(p))
}
