//! Programmable misbehaviour: answers the real service gives on a bad day (rate limiting,
//! server errors, slowness, connections dropped without an answer) and fatal refusals, queued
//! by the test and consumed in order.

use std::collections::VecDeque;
use std::time::Duration;

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `POST /insights/directory/v1/events`
    Events,
    /// `POST /oauth2/token`
    Token,
    /// `GET /api/systemusers...` (v1 users).
    Users,
    /// `GET /api/users` (v1 administrators).
    Administrators,
    /// `GET /api/v2/...` (user groups and memberships).
    Groups,
    /// Every directory request: users, administrators and groups.
    Directory,
    /// Every request.
    Any,
}

impl Target {
    /// The endpoint a request path belongs to; `None` for paths the simulator does not serve.
    pub fn of_path(path: &str) -> Option<Target> {
        match path {
            crate::api::EVENTS_PATH => Some(Target::Events),
            crate::api::TOKEN_PATH => Some(Target::Token),
            "/api/users" => Some(Target::Administrators),
            p if p == "/api/systemusers" || p.starts_with("/api/systemusers/") => {
                Some(Target::Users)
            }
            p if p.starts_with("/api/v2/") => Some(Target::Groups),
            _ => None,
        }
    }

    /// Whether a rule aimed at `self` applies to a request to `request`.
    pub fn covers(self, request: Target) -> bool {
        match self {
            Target::Any => true,
            Target::Directory => matches!(
                request,
                Target::Users | Target::Administrators | Target::Groups | Target::Directory
            ),
            own => own == request,
        }
    }
}

/// What the simulator does instead of (or before) answering normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answers `status` with this JSON body, and `Retry-After` when given.
    Status {
        status: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// Waits, then answers normally.
    Delay(Duration),
    /// Closes the connection after reading the request, without any answer.
    Drop,
}

impl Fault {
    /// `429 Too Many Requests` with `Retry-After: <seconds>`.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::Status {
            status: 429,
            retry_after: Some(retry_after_secs.to_string()),
            body: r#"{"message":"Too Many Requests"}"#.to_owned(),
        }
    }

    /// `429` with a `Retry-After` written any way (an HTTP date, garbage).
    pub fn too_many_requests_with(retry_after: impl Into<String>) -> Self {
        Self::Status {
            status: 429,
            retry_after: Some(retry_after.into()),
            body: r#"{"message":"Too Many Requests"}"#.to_owned(),
        }
    }

    /// A 5xx answer, as Directory Insights gives under load or on an over-complex search.
    pub fn server_error(status: u16) -> Self {
        Self::Status {
            status,
            retry_after: None,
            body: format!(r#"{{"message":"{}"}}"#, reason(status)),
        }
    }

    /// `401` as for a revoked or expired key.
    pub fn unauthorized() -> Self {
        Self::Status {
            status: 401,
            retry_after: None,
            body: r#"{"message":"Unauthorized: api key user not found"}"#.to_owned(),
        }
    }

    /// `402` as for an organisation without Directory Insights.
    pub fn payment_required() -> Self {
        Self::Status {
            status: 402,
            retry_after: None,
            body: r#"{"message":"Payment Required"}"#.to_owned(),
        }
    }

    /// `403` as for a command-runner role or a blocked source address.
    pub fn forbidden() -> Self {
        Self::Status {
            status: 403,
            retry_after: None,
            body: r#"{"message":"Forbidden"}"#.to_owned(),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Server Error",
    }
}

/// A fault with when it fires: on the requests to `target` that reach it, after letting
/// `after` of them pass, `times` times (or for ever).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    pub fault: Fault,
    pub target: Target,
    pub after: usize,
    /// `None`: for ever.
    pub times: Option<usize>,
}

impl FaultRule {
    /// Fires once, on the next events request.
    pub fn new(fault: Fault) -> Self {
        Self {
            fault,
            target: Target::Events,
            after: 0,
            times: Some(1),
        }
    }

    /// Fires `times` times in a row.
    pub fn times(mut self, times: usize) -> Self {
        self.times = Some(times);
        self
    }

