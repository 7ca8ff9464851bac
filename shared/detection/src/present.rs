//! Alerts as the CLI prints them: a table for a terminal, or one JSON object per line.
//! Event-derived text in the table is cleaned of control characters (a user name cannot
//! move the cursor or recolour the terminal) and cut to fit.

use jcwatch_model::{Alert, Route};

use crate::escape::clean_line;

const TITLE_CHARS: usize = 90;
const WHO_CHARS: usize = 40;
/// Longest enrichment line under an alert's row.
const CONTEXT_CHARS: usize = 220;

/// One alert as one line of JSON: the stored alert's fields (`alert_id`, `rule_id`,
/// `title`, `severity`, `area`, `route`, `event_ids`, `first_seen`, `last_seen`, `count`...).
pub fn json_line(alert: &Alert) -> String {
    serde_json::to_string(alert).unwrap_or_else(|e| {
        format!(
            "{{\"alert_id\":{:?},\"error\":{:?}}}",
            alert.alert_id,
            e.to_string()
        )
    })
}

/// The alerts as an aligned table, oldest first, with a header; a line saying so when empty.
pub fn table(alerts: &[Alert]) -> String {
    if alerts.is_empty() {
        return "No alerts.\n".to_string();
    }
    let mut sorted: Vec<&Alert> = alerts.iter().collect();
    sorted.sort_by(|a, b| (a.first_seen, &a.alert_id).cmp(&(b.first_seen, &b.alert_id)));

    let header = [
        "FIRST SEEN (UTC)",
        "SEVERITY",
        "ROUTE",
        "COUNT",
        "RULE",
        "WHO",
        "TITLE",
    ];
    let rows: Vec<[String; 7]> = sorted
        .iter()
        .map(|a| {
            [
                a.first_seen.format("%Y-%m-%d %H:%M:%S").to_string(),
                a.severity.as_str().to_ascii_uppercase(),
                match a.route {
                    Route::Duet => "DUET".to_string(),
                    other => other.as_str().to_string(),
                },
                a.count.to_string(),
                clean_line(&a.rule_id, 60),
                clean_line(
                    a.actor.as_deref().or(a.target.as_deref()).unwrap_or("-"),
                    WHO_CHARS,
                ),
                clean_line(&a.title, TITLE_CHARS),
            ]
        })
        .collect();

    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }

    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        let last = cells.len() - 1;
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths[i] - cell.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    };
    line(&mut out, &header);
    for (row, alert) in rows.iter().zip(&sorted) {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&mut out, &cells);
        for context in context_lines(alert) {
            out.push_str("    ");
            out.push_str(&context);
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "{} alert{}\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    ));
    out
}

/// The enrichment under an alert's row: who the people are and what the address is, then
/// what else the person did.
fn context_lines(alert: &Alert) -> Vec<String> {
    let Some(enrichment) = &alert.enrichment else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    let summary = enrichment.one_line();
    if !summary.is_empty() {
        lines.push(format!("└ {}", clean_line(&summary, CONTEXT_CHARS)));
    }
    if let Some(activity) = enrichment.activity.as_ref().filter(|a| a.events > 0) {
        lines.push(format!(
            "└ around it: {}",
            clean_line(&activity.describe(), CONTEXT_CHARS)
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeZone, Utc};
    use jcwatch_model::{Area, Severity, Source};
    use serde_json::Value;

    use super::*;

    fn alert(id: &str, minute: u32, actor: &str) -> Alert {
        Alert {
            alert_id: id.into(),
            rule_id: "jc.auth.brute_force".into(),
            title: format!("Brute force against {actor}"),
            severity: Severity::High,
            area: Area::AuthAndAdmin,
            route: Route::Duet,
            org: None,
            actor: Some(actor.into()),
            target: None,
            source: Source::default(),
            changes: Vec::new(),
            event_ids: vec!["e1".into(), "e2".into()],
            first_seen: Utc.with_ymd_and_hms(2024, 5, 6, 9, minute, 0).unwrap(),
            last_seen: Utc.with_ymd_and_hms(2024, 5, 6, 9, minute + 1, 0).unwrap(),
            count: 2,
            notified: false,
            first_action: "Reset the password.".into(),
            technique: "T1110.001".into(),
            details: BTreeMap::new(),
            enrichment: None,
        }
    }

    #[test]
    fn a_json_line_carries_the_fields_tools_read() {
        let line = json_line(&alert("a1", 0, "jane"));

        let value: Value = serde_json::from_str(&line).unwrap();
        for key in [
            "alert_id",
            "rule_id",
            "title",
            "severity",
            "area",
            "route",
            "event_ids",
            "first_seen",
            "last_seen",
            "count",
        ] {
            assert!(value.get(key).is_some(), "{key} missing from {line}");
        }
        assert!(!line.contains('\n'));
    }

    #[test]
    fn the_table_is_aligned_oldest_first_and_free_of_control_characters() {
        let alerts = [
            alert("b", 30, "bob\u{1b}[2J\nforged row"),
            alert("a", 10, "jane"),
        ];

        let text = table(&alerts);

        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("FIRST SEEN (UTC)"));
        assert!(lines[1].contains("jane") && lines[2].contains("bob"));
        assert!(!text.contains('\u{1b}'));
        assert_eq!(lines[1].find("DUET"), lines[2].find("DUET"));
        assert_eq!(lines[3], "2 alerts");
    }

    #[test]
    fn an_enriched_alert_shows_who_and_where_under_its_row() {
        use jcwatch_model::enrichment::{
            Activity, AddressContext, LookupOutcome, PersonContext, Profile, Role,
        };
        let mut enriched = alert("a", 10, "jane");
        enriched.enrichment = Some(jcwatch_model::Enrichment {
            people: vec![PersonContext {
                role: Role::Actor,
                identity: "jane".into(),
                lookup: LookupOutcome::Found,
                profile: Some(Profile {
                    id: "u1".into(),
                    name: Some("Jane Doe".into()),
                    job_title: Some("Senior Accountant\u{1b}[2J".into()),
                    department: Some("Finance".into()),
                    ..Profile::default()
                }),
                cached: false,
            }],
            address: Some(AddressContext {
                ip: "10.0.0.1".into(),
                internal: true,
                ..AddressContext::default()
            }),
            activity: Some(Activity {
                events: 3,
                logins_failed: 3,
                ..Activity::default()
            }),
            notes: vec![],
        });

        let text = table(&[enriched, alert("b", 20, "bob")]);

        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[2].starts_with("    └ Jane Doe (Senior Accountant"),
            "{text}"
        );
        assert!(
            lines[2].contains("Finance) · private network address"),
            "{text}"
        );
        assert!(
            lines[3].contains("around it: 3 events: 3 failed logins"),
            "{text}"
        );
        assert!(lines[4].contains("bob"), "{text}");
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn an_empty_list_says_so() {
        assert_eq!(table(&[]), "No alerts.\n");
    }
}
