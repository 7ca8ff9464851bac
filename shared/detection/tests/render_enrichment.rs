//! Enrichment in notifications: the email and the Slack message name the person's job title,
//! department, groups, manager and MFA, the nature of the source address, and the related
//! activity; directory text is escaped and bounded like any other outside text.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use jcwatch_detection::render::{
    MAX_SLACK_DESCRIPTION_CHARS, MAX_SNS_MESSAGE_BYTES, RenderOptions, render, sns_message,
};
use jcwatch_model::address::{AddressMatch, Nature};
use jcwatch_model::enrichment::{
    Activity, ActivityLine, AddressContext, GroupRef, LookupOutcome, Manager, Mfa, PersonContext,
    Profile, Role,
};
use jcwatch_model::{Alert, Area, Enrichment, Route, Severity, Source};

fn jane() -> Profile {
    Profile {
        id: "5f0c1a2b3c4d5e6f7a8b9c0d".into(),
        username: Some("jane.doe".into()),
        email: Some("jane.doe@example.com".into()),
        name: Some("Jane Doe".into()),
        job_title: Some("Senior Accountant".into()),
        department: Some("Finance".into()),
        cost_center: Some("FIN-200".into()),
        location: Some("Paris".into()),
        manager: Some(Manager {
            id: "m1".into(),
            name: Some("John Smith".into()),
            email: Some("john.smith@example.com".into()),
        }),
        state: Some("ACTIVATED".into()),
        mfa: Mfa {
            configured: Some(true),
            totp_enrolled: Some(true),
            ..Mfa::default()
        },
        groups: vec![
            GroupRef {
                id: "g1".into(),
                name: Some("Finance".into()),
            },
            GroupRef {
                id: "g2".into(),
                name: Some("VPN users".into()),
            },
        ],
        ..Profile::default()
    }
}

fn enrichment(profile: Profile) -> Enrichment {
    Enrichment {
        people: vec![PersonContext {
            role: Role::Actor,
            identity: "jane.doe@example.com".into(),
            lookup: LookupOutcome::Found,
            profile: Some(profile),
            cached: false,
        }],
        address: Some(AddressContext {
            ip: "203.0.113.45".into(),
            lists: vec![AddressMatch {
                list: "tor".into(),
                nature: Nature::Anonymising,
                label: "Tor exit".into(),
            }],
            seen_before: Some(false),
            history_since: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
            ..AddressContext::default()
        }),
        activity: Some(Activity {
            identity: "jane.doe@example.com".into(),
            window_start: Utc.with_ymd_and_hms(2026, 1, 26, 8, 0, 0).unwrap(),
            window_end: Utc.with_ymd_and_hms(2026, 1, 26, 10, 0, 0).unwrap(),
            queried_directory_insights: true,
            events: 13,
            logins_failed: 12,
            logins_succeeded: 1,
            addresses: vec!["203.0.113.45".into()],
            countries: vec!["NG".into()],
            highlights: vec![ActivityLine {
                at: Utc.with_ymd_and_hms(2026, 1, 26, 9, 2, 11).unwrap(),
                event_type: "user_login_attempt".into(),
                success: Some(true),
                ip: Some("203.0.113.45".into()),
                country: Some("NG".into()),
                detail: None,
            }],
            ..Activity::default()
        }),
        notes: vec![],
    }
}

fn alert(enrichment: Option<Enrichment>) -> Alert {
    Alert {
        alert_id: "a1b2c3".into(),
        rule_id: "jc.login.success_after_bruteforce".into(),
        title: "Successful login after brute force for jane.doe@example.com".into(),
        severity: Severity::High,
        area: Area::SuspiciousLogin,
        route: Route::Duet,
        org: None,
        actor: Some("jane.doe@example.com".into()),
        target: None,
        source: Source {
            ip: Some("203.0.113.45".into()),
            country: Some("NG".into()),
            ..Source::default()
        },
        changes: vec![],
        event_ids: vec!["e1".into()],
        first_seen: Utc.with_ymd_and_hms(2026, 1, 26, 9, 0, 0).unwrap(),
        last_seen: Utc.with_ymd_and_hms(2026, 1, 26, 9, 2, 11).unwrap(),
        count: 13,
        notified: false,
        first_action: "Ask Jane whether she signed in.".into(),
        technique: "T1110".into(),
        details: BTreeMap::new(),
        enrichment,
    }
}

fn description(chat: &serde_json::Value) -> String {
    chat["content"]["description"].as_str().unwrap().to_string()
}

