//! The catalogue as documentation: a Markdown table (for the README's docs page) and a JSON
//! form (for `jcwatch rules --format json` and other tools).

use serde_json::{Value, json};

use crate::rule::Rule;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn knob_list(rule: &Rule) -> String {
    rule.knobs
        .iter()
        .map(|k| format!("`{}` = {}", k.name, k.default.render()))
        .collect::<Vec<_>>()
        .join("<br>")
}

/// The rule table in Markdown, followed by each rule's description and first action.
pub fn markdown(rules: &[Rule]) -> String {
    let mut out = String::new();
    out.push_str(
        "| Rule | Title | Area | Severity | Route | ATT&CK | Needs config | Knobs (defaults) |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for rule in rules {
        let needs = match &rule.needs_config {
            Some(n) => format!("yes: {}", n.hint),
            None => "no".to_string(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
            rule.id,
            cell(rule.title),
            rule.area,
            rule.severity,
            rule.route,
            rule.technique,
            cell(&needs),
            knob_list(rule),
        ));
    }
    out.push_str(
        "\njcwatch's own API key being refused (HTTP 401/402/403 to the poller) is reported by the \
         poll path as an operational notification (route `ops`), not by a rule: it is an outage \
         as much as a detection.\n",
    );
    out.push_str("\n## Rules in detail\n");
    for rule in rules {
        out.push_str(&format!(
            "\n### `{}`\n\n{}\n\n*Kind:* {}. *Area:* {}. *First action:* {}\n",
            rule.id,
            rule.description,
            rule.logic.kind_name(),
            rule.area.title(),
            rule.first_action
        ));
        if let Some(needs) = &rule.needs_config {
            out.push_str(&format!(
                "\n*Ships disabled until configured:* {}\n",
                needs.hint
            ));
        }
    }
    out
}

/// The catalogue as a JSON array, one object per rule.
pub fn json(rules: &[Rule]) -> Value {
    Value::Array(
        rules
            .iter()
            .map(|rule| {
                let knobs: Vec<Value> = rule
                    .knobs
                    .iter()
                    .map(|k| json!({"name": k.name, "kind": k.kind(), "default": k.default.render(), "doc": k.doc}))
                    .collect();
                json!({
                    "id": rule.id,
                    "title": rule.title,
                    "description": rule.description,
                    "area": rule.area,
                    "severity": rule.severity,
                    "route": rule.route,
                    "technique": rule.technique,
                    "kind": rule.logic.kind_name(),
                    "first_action": rule.first_action,
                    "enabled_by_default": rule.enabled_by_default(),
                    "needs_config": rule.needs_config.as_ref().map(|n| json!({"knobs": n.knobs, "hint": n.hint})),
                    "knobs": knobs,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;

    #[test]
    fn the_markdown_table_has_one_row_per_rule() {
        let rules = catalogue();

        let text = markdown(&rules);

        let rows = text.lines().filter(|l| l.starts_with("| `jc.")).count();
        assert_eq!(rows, rules.len());
    }

    #[test]
    fn the_json_form_names_every_rule_with_its_knobs() {
        let rules = catalogue();

        let value = json(&rules);

        let list = value.as_array().unwrap();
        assert_eq!(list.len(), rules.len());
        assert!(
            list.iter()
                .all(|r| r["id"].as_str().unwrap().starts_with("jc."))
        );
        assert!(
            list.iter()
                .all(|r| r["knobs"].as_array().is_some_and(|k| !k.is_empty()))
        );
    }
}
