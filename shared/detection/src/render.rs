//! Turning an alert into a notification: the SNS subject, plain text for email and an AWS
//! Chatbot custom-notification document for Slack.
//!
//! Every value that came from an event goes through [`crate::escape`] for its channel and is
//! bounded; the whole SNS message (every protocol variant together) stays well under SNS's
//! 256 KB publish limit, which [`sns_message`] lets tests and the SNS adapter check.

use std::fmt::Write as _;

use jcwatch_core::ports::Notification;
use jcwatch_model::{Alert, Route, Severity};
use serde_json::{Map, Value, json};

use crate::enrich::render as enrich;
use crate::escape::{ascii_subject, clean_line, email_line, slack_code, slack_plain};

/// The SNS subject must stay under 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 99;
/// The email body's budget in bytes. It appears three times in the SNS message (`default`,
/// `email`, `sqs`), JSON-escaped, so 24 KB keeps the whole message far below 256 KB.
pub const MAX_TEXT_BYTES: usize = 24_000;
/// Slack renders a section of up to 3,000 characters; Chatbot's own limit is undocumented.
pub const MAX_SLACK_DESCRIPTION_CHARS: usize = 2_800;
/// A Slack header holds 150 characters.
pub const MAX_SLACK_TITLE_CHARS: usize = 150;
/// SNS rejects a publish over 262,144 bytes; this leaves room for the envelope.
pub const MAX_SNS_MESSAGE_BYTES: usize = 240 * 1024;

/// Bounds per kind of field, in characters.
const IDENTITY_CHARS: usize = 200;
const ADDRESS_CHARS: usize = 100;
const USER_AGENT_CHARS: usize = 300;
const CHANGE_VALUE_CHARS: usize = 300;
const DETAIL_CHARS: usize = 300;
const ACTION_CHARS: usize = 1_000;
const MAX_CHANGES: usize = 20;
const MAX_DETAILS: usize = 20;
const MAX_EVENT_IDS_SHOWN: usize = 20;

/// What the renderer needs beyond the alert.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RenderOptions {
    /// Who a person answers a DUET to (an address or a channel), from `[notify] contact`.
    pub contact: Option<String>,
}

/// Renders one alert for every channel.
pub fn render(alert: &Alert, options: &RenderOptions) -> Notification {
    let notification = Notification {
        route: alert.route,
        severity: alert.severity,
        rule_id: alert.rule_id.clone(),
        subject: subject(alert),
        text: email_text(alert, options),
        chat: chat_document(alert, options),
    };
    if sns_message(&notification).len() <= MAX_SNS_MESSAGE_BYTES {
        return notification;
    }

    // N.B. unreachable with the bounds above; kept so that a future field that forgets its
    // bound degrades to a short message instead of a rejected publish.
    Notification {
        text: fallback_text(alert),
        chat: fallback_chat(alert),
        ..notification
    }
}

/// The SNS `MessageStructure=json` body for a notification: `default` and `email` carry the
/// plain text, `https` the Chatbot document as a string, `sqs` the same as `default`.
pub fn sns_message(notification: &Notification) -> String {
    let chat = serde_json::to_string(&notification.chat).unwrap_or_else(|_| "{}".into());
    json!({
        "default": notification.text,
        "email": notification.text,
        "https": chat,
        "sqs": notification.text,
    })
    .to_string()
}

fn severity_tag(severity: Severity) -> String {
    severity.as_str().to_ascii_uppercase()
}

/// `[jcwatch][HIGH] title` or `[jcwatch][HIGH][DUET] title`.
pub fn subject(alert: &Alert) -> String {
    let duet = if alert.route == Route::Duet {
        "[DUET]"
    } else {
        ""
    };
    let text = format!(
        "[jcwatch][{}]{duet} {}",
        severity_tag(alert.severity),
        alert.title
    );
    ascii_subject(&text, MAX_SUBJECT_CHARS)
}

/// Who should answer a DUET: the person who acted, else the one acted upon.
fn duet_respondent(alert: &Alert) -> Option<&str> {
    alert.actor.as_deref().or(alert.target.as_deref())
}

