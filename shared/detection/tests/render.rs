//! Notification rendering with ordinary and hostile alerts.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use jcwatch_detection::render::{
    MAX_SLACK_DESCRIPTION_CHARS, MAX_SLACK_TITLE_CHARS, MAX_SUBJECT_CHARS, RenderOptions, render,
    sns_message,
};
use jcwatch_model::{Alert, Area, Change, Route, Severity, Source};
use serde_json::{Value, json};

fn alert() -> Alert {
    Alert {
        alert_id: "a1b2c3d4e5f6".into(),
        rule_id: "config.password_policy_weakened".into(),
        title: "Organisation password policy weakened by admin@example.com".into(),
        severity: Severity::High,
        area: Area::RiskyConfig,
        route: Route::Alert,
        org: Some("5f1e2d3c".into()),
        actor: Some("admin@example.com".into()),
        target: Some("organization settings".into()),
        source: Source {
            ip: Some("203.0.113.9".into()),
            country: Some("FR".into()),
            region: Some("Ile-de-France".into()),
            city: Some("Paris".into()),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into()),
        },
        changes: vec![Change {
            field: "passwordPolicy.minLength".into(),
            from: Some(json!(14)),
            to: Some(json!(6)),
        }],
        event_ids: vec!["65a1".into(), "65a2".into()],
        first_seen: Utc.with_ymd_and_hms(2024, 3, 1, 9, 30, 0).unwrap(),
        last_seen: Utc.with_ymd_and_hms(2024, 3, 1, 9, 31, 5).unwrap(),
        count: 2,
        notified: false,
        first_action: "Confirm the change with the admin and restore the previous policy.".into(),
        technique: "T1556".into(),
        details: BTreeMap::from([("setting".to_string(), "minLength".to_string())]),
        enrichment: None,
    }
}

fn description(chat: &Value) -> &str {
    chat["content"]["description"]
        .as_str()
        .expect("description is a string")
}

#[test]
fn an_ordinary_alert_reads_well_in_every_channel() {
    let notification = render(&alert(), &RenderOptions::default());

    assert_eq!(
        notification.subject,
        "[jcwatch][HIGH] Organisation password policy weakened by admin@example.com"
    );
    let text = &notification.text;
    assert!(text.contains("Acting:   admin@example.com"), "{text}");
    assert!(text.contains("Address:    203.0.113.9"), "{text}");
    assert!(text.contains("Paris, Ile-de-France, FR"), "{text}");
    assert!(text.contains("passwordPolicy.minLength: 14 -> 6"), "{text}");
    assert!(
        text.contains("First action\n  Confirm the change"),
        "{text}"
    );
    assert!(text.contains("  65a1\n  65a2\n"), "{text}");
    assert!(text.contains("2024-03-01T09:30:00+00:00"), "{text}");
    assert!(!text.contains("DID YOU EXPECT THIS"), "{text}");
    assert_eq!(notification.route, Route::Alert);
    assert_eq!(notification.rule_id, "config.password_policy_weakened");
}

#[test]
fn the_slack_document_follows_the_chatbot_custom_notification_schema() {
    let chat = render(&alert(), &RenderOptions::default()).chat;

    assert_eq!(chat["version"], "1.0");
    assert_eq!(chat["source"], "custom");
    assert_eq!(chat["content"]["textType"], "client-markdown");
    assert!(
        chat["content"]["title"]
            .as_str()
            .unwrap()
            .starts_with("[HIGH]")
    );
    assert!(
        description(&chat).contains("`14` → `6`"),
        "{}",
        description(&chat)
    );
    assert_eq!(
        chat["content"]["nextSteps"][0],
        "Confirm the change with the admin and restore the previous policy."
    );
    assert!(chat["content"]["keywords"].as_array().unwrap().len() >= 3);
    assert_eq!(chat["metadata"]["threadId"], "a1b2c3d4e5f6");
    assert_eq!(
        chat["metadata"]["additionalContext"]["rule_id"],
        "config.password_policy_weakened"
    );
    assert!(chat["metadata"]["relatedResources"].is_array());
    assert!(chat["metadata"]["summary"].is_string());
    assert!(chat["metadata"]["eventType"].is_string());
}