#[test]
fn the_email_names_job_department_groups_manager_mfa_and_the_address_nature() {
    let notification = render(&alert(Some(enrichment(jane()))), &RenderOptions::default());

    let text = &notification.text;
    for expected in [
        "Who they are (JumpCloud directory)",
        "Acting: Jane Doe <jane.doe@example.com>",
        "Position: Senior Accountant, Finance · cost centre FIN-200 · Paris",
        "Manager:  John Smith <john.smith@example.com>",
        "Groups:   Finance, VPN users",
        "MFA configured, TOTP enrolled",
        "Nature:     Tor exit; first time seen for this person",
        "address history since 2026-01-01",
        "13 events: 12 failed logins, 1 successful login; from 1 address (NG)",
        "09:02:11 user_login_attempt succeeded from 203.0.113.45 (NG)",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
}

#[test]
fn the_slack_message_names_the_same_facts() {
    let notification = render(&alert(Some(enrichment(jane()))), &RenderOptions::default());

    let text = description(&notification.chat);
    for expected in [
        "*Acting:* `Jane Doe &lt;jane.doe@example.com&gt;`",
        "Senior Accountant, Finance",
        "groups: Finance, VPN users",
        "*Address:* Tor exit; first time seen for this person",
        "*Around it:* 13 events",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
}

#[test]
fn an_administrator_without_mfa_is_marked_in_both_channels() {
    let mut profile = jane();
    profile.admin = Some(jcwatch_model::enrichment::AdminRole {
        role: Some("Administrator with Billing".into()),
        admin_id: None,
    });
    profile.mfa = Mfa {
        configured: Some(false),
        totp_enrolled: Some(false),
        ..Mfa::default()
    };

    let notification = render(&alert(Some(enrichment(profile))), &RenderOptions::default());

    for text in [notification.text.clone(), description(&notification.chat)] {
        assert!(
            text.contains("JumpCloud admin role Administrator with Billing"),
            "{text}"
        );
        assert!(text.contains("MFA not configured"), "{text}");
    }
}

#[test]
fn hostile_directory_text_cannot_forge_lines_mentions_or_links() {
    let mut profile = jane();
    profile.job_title = Some("CFO\nSeverity: LOW <!channel> https://evil.example".into());
    profile.groups.push(GroupRef {
        id: "g3".into(),
        name: Some("`x` *bold* @here".into()),
    });

    let notification = render(&alert(Some(enrichment(profile))), &RenderOptions::default());

    assert!(
        !notification.text.contains("\nSeverity: LOW"),
        "{}",
        notification.text
    );
    assert!(
        !notification.text.contains("https://evil"),
        "{}",
        notification.text
    );
    let slack = description(&notification.chat);
    assert!(!slack.contains("<!channel>"), "{slack}");
    assert!(!slack.contains("@here"), "{slack}");
    assert!(!slack.contains("*bold*"), "{slack}");
}

#[test]
fn a_huge_directory_record_keeps_the_message_within_its_limits() {
    let mut profile = jane();
    profile.department = Some("D".repeat(50_000));
    profile.groups = (0..2_000)
        .map(|i| GroupRef {
            id: format!("g{i}"),
            name: Some(format!("group {i} {}", "x".repeat(200))),
        })
        .collect();
    let mut enrichment = enrichment(profile);
    enrichment.notes = (0..100)
        .map(|i| format!("note {i} {}", "n".repeat(1_000)))
        .collect();

    let notification = render(&alert(Some(enrichment)), &RenderOptions::default());

    assert!(sns_message(&notification).len() < MAX_SNS_MESSAGE_BYTES);
    assert!(description(&notification.chat).chars().count() <= MAX_SLACK_DESCRIPTION_CHARS);
    assert!(
        notification.text.contains("and 1992 more"),
        "{}",
        notification.text
    );
}

#[test]
fn an_alert_left_plain_says_why_in_both_channels() {
    let enrichment = Enrichment {
        people: vec![PersonContext {
            role: Role::Actor,
            identity: "jane.doe@example.com".into(),
            lookup: LookupOutcome::TimedOut,
            profile: None,
            cached: false,
        }],
        notes: vec!["directory look-up of jane.doe@example.com did not finish within the batch's time budget".into()],
        ..Enrichment::default()
    };

    let notification = render(&alert(Some(enrichment)), &RenderOptions::default());

    assert!(
        notification
            .text
            .contains("jane.doe@example.com (directory look-up timed out)"),
        "{}",
        notification.text
    );
    assert!(
        notification.text.contains("Enrichment notes"),
        "{}",
        notification.text
    );
    assert!(description(&notification.chat).contains("did not finish within the batch"));
}

#[test]
fn an_alert_without_enrichment_renders_as_before() {
    let notification = render(&alert(None), &RenderOptions::default());

    assert!(!notification.text.contains("Who they are"));
    assert!(!description(&notification.chat).contains("*Address:*"));
}
