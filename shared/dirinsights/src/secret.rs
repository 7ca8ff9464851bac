//! A string that must never be printed: API keys, client secrets and bearer tokens.

use std::fmt;

/// What every redacted value prints as.
pub const REDACTED: &str = "[redacted]";

/// A secret value. `Debug` and `Display` print [`REDACTED`]; the value is only reachable through
/// [`Secret::expose`], so reading it is a visible, greppable act.
///
/// N.B. there is deliberately no `Serialize`: a secret never goes into a stored or logged
/// document by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value. Surrounding whitespace (a trailing newline from a file or a secret
    /// store) is removed, because no JumpCloud credential contains it.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        let trimmed = value.trim();
        if trimmed.len() == value.len() {
            Self(value)
        } else {
            Self(trimmed.to_owned())
        }
    }

    /// The value itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty (a configuration mistake).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replaces every occurrence of this secret in `text` with [`REDACTED`].
    ///
    /// Used on text that came from outside (an error body, a transport error) before it goes
    /// into an error message, as a second line of defence.
    pub fn scrub(&self, text: &str) -> String {
        // A very short secret would match ordinary text; such a value is rejected at
        // configuration time, so this only guards against the empty string.
        if self.0.is_empty() {
            return text.to_owned();
        }
        text.replace(&self.0, REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::new("jca_abcdef0123456789");

        let printed = format!("{secret:?} {secret} {secret:#?}");

        assert!(!printed.contains("jca_abcdef"), "{printed}");
        assert!(printed.contains(REDACTED));
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        let secret = Secret::new("  jca_key\n");

        assert_eq!(secret.expose(), "jca_key");
    }

    #[test]
    fn scrub_replaces_every_occurrence() {
        let secret = Secret::new("jca_key123");

        let scrubbed = secret.scrub("key jca_key123 was jca_key123!");

        assert_eq!(scrubbed, "key [redacted] was [redacted]!");
    }
}