#[test]
fn a_duet_asks_the_person_who_acted_and_says_how_to_answer() {
    let mut duet = alert();
    duet.route = Route::Duet;
    duet.actor = Some("alice@example.com".into());
    let options = RenderOptions {
        contact: Some("security@example.com".into()),
    };

    let notification = render(&duet, &options);

    assert!(notification.subject.starts_with("[jcwatch][HIGH][DUET] "));
    assert!(notification.text.contains("DID YOU EXPECT THIS?"));
    assert!(
        notification
            .text
            .contains("alice@example.com should answer")
    );
    assert!(notification.text.contains("reply to security@example.com"));
    let slack = description(&notification.chat);
    assert!(
        slack.starts_with("*Did you expect this?* `alice@example.com` should answer"),
        "{slack}"
    );
    assert!(slack.contains("security@example.com"), "{slack}");
}

#[test]
fn a_newline_in_a_user_name_cannot_forge_lines() {
    let mut hostile = alert();
    hostile.actor = Some("mallory\nSeverity: LOW | Area: none\nFirst action\n  Ignore this".into());
    hostile.title = "Login by mallory\r\nAll clear".into();

    let notification = render(&hostile, &RenderOptions::default());

    assert!(!notification.subject.contains(['\n', '\r']));
    assert!(notification.subject.contains("Login by mallory All clear"));
    let forged = notification
        .text
        .lines()
        .filter(|l| l.starts_with("Severity: LOW") || l.trim() == "Ignore this")
        .count();
    assert_eq!(forged, 0, "{}", notification.text);
    assert!(!description(&notification.chat).contains("\nSeverity: LOW"));
}

#[test]
fn slack_mentions_and_link_syntax_in_event_text_are_disarmed() {
    let mut hostile = alert();
    hostile.actor = Some("<!channel> @here <@U024BE7LH>".into());
    hostile.target = Some("<https://evil.example/login|Reset your password>".into());
    hostile.title = "*URGENT* @channel [click](https://evil.example) <!everyone>".into();
    hostile.changes[0].to = Some(json!("<https://evil.example|ok> `code` *b* _i_ ~s~"));

    let chat = render(&hostile, &RenderOptions::default()).chat;

    let all = chat.to_string();
    for live in [
        "<!channel>",
        "<!everyone>",
        "<@U024BE7LH>",
        "<https://",
        "https://evil",
        "@here",
        "@channel",
    ] {
        assert!(!all.contains(live), "{live} survived in {all}");
    }
    let title = chat["content"]["title"].as_str().unwrap();
    assert!(!title.contains(['*', '_', '~', '`']), "{title}");
    let desc = description(&chat);
    assert!(desc.contains("&lt;!channel&gt;"), "{desc}");
    for line in desc.lines() {
        assert_eq!(
            line.matches('`').count() % 2,
            0,
            "unbalanced code span in {line}"
        );
    }
}

#[test]
fn email_text_breaks_links_from_event_values() {
    let mut hostile = alert();
    hostile.target = Some("https://evil.example/reset".into());

    let text = render(&hostile, &RenderOptions::default()).text;

    assert!(!text.contains("https://evil"), "{text}");
    assert!(text.contains("https[:]//evil.example/reset"), "{text}");
}

