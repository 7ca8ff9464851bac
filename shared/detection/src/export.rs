//! Reading exported Directory Insights events: a JSON array, or JSON lines (one event per
//! line, blank lines ignored). A malformed line or element is reported with its position and
//! skipped; the rest is kept.

use jcwatch_model::Event;
use serde_json::Value;

/// What one export held.
#[derive(Debug, Default)]
pub struct Export {
    pub events: Vec<Event>,
    /// One line per malformed event: where it was and what is wrong.
    pub problems: Vec<String>,
    /// Set when the text could not be read as events at all (nothing was taken from it).
    pub unreadable: bool,
}

/// Reads the events in `text`; `origin` names it in problems (`events.jsonl`, `stdin`).
pub fn parse_export(text: &str, origin: &str) -> Export {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('[') {
        return parse_array(trimmed, origin);
    }
    parse_lines(text, origin)
}

fn parse_array(text: &str, origin: &str) -> Export {
    let mut export = Export::default();
    let items: Vec<Value> = match serde_json::from_str(text) {
        Ok(items) => items,
        Err(e) => {
            export.unreadable = true;
            export.problems.push(format!(
                "{origin}: not a valid JSON array (line {}, column {}): {e}",
                e.line(),
                e.column()
            ));
            return export;
        }
    };
    for (index, item) in items.into_iter().enumerate() {
        match Event::from_value(item) {
            Ok(event) => export.events.push(event),
            Err(e) => export
                .problems
                .push(format!("{origin}: element {}: {e}", index + 1)),
        }
    }
    export
}

fn parse_lines(text: &str, origin: &str) -> Export {
    let mut export = Export::default();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<Value>(line)
            .map_err(|e| format!("not JSON: {e}"))
            .and_then(|value| Event::from_value(value).map_err(|e| e.to_string()));
        match parsed {
            Ok(event) => export.events.push(event),
            Err(reason) => export
                .problems
                .push(format!("{origin}:{}: {reason}", index + 1)),
        }
    }
    export
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_keep_good_events_and_name_bad_lines_by_number() {
        let text = concat!(
            "{\"id\":\"a\",\"timestamp\":\"2024-01-01T00:00:00Z\"}\n",
            "\n",
            "{not json\n",
            "{\"id\":\"b\"}\n",
            "{\"id\":\"c\",\"timestamp\":\"2024-01-01T00:00:01Z\"}\n",
        );

        let export = parse_export(text, "events.jsonl");

        let ids: Vec<&str> = export.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(export.problems.len(), 2);
        assert!(export.problems[0].starts_with("events.jsonl:3: not JSON"));
        assert!(export.problems[1].starts_with("events.jsonl:4:"));
        assert!(export.problems[1].contains("timestamp"));
        assert!(!export.unreadable);
    }

    #[test]
    fn an_array_keeps_good_elements_and_names_bad_ones() {
        let text = r#"[ {"id":"a","timestamp":"2024-01-01T00:00:00Z"}, 7 ]"#;

        let export = parse_export(text, "export.json");

        assert_eq!(export.events.len(), 1);
        assert_eq!(
            export.problems,
            ["export.json: element 2: event is not a JSON object (found a number)"]
        );
    }

    #[test]
    fn a_broken_array_is_reported_as_unreadable() {
        let export = parse_export("[{\"id\":", "broken.json");

        assert!(export.unreadable);
        assert!(
            export.problems[0].contains("line 1"),
            "{:?}",
            export.problems
        );
    }
}