fn place(alert: &Alert) -> Option<String> {
    let parts: Vec<&str> = [
        alert.source.city.as_deref(),
        alert.source.region.as_deref(),
        alert.source.country.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.trim().is_empty())
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn change_value(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "(unset)".to_string(),
        Some(v) => v.to_string(),
    }
}

fn email_text(alert: &Alert, options: &RenderOptions) -> String {
    let mut out = String::new();
    let line = |s: &str, max| email_line(s, max);

    let _ = writeln!(out, "{}", line(&alert.title, 500));
    let _ = writeln!(
        out,
        "Severity: {} | Area: {} | Route: {}",
        severity_tag(alert.severity),
        alert.area.title(),
        alert.route.as_str().to_ascii_uppercase()
    );
    let _ = writeln!(
        out,
        "Rule: {} (MITRE ATT&CK {})",
        line(&alert.rule_id, 100),
        line(&alert.technique, 50)
    );
    let _ = writeln!(out, "Alert id: {}", line(&alert.alert_id, 100));
    out.push('\n');

    if alert.route == Route::Duet {
        out.push_str(&duet_question_email(alert, options));
        out.push('\n');
    }

    out.push_str("Who\n");
    match &alert.actor {
        Some(actor) => writeln!(out, "  Acting:   {}", line(actor, IDENTITY_CHARS)),
        None => writeln!(out, "  Acting:   unknown"),
    }
    .ok();
    if let Some(target) = &alert.target {
        let _ = writeln!(out, "  Affected: {}", line(target, IDENTITY_CHARS));
    }
    if let Some(org) = &alert.org {
        let _ = writeln!(out, "  Organisation: {}", line(org, IDENTITY_CHARS));
    }
    if let Some(enrichment) = &alert.enrichment {
        out.push_str(&enrich::email_people(enrichment));
    }

    out.push_str("From where\n");
    let _ = writeln!(
        out,
        "  Address:    {}",
        alert
            .source
            .ip
            .as_deref()
            .map(|ip| line(ip, ADDRESS_CHARS))
            .unwrap_or_else(|| "unknown".into())
    );
    if let Some(place) = place(alert) {
        let _ = writeln!(out, "  Place:      {}", line(&place, IDENTITY_CHARS));
    }
    if let Some(agent) = &alert.source.user_agent {
        let _ = writeln!(out, "  User agent: {}", line(agent, USER_AGENT_CHARS));
    }
    if let Some(address) = alert.enrichment.as_ref().and_then(enrich::email_address) {
        out.push_str(&address);
    }

    out.push_str("When (UTC)\n");
    let _ = writeln!(out, "  First seen: {}", alert.first_seen.to_rfc3339());
    let _ = writeln!(out, "  Last seen:  {}", alert.last_seen.to_rfc3339());
    let _ = writeln!(out, "  Events:     {}", alert.count);

    if !alert.changes.is_empty() {
        out.push_str("What changed (before -> after)\n");
        for change in alert.changes.iter().take(MAX_CHANGES) {
            let _ = writeln!(
                out,
                "  {}: {} -> {}",
                line(&change.field, IDENTITY_CHARS),
                line(&change_value(change.from.as_ref()), CHANGE_VALUE_CHARS),
                line(&change_value(change.to.as_ref()), CHANGE_VALUE_CHARS)
            );
        }
        if alert.changes.len() > MAX_CHANGES {
            let _ = writeln!(out, "  ... and {} more", alert.changes.len() - MAX_CHANGES);
        }
    }

    if !alert.details.is_empty() {
        out.push_str("Details\n");
        for (key, value) in alert.details.iter().take(MAX_DETAILS) {
            let _ = writeln!(out, "  {}: {}", line(key, 100), line(value, DETAIL_CHARS));
        }
    }
    if let Some(enrichment) = &alert.enrichment {
        out.push_str(&enrich::email_activity(enrichment));
        out.push_str(&enrich::email_notes(enrichment));
    }

    out.push_str("\nFirst action\n");
    let _ = writeln!(out, "  {}", line(&alert.first_action, ACTION_CHARS));

    out.push_str("\nEvent ids\n");
    for id in alert.event_ids.iter().take(MAX_EVENT_IDS_SHOWN) {
        let _ = writeln!(out, "  {}", line(id, 100));
    }
    if alert.event_ids.len() > MAX_EVENT_IDS_SHOWN {
        let _ = writeln!(
            out,
            "  ... and {} more",
            alert.event_ids.len() - MAX_EVENT_IDS_SHOWN
        );
    }
    out.push_str(
        "\n-- \njcwatch. Text quoted from the audit log is shown as received, with control \
         characters replaced and links broken.\n",
    );

    bound_bytes(out, MAX_TEXT_BYTES)
}