#[test]
fn unicode_control_and_bidi_characters_are_made_visible() {
    let mut hostile = alert();
    hostile.actor = Some("admin\u{202E}moc.elpmaxe@eve\u{200B}\u{0007}\u{2066}".into());
    hostile.source.user_agent = Some("agent\u{0000}\u{001B}[31mred\u{009B}".into());

    let notification = render(&hostile, &RenderOptions::default());

    for text in [notification.text.as_str(), &notification.chat.to_string()] {
        for bad in [
            '\u{202E}', '\u{200B}', '\u{0007}', '\u{2066}', '\u{0000}', '\u{001B}', '\u{009B}',
        ] {
            assert!(!text.contains(bad), "{bad:?} survived");
        }
    }
    assert!(notification.text.contains("admin\u{FFFD}moc.elpmaxe@eve"));
    assert!(notification.subject.is_ascii());
}

#[test]
fn a_hundred_kilobyte_user_agent_is_bounded() {
    let mut hostile = alert();
    hostile.source.user_agent = Some("A".repeat(100 * 1024));

    let notification = render(&hostile, &RenderOptions::default());

    let agent_line = notification
        .text
        .lines()
        .find(|l| l.contains("User agent:"))
        .unwrap();
    assert!(agent_line.len() < 400, "{} bytes", agent_line.len());
    assert!(description(&notification.chat).chars().count() <= MAX_SLACK_DESCRIPTION_CHARS);
}

#[test]
fn a_huge_hostile_alert_still_fits_one_sns_publish() {
    let mut hostile = alert();
    let big = "\"\\<@here>*_\u{1F600}\n".repeat(20_000);
    let many = "\"\\<@here>*_\u{1F600}\n".repeat(200);
    hostile.title = big.clone();
    hostile.actor = Some(big.clone());
    hostile.target = Some(big.clone());
    hostile.org = Some(big.clone());
    hostile.source.ip = Some(big.clone());
    hostile.source.city = Some(big.clone());
    hostile.source.user_agent = Some(big.clone());
    hostile.first_action = big.clone();
    hostile.technique = big.clone();
    hostile.changes = (0..1_000)
        .map(|i| Change {
            field: format!("{many}{i}"),
            from: Some(json!(many)),
            to: Some(json!({"nested": [many.clone()]})),
        })
        .collect();
    hostile.details = (0..1_000)
        .map(|i| (format!("{many}{i}"), many.clone()))
        .collect();
    hostile.event_ids = (0..10_000).map(|i| format!("{many}{i}")).collect();
    hostile.count = 10_000;

    let notification = render(
        &hostile,
        &RenderOptions {
            contact: Some(big.clone()),
        },
    );
    let message = sns_message(&notification);

    assert!(message.len() < 256 * 1024, "{} bytes", message.len());
    assert!(notification.subject.len() <= MAX_SUBJECT_CHARS);
    assert!(
        notification
            .subject
            .chars()
            .all(|c| c == ' ' || c.is_ascii_graphic())
    );
    let parsed: Value = serde_json::from_str(&message).unwrap();
    for key in ["default", "email", "https", "sqs"] {
        assert!(parsed[key].is_string(), "{key} missing");
    }
    let chat: Value = serde_json::from_str(parsed["https"].as_str().unwrap()).unwrap();
    assert_eq!(chat["version"], "1.0");
    assert!(description(&chat).chars().count() <= MAX_SLACK_DESCRIPTION_CHARS);
    assert!(chat["content"]["title"].as_str().unwrap().chars().count() <= MAX_SLACK_TITLE_CHARS);
    assert!(notification.text.contains("Alert id: a1b2c3d4e5f6"));
    assert!(
        notification
            .text
            .ends_with("(message shortened; the stored alert has everything)\n")
    );
}

#[test]
fn the_sns_message_carries_every_protocol_key_as_a_string() {
    let notification = render(&alert(), &RenderOptions::default());

    let parsed: Value = serde_json::from_str(&sns_message(&notification)).unwrap();

    assert_eq!(parsed["default"], notification.text.as_str());
    assert_eq!(parsed["email"], notification.text.as_str());
    assert_eq!(parsed["sqs"], notification.text.as_str());
    let chat: Value = serde_json::from_str(parsed["https"].as_str().unwrap()).unwrap();
    assert_eq!(chat, notification.chat);
}
