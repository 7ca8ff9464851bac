//! The operational notification sent when Directory Insights refuses the poller's credential:
//! no events are read until a person fixes it, which is both an outage and (for an expired or
//! revoked key) a security signal.

use std::time::Duration;

use jcwatch_model::time::format_duration;
use jcwatch_model::{Route, Severity};
use serde_json::json;

use crate::ports::Notification;

/// The rule id carried by the notification (`rule_id` message attribute).
pub const AUTH_FAILURE_RULE_ID: &str = "jcwatch.poll_auth_failure";

/// Longest organisation id shown; ids are 24 hex characters, anything longer is not one.
const MAX_ORG_CHARS: usize = 40;
/// Longest client hint shown.
const MAX_HINT_CHARS: usize = 500;

/// Builds the notice for an authentication failure of one organisation's poll. `hint` is the
/// client's explanation of the status; it never holds the credential.
pub fn auth_failure(
    org_id: Option<&str>,
    status: u16,
    hint: &str,
    repeat: Duration,
) -> Notification {
    let org = match org_id {
        Some(id) => clean(id, MAX_ORG_CHARS),
        None => "the API key's own organisation".to_owned(),
    };
    let hint = clean(hint, MAX_HINT_CHARS);
    let checks = what_to_check(status);

    let subject = clean(
        &format!("jcwatch: Directory Insights refused the poller (HTTP {status}, {org})"),
        99,
    );
    let text = format!(
        "jcwatch cannot read the Directory Insights audit log of {org}: JumpCloud answered \
         HTTP {status}.\n{hint}\n\nUntil this is fixed no events are read and no detection \
         runs for this organisation. Nothing is lost meanwhile: the poll resumes where it \
         stopped, as long as the outage is shorter than the log's retention (15 to 90 days \
         depending on the plan).\n\nWhat to check:\n{}\n\nThis notice repeats at most every \
         {} while the failure lasts.",
        checks
            .iter()
            .map(|c| format!("- {c}"))
            .collect::<Vec<_>>()
            .join("\n"),
        format_duration(repeat),
    );
    let chat = json!({
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": format!(":rotating_light: jcwatch poll refused by Directory Insights (HTTP {status})"),
            "description": format!(
                "jcwatch cannot read the audit log of `{}`. No events are read and no detection \
                 runs until this is fixed.\n{}",
                slack_safe(&org),
                slack_safe(&hint)
            ),
            "nextSteps": checks,
            "keywords": ["jcwatch", "ops", AUTH_FAILURE_RULE_ID],
        },
        "metadata": {
            "summary": format!("jcwatch poll refused (HTTP {status})"),
            "eventType": AUTH_FAILURE_RULE_ID,
            "enableCustomActions": false,
        },
    });

    Notification {
        route: Route::Ops,
        severity: Severity::High,
        rule_id: AUTH_FAILURE_RULE_ID.to_owned(),
        subject,
        text,
        chat,
    }
}

fn what_to_check(status: u16) -> Vec<String> {
    let mut checks = match status {
        401 => vec![
            "The API key expired (new JumpCloud keys expire after 90 days), was regenerated, \
             or its administrator was removed; or the service account's secret changed."
                .to_owned(),
            "For a multi-organisation (MSP) key, that the organisation id is right.".to_owned(),
        ],
        402 => vec!["That Directory Insights is enabled for the organisation.".to_owned()],
        403 => vec![
            "That the key's administrator has a role allowed to read Directory Insights \
             (command runners are refused)."
                .to_owned(),
            "Whether JumpCloud blocked the caller's IP address for suspected abuse.".to_owned(),
        ],
        _ => vec!["The credential and the organisation id configured for jcwatch.".to_owned()],
    };
    checks.push(
        "Then store a working credential in the jcwatch secret (or the JC_API_KEY environment \
         variable for the CLI); the next poll picks it up."
            .to_owned(),
    );
    checks
}

/// Keeps printable ASCII only and bounds the length, so a hostile or broken value cannot
/// break a mail subject or a chat message.
fn clean(text: &str, max: usize) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.len() <= max {
        return cleaned;
    }
    format!("{}...", &cleaned[..max.saturating_sub(3)])
}

/// Neutralises Slack's control characters in a value shown inside markdown.
fn slack_safe(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_401_notice_says_what_to_check_and_goes_to_ops() {
        let notice = auth_failure(
            Some("5f1b2c3d4e5f60718293a4b5"),
            401,
            "the API key was refused: check that it has not expired or been revoked",
            Duration::from_secs(6 * 3600),
        );

        assert_eq!(notice.route, Route::Ops);
        assert_eq!(notice.severity, Severity::High);
        assert_eq!(notice.rule_id, "jcwatch.poll_auth_failure");
        assert!(notice.subject.len() < 100 && notice.subject.is_ascii());
        assert!(notice.text.contains("expired"), "{}", notice.text);
        assert!(notice.text.contains("5f1b2c3d4e5f60718293a4b5"));
        assert!(notice.text.contains("every 6h"));
        assert_eq!(notice.chat["source"], "custom");
        assert!(notice.chat["content"]["description"].is_string());
    }

    #[test]
    fn a_hostile_org_id_cannot_break_the_subject_or_the_chat_markdown() {
        let notice = auth_failure(
            Some("evil\r\nBcc: x@y <!channel> `code`"),
            403,
            "refused",
            Duration::from_secs(3600),
        );

        assert!(!notice.subject.contains('\n') && !notice.subject.contains('\r'));
        let description = notice.chat["content"]["description"].as_str().unwrap();
        assert!(!description.contains("<!channel>"), "{description}");
        assert!(notice.text.contains("role"));
    }
}