fn duet_question_email(alert: &Alert, options: &RenderOptions) -> String {
    let who = duet_respondent(alert)
        .map(|w| email_line(w, IDENTITY_CHARS))
        .unwrap_or_else(|| "the person named below".into());
    let tell = options
        .contact
        .as_deref()
        .map(|c| clean_line(c, IDENTITY_CHARS))
        .unwrap_or_else(|| "your security team".into());
    format!(
        "DID YOU EXPECT THIS?\n  {who} should answer. If you did this, reply to {tell} that it \
         was expected.\n  If you did not, tell {tell} at once: the account may be in someone \
         else's hands.\n"
    )
}

/// Cuts text to a byte budget at a line boundary, saying so.
fn bound_bytes(text: String, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text;
    }
    const NOTE: &str = "\n... (message shortened; the stored alert has everything)\n";
    let mut cut = max_bytes - NOTE.len();
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = text[..cut].rfind('\n').unwrap_or(cut);
    format!("{}{NOTE}", &text[..cut])
}

fn chat_document(alert: &Alert, options: &RenderOptions) -> Value {
    let title = format!(
        "[{}]{} {}",
        severity_tag(alert.severity),
        if alert.route == Route::Duet {
            " Did you expect this?"
        } else {
            ""
        },
        slack_plain(&alert.title, MAX_SLACK_TITLE_CHARS)
    );
    let title: String = title.chars().take(MAX_SLACK_TITLE_CHARS).collect();

    let mut context = Map::new();
    context.insert("alert_id".into(), clean_line(&alert.alert_id, 100).into());
    context.insert("rule_id".into(), clean_line(&alert.rule_id, 100).into());
    context.insert("severity".into(), alert.severity.as_str().into());
    context.insert("route".into(), alert.route.as_str().into());
    context.insert("area".into(), alert.area.as_str().into());
    context.insert("count".into(), alert.count.to_string().into());
    if let Some(org) = &alert.org {
        context.insert("org".into(), clean_line(org, 100).into());
    }

    json!({
        "version": "1.0",
        "source": "custom",
        "id": clean_line(&alert.alert_id, 100),
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": slack_description(alert, options),
            "nextSteps": [slack_plain(&alert.first_action, ACTION_CHARS)],
            "keywords": [
                alert.severity.as_str(),
                alert.area.as_str(),
                alert.route.as_str(),
                slack_keyword(&alert.rule_id),
            ],
        },
        "metadata": {
            "threadId": clean_line(&alert.alert_id, 100),
            "summary": slack_plain(&format!("[{}] {}", severity_tag(alert.severity), alert.title), MAX_SUBJECT_CHARS),
            "eventType": format!("jcwatch.{}", alert.route.as_str()),
            "relatedResources": [],
            "additionalContext": context,
            "enableCustomActions": false,
        }
    })
}

/// A tag: rule ids are catalogue identifiers and are kept as they are; anything else
/// is treated like event text.
fn slack_keyword(text: &str) -> String {
    let identifier = !text.is_empty()
        && text.len() <= 100
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'));
    if identifier {
        return text.to_string();
    }
    slack_plain(text, 100)
}