    /// Fires on every request it sees, until removed with [`crate::Simulator::clear_faults`].
    pub fn always(mut self) -> Self {
        self.times = None;
        self
    }

    /// Lets `requests` matching requests through untouched first.
    pub fn after(mut self, requests: usize) -> Self {
        self.after = requests;
        self
    }

    /// Applies to other requests than the events endpoint.
    pub fn on(mut self, target: Target) -> Self {
        self.target = target;
        self
    }
}

/// The queue of rules. A request is offered to the first rule that targets it: that rule
/// either lets it pass (while counting down `after`) or fires. Later rules wait their turn,
/// so rules run one after the other, in the order they were pushed.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    rules: VecDeque<FaultRule>,
}

impl FaultQueue {
    pub fn push(&mut self, rule: FaultRule) {
        if rule.times != Some(0) {
            self.rules.push_back(rule);
        }
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The fault for a request to `target`, if one fires.
    pub fn next(&mut self, target: Target) -> Option<Fault> {
        let index = self
            .rules
            .iter()
            .position(|rule| rule.target.covers(target))?;
        let rule = &mut self.rules[index];
        if rule.after > 0 {
            rule.after -= 1;
            return None;
        }
        let fault = rule.fault.clone();
        if let Some(times) = &mut rule.times {
            *times -= 1;
            if *times == 0 {
                self.rules.remove(index);
            }
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_fire_in_the_order_they_were_pushed() {
        let mut queue = FaultQueue::default();
        queue.push(FaultRule::new(Fault::too_many_requests(1)).times(2));
        queue.push(FaultRule::new(Fault::server_error(503)));

        let fired: Vec<_> = (0..4).map(|_| queue.next(Target::Events)).collect();

        assert_eq!(
            fired,
            [
                Some(Fault::too_many_requests(1)),
                Some(Fault::too_many_requests(1)),
                Some(Fault::server_error(503)),
                None
            ]
        );
    }

    #[test]
    fn after_lets_requests_through_before_firing() {
        let mut queue = FaultQueue::default();
        queue.push(FaultRule::new(Fault::Drop).after(2));

        let fired: Vec<_> = (0..4).map(|_| queue.next(Target::Events)).collect();

        assert_eq!(fired, [None, None, Some(Fault::Drop), None]);
    }

    #[test]
    fn rules_only_see_their_target() {
        let mut queue = FaultQueue::default();
        queue.push(FaultRule::new(Fault::server_error(500)).on(Target::Token));

        assert_eq!(queue.next(Target::Events), None);
        assert_eq!(queue.next(Target::Token), Some(Fault::server_error(500)));
        assert_eq!(queue.next(Target::Token), None);
    }

    #[test]
    fn a_directory_rule_fires_on_users_administrators_and_groups_only() {
        let mut queue = FaultQueue::default();
        queue.push(
            FaultRule::new(Fault::server_error(503))
                .on(Target::Directory)
                .always(),
        );

        assert_eq!(queue.next(Target::Events), None);
        assert!(queue.next(Target::Users).is_some());
        assert!(queue.next(Target::Administrators).is_some());
        assert!(queue.next(Target::Groups).is_some());
    }

    #[test]
    fn paths_map_to_their_targets() {
        assert_eq!(Target::of_path("/api/systemusers/abc"), Some(Target::Users));
        assert_eq!(Target::of_path("/api/systemusers"), Some(Target::Users));
        assert_eq!(Target::of_path("/api/users"), Some(Target::Administrators));
        assert_eq!(
            Target::of_path("/api/v2/usergroups/x"),
            Some(Target::Groups)
        );
        assert_eq!(Target::of_path("/api/systemusersx"), None);
    }

    #[test]
    fn a_permanent_rule_keeps_firing_until_cleared() {
        let mut queue = FaultQueue::default();
        queue.push(FaultRule::new(Fault::forbidden()).always());

        let fired: Vec<_> = (0..3).map(|_| queue.next(Target::Events)).collect();
        queue.clear();

        assert!(fired.iter().all(|f| f == &Some(Fault::forbidden())));
        assert_eq!(queue.next(Target::Events), None);
    }
}
