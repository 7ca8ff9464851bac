//! Making attacker-controlled text safe for each channel a notification goes to.
//!
//! Everything taken from an event (user names, application labels, user agents, change
//! values, error messages) is controlled by whoever produced the event. Before it reaches a
//! person it is cleaned (control, invisible and bidirectional-override characters replaced,
//! so a name cannot forge extra lines or reorder what is shown), bounded in length, and then
//! escaped for the channel: the email subject is printable ASCII, email text has its links
//! defanged, Slack text has its markup, mentions and link syntax neutralised.

/// Replacement shown where an invisible or reordering character was.
const REPLACEMENT: char = '\u{FFFD}';

/// Whether a character could hide, reorder or fake text: C0/C1 controls, bidirectional
/// embeddings, overrides and isolates, zero-width and other invisible format characters.
fn is_deceptive(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}')
}

/// One line of text: line breaks and tabs become spaces, other deceptive characters become
/// U+FFFD (so tampering stays visible), runs of spaces collapse, and the result is cut to
/// `max_chars` characters with an ellipsis.
pub fn clean_line(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    let mut last_space = true;
    let mut chars = 0usize;
    for c in text.chars() {
        let c = match c {
            '\n' | '\r' | '\t' | '\u{000B}' | '\u{000C}' | '\u{0085}' | '\u{2028}' | '\u{2029}' => {
                ' '
            }
            c if is_deceptive(c) => REPLACEMENT,
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        if chars + 1 > max_chars {
            let trimmed = out.trim_end().len();
            out.truncate(trimmed);
            out.push('…');
            return out;
        }
        out.push(c);
        chars += 1;
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// Text for a plain-text email: cleaned, bounded, and with link schemes broken (`https://x`
/// becomes `https[:]//x`) so that mail clients do not turn attacker text into a clickable
/// link.
pub fn email_line(text: &str, max_chars: usize) -> String {
    defang(&clean_line(text, max_chars))
}

/// Breaks what mail and chat clients auto-link: URL schemes and `www.` prefixes.
pub fn defang(text: &str) -> String {
    let mut out = text.replace("://", "[:]//");
    for prefix in ["www.", "WWW."] {
        out = out.replace(prefix, &format!("{}[.]", &prefix[..3]));
    }
    out
}

/// An SNS subject: printable ASCII only (anything else becomes `?`), one line, at most
/// `max_chars` characters.
pub fn ascii_subject(text: &str, max_chars: usize) -> String {
    let cleaned = clean_line(text, usize::MAX);
    let mut out: String = cleaned
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect();
    if out.len() > max_chars {
        out.truncate(max_chars.saturating_sub(3));
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push_str("...");
    }
    out
}

/// Slack's three mandatory escapes, which also disarm `<!channel>`, `<@U123>` and
/// `<https://x|label>` syntax.
fn slack_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Breaks plain-text broadcast mentions (`@channel`, `@here`, `@everyone`) with a word
/// joiner after the `@`, which keeps them readable but not live.
fn disarm_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let lower = rest.to_ascii_lowercase();
        if ["channel", "here", "everyone", "group"]
            .iter()
            .any(|word| lower.starts_with(word))
        {
            out.push('\u{2060}');
        }
    }
    out.push_str(rest);
    out
}

/// Attacker text shown verbatim in Slack: cleaned, bounded and set as inline code, where
/// Slack applies no bold, italics or strike-through. A backtick inside would end the code
/// span, so it becomes a look-alike (U+02CB).
pub fn slack_code(text: &str, max_chars: usize) -> String {
    let cleaned = clean_line(text, max_chars).replace('`', "\u{02CB}");
    if cleaned.is_empty() {
        return "`(empty)`".to_string();
    }
    format!("`{}`", disarm_mentions(&defang(&slack_entities(&cleaned))))
}

/// Attacker text inside ordinary Slack prose (a title): cleaned, bounded, escaped, with the
/// markup characters replaced by look-alikes so they cannot restyle the message.
pub fn slack_plain(text: &str, max_chars: usize) -> String {
    let cleaned: String = clean_line(text, max_chars)
        .chars()
        .map(|c| match c {
            '*' => '\u{2217}',
            '_' => '\u{02CD}',
            '~' => '\u{223C}',
            '`' => '\u{02CB}',
            c => c,
        })
        .collect();
    disarm_mentions(&defang(&slack_entities(&cleaned)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_line_breaks_stays_on_one_line() {
        let cleaned = clean_line("alice\n\nSeverity: LOW\r\nAll clear", 200);

        assert_eq!(cleaned, "alice Severity: LOW All clear");
    }

    #[test]
    fn bidi_overrides_and_zero_width_characters_become_visible_replacements() {
        let cleaned = clean_line("evil\u{202E}gpj.exe\u{200B}x\u{2066}", 200);

        assert_eq!(cleaned, "evil\u{FFFD}gpj.exe\u{FFFD}x\u{FFFD}");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let cleaned = clean_line(&"a".repeat(10_000), 50);

        assert_eq!(cleaned.chars().count(), 51);
        assert!(cleaned.ends_with('…'));
    }

    #[test]
    fn the_subject_is_printable_ascii_within_its_limit() {
        let subject = ascii_subject("Login by J\u{00F6}rg\nfrom \u{202E}evil", 40);

        assert!(subject.chars().all(|c| c.is_ascii_graphic() || c == ' '));
        assert!(subject.starts_with("Login by J?rg from ?evil"));
        assert!(ascii_subject(&"x".repeat(500), 99).len() <= 99);
    }

    #[test]
    fn slack_mentions_and_link_syntax_are_disarmed() {
        let text = slack_code("<!channel> @here <https://evil.example|click> & more", 200);

        assert!(!text.contains("<!channel>"));
        assert!(!text.contains('<'));
        assert!(!text.contains("https://"));
        assert!(text.contains("&lt;!channel&gt;"));
        assert!(text.contains("@\u{2060}here"));
        assert!(text.contains("&amp;"));
    }

    #[test]
    fn backticks_cannot_end_a_code_span_early() {
        let text = slack_code("x` *bold* `y", 200);

        assert_eq!(text.matches('`').count(), 2);
        assert!(text.starts_with('`') && text.ends_with('`'));
    }

    #[test]
    fn plain_slack_text_loses_its_markup_characters() {
        let text = slack_plain("*urgent* _now_ ~gone~ `code`", 200);

        assert!(!text.contains(['*', '_', '~', '`']), "{text}");
    }

    #[test]
    fn email_text_defangs_links() {
        assert_eq!(
            email_line("see https://evil.example and www.evil.example", 200),
            "see https[:]//evil.example and www[.]evil.example"
        );
    }
}