fn slack_description(alert: &Alert, options: &RenderOptions) -> String {
    let mut lines: Vec<String> = Vec::new();

    if alert.route == Route::Duet {
        let who = duet_respondent(alert)
            .map(|w| slack_code(w, IDENTITY_CHARS))
            .unwrap_or_else(|| "the person named below".into());
        let tell = options
            .contact
            .as_deref()
            .map(|c| slack_plain(c, IDENTITY_CHARS))
            .unwrap_or_else(|| "the security team".into());
        lines.push(format!(
            "*Did you expect this?* {who} should answer: reply in this thread or to {tell}. \
             If it was not you, say so at once."
        ));
    }

    let actor = alert
        .actor
        .as_deref()
        .map(|a| slack_code(a, IDENTITY_CHARS))
        .unwrap_or_else(|| "unknown".into());
    match &alert.target {
        Some(target) => lines.push(format!(
            "*Who:* {actor} acting on {}",
            slack_code(target, IDENTITY_CHARS)
        )),
        None => lines.push(format!("*Who:* {actor}")),
    }
    if let Some(enrichment) = &alert.enrichment {
        lines.extend(enrich::slack_people(enrichment));
    }

    let address = alert
        .source
        .ip
        .as_deref()
        .map(|ip| slack_code(ip, ADDRESS_CHARS))
        .unwrap_or_else(|| "unknown address".into());
    match place(alert) {
        Some(place) => lines.push(format!(
            "*From:* {address} ({})",
            slack_code(&place, IDENTITY_CHARS)
        )),
        None => lines.push(format!("*From:* {address}")),
    }
    if let Some(agent) = &alert.source.user_agent {
        lines.push(format!(
            "*User agent:* {}",
            slack_code(agent, USER_AGENT_CHARS)
        ));
    }
    if let Some(address) = alert.enrichment.as_ref().and_then(enrich::slack_address) {
        lines.push(address);
    }
    lines.push(format!(
        "*When:* {} to {} UTC ({} event{})",
        alert.first_seen.format("%Y-%m-%d %H:%M:%S"),
        alert.last_seen.format("%Y-%m-%d %H:%M:%S"),
        alert.count,
        if alert.count == 1 { "" } else { "s" }
    ));

    if !alert.changes.is_empty() {
        lines.push("*What changed:*".into());
        for change in alert.changes.iter().take(MAX_CHANGES) {
            lines.push(format!(
                "• {}: {} → {}",
                slack_code(&change.field, 100),
                slack_code(&change_value(change.from.as_ref()), 150),
                slack_code(&change_value(change.to.as_ref()), 150)
            ));
        }
    }
    for (key, value) in alert.details.iter().take(MAX_DETAILS) {
        lines.push(format!(
            "*{}:* {}",
            slack_plain(key, 60),
            slack_code(value, 150)
        ));
    }

    lines.push(format!(
        "*Rule:* {} ({}) · *Alert:* {}",
        slack_code(&alert.rule_id, 100),
        slack_plain(&alert.technique, 50),
        slack_code(&alert.alert_id, 100)
    ));
    // Last, so that a long message loses the activity lines before anything else.
    if let Some(enrichment) = &alert.enrichment {
        lines.extend(enrich::slack_activity(enrichment));
    }

    join_within(&lines, MAX_SLACK_DESCRIPTION_CHARS)
}

/// Joins whole lines until the budget is reached, so no code span or entity is cut in two.
fn join_within(lines: &[String], max_chars: usize) -> String {
    const NOTE: &str = "… (shortened; the email and the stored alert have everything)";
    let budget = max_chars - NOTE.chars().count() - 1;
    let mut out = String::new();
    let mut used = 0usize;
    for (i, line) in lines.iter().enumerate() {
        let len = line.chars().count() + usize::from(i > 0);
        if used + len > budget {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(NOTE);
            return out;
        }
        if i > 0 {
            out.push('\n');
        }
        out.push_str(line);
        used += len;
    }
    out
}

fn fallback_text(alert: &Alert) -> String {
    format!(
        "{}\nSeverity: {}\nRule: {}\nAlert id: {}\nThe full alert was too large to send; read \
         it from the alerts store.\n",
        email_line(&alert.title, 200),
        severity_tag(alert.severity),
        email_line(&alert.rule_id, 100),
        email_line(&alert.alert_id, 100)
    )
}

fn fallback_chat(alert: &Alert) -> Value {
    json!({
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": format!("[{}] {}", severity_tag(alert.severity), slack_plain(&alert.title, 100)),
            "description": format!("Alert {} was too large to send; read it from the alerts store.", slack_code(&alert.alert_id, 100)),
        }
    })
}
