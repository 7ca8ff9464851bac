//! Timestamps and durations as Directory Insights and the configuration write them.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

/// Parses an RFC 3339 timestamp of any fractional precision (none to nanoseconds) and any
/// offset, keeping every digit up to nanoseconds.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| e.to_string())
}

/// Formats a time the way the Directory Insights API expects it: UTC with a `Z`, with as
/// many fractional digits as the time needs (none, milliseconds, micro- or nanoseconds).
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parses a duration written like `90s`, `10m`, `24h`, `7d` or `250ms`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration; write it like 90s, 10m, 24h or 7d"))?;
    let seconds = match unit {
        "ms" => return Ok(Duration::from_millis(value)),
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        other => {
            return Err(format!(
                "{text:?} has an unknown unit {other:?}; use ms, s, m, h or d"
            ));
        }
    };
    value
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// Writes a duration back in the shortest exact form (`90s`, `10m`, `24h`).
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_millis() != 0 || secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs.is_multiple_of(size) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    #[test]
    fn timestamps_of_every_precision_parse_without_loss() {
        let cases = [
            ("2023-06-15T15:16:41Z", 0),
            ("2023-06-16T14:06:45.921Z", 921_000_000),
            ("2023-06-15T14:48:36.495420839Z", 495_420_839),
            ("2023-06-15T14:48:36.49542083Z", 495_420_830),
            ("2023-06-15T16:48:36.1+02:00", 100_000_000),
        ];

        for (text, nanos) in cases {
            let t = parse_timestamp(text).unwrap();
            assert_eq!(t.nanosecond(), nanos, "{text}");
            assert_eq!(parse_timestamp(&format_timestamp(t)).unwrap(), t, "{text}");
        }
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(
            parse_duration("10 minutes")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_duration("m").is_err());
        assert_eq!(format_duration(Duration::from_secs(600)), "10m");
    }
}
