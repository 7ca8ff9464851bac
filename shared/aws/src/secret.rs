//! The JumpCloud credential from AWS Secrets Manager, read once per cold start.
//!
//! The secret holds one of: a bare API key, `{"api_key": "..."}`, or a service account
//! `{"client_id": "...", "client_secret": "..."}`. The result is the Directory Insights
//! client's [`Credential`], whose secrets print as a placeholder; errors here name the secret
//! and the shape that was wrong, never the value.

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use jcwatch_dirinsights::{Credential, Secret};
use serde_json::Value;

/// Why the credential could not be loaded. No variant carries the secret's value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "secret {secret_id} was not found or has no current value (check JC_SECRET_ARN, the region, and that a value was put into it)"
    )]
    NotFound { secret_id: String },
    #[error(
        "secret {secret_id} has no value yet: put the JumpCloud API key or service-account JSON into it"
    )]
    Empty { secret_id: String },
    #[error("secret {secret_id} is malformed: {problem}")]
    Malformed { secret_id: String, problem: String },
    #[error("reading secret {secret_id} failed: {detail}")]
    Call { secret_id: String, detail: String },
}

/// Reads the JumpCloud credential from Secrets Manager.
#[derive(Debug, Clone)]
pub struct SecretLoader {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretLoader {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        SecretLoader { client }
    }

    /// Loads and parses the credential held in `secret_id` (a name or an ARN).
    pub async fn load(&self, secret_id: &str) -> Result<Credential, SecretError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| {
                let not_found = e
                    .as_service_error()
                    .is_some_and(|se| se.is_resource_not_found_exception());
                if not_found {
                    SecretError::NotFound {
                        secret_id: secret_id.to_string(),
                    }
                } else {
                    SecretError::Call {
                        secret_id: secret_id.to_string(),
                        detail: DisplayErrorContext(&e).to_string(),
                    }
                }
            })?;

        let Some(text) = output.secret_string else {
            return Err(SecretError::Malformed {
                secret_id: secret_id.to_string(),
                problem: "it holds binary data; store the credential as a string".into(),
            });
        };
        parse_secret(secret_id, &text)
    }
}

/// Parses a secret's text into a credential (the pure half of [`SecretLoader::load`]).
pub fn parse_secret(secret_id: &str, text: &str) -> Result<Credential, SecretError> {
    let malformed = |problem: &str| SecretError::Malformed {
        secret_id: secret_id.to_string(),
        problem: problem.to_string(),
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(SecretError::Empty {
            secret_id: secret_id.to_string(),
        });
    }

    if !text.starts_with('{') {
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(malformed(
                "a bare API key must be one word without spaces or line breaks",
            ));
        }
        return Ok(Credential::ApiKey(Secret::new(text)));
    }

    // serde_json's messages quote no input, only positions, so they are safe to pass on;
    // still, say only that it is not JSON.
    let json: Value = serde_json::from_str(text)
        .map_err(|_| malformed("it starts with `{` but is not valid JSON"))?;
    let field = |name: &str| -> Result<Option<String>, SecretError> {
        match json.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
            Some(_) => Err(malformed(&format!("`{name}` must be a non-empty string"))),
        }
    };

    if let Some(api_key) = field("api_key")? {
        return Ok(Credential::ApiKey(Secret::new(api_key)));
    }
    match (field("client_id")?, field("client_secret")?) {
        (Some(client_id), Some(client_secret)) => Ok(Credential::ServiceAccount {
            client_id,
            client_secret: Secret::new(client_secret),
        }),
        (Some(_), None) => Err(malformed(
            "`client_id` is set but `client_secret` is missing",
        )),
        (None, Some(_)) => Err(malformed(
            "`client_secret` is set but `client_id` is missing",
        )),
        (None, None) => Err(malformed(
            "the JSON needs `api_key`, or `client_id` and `client_secret`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:jc";

    /// (kind, client id, secret value), to compare credentials in assertions.
    fn parts(credential: &Credential) -> (&'static str, Option<&str>, &str) {
        match credential {
            Credential::ApiKey(key) => ("api_key", None, key.expose()),
            Credential::ServiceAccount {
                client_id,
                client_secret,
            } => ("service_account", Some(client_id), client_secret.expose()),
        }
    }

    #[test]
    fn a_bare_string_is_an_api_key() {
        let credential = parse_secret(ID, "  k3y-value\n").unwrap();

        assert_eq!(parts(&credential), ("api_key", None, "k3y-value"));
    }

    #[test]
    fn json_with_api_key_is_an_api_key() {
        let credential = parse_secret(ID, r#"{"api_key": "abc123"}"#).unwrap();

        assert_eq!(parts(&credential), ("api_key", None, "abc123"));
    }

    #[test]
    fn json_with_client_id_and_secret_is_a_service_account() {
        let credential =
            parse_secret(ID, r#"{"client_id": "cid", "client_secret": "csec"}"#).unwrap();

        assert_eq!(parts(&credential), ("service_account", Some("cid"), "csec"));
    }

    #[test]
    fn debug_output_never_shows_the_value() {
        let key = parse_secret(ID, "supersecretkey").unwrap();
        let account = parse_secret(
            ID,
            r#"{"client_id": "cid", "client_secret": "supersecretcs"}"#,
        )
        .unwrap();

        let printed = format!("{key:?} {account:?}");

        assert!(!printed.contains("supersecret"), "{printed}");
        assert!(
            printed.contains("cid"),
            "the client id is not secret: {printed}"
        );
    }

    #[test]
    fn malformed_shapes_are_named_without_the_value() {
        let cases = [
            (r#"{"client_id": "cid"}"#, "client_secret` is missing"),
            (
                r#"{"client_secret": "hunter2hunter2"}"#,
                "client_id` is missing",
            ),
            (r#"{"api_key": 42}"#, "`api_key` must be a non-empty string"),
            (r#"{"token": "hunter2hunter2"}"#, "needs `api_key`"),
            (r#"{"api_key": "hunter2hunter2""#, "not valid JSON"),
            ("hunter2 hunter2", "one word"),
        ];

        for (text, expected) in cases {
            let message = parse_secret(ID, text).unwrap_err().to_string();

            assert!(message.contains(expected), "{text}: {message}");
            assert!(!message.contains("hunter2"), "{text}: {message}");
            assert!(message.contains(ID), "{text}: {message}");
        }
    }

    #[test]
    fn an_empty_secret_says_to_put_a_value() {
        let err = parse_secret(ID, "  \n").unwrap_err();

        assert!(matches!(err, SecretError::Empty { .. }));
        assert!(err.to_string().contains("has no value yet"));
    }
}
