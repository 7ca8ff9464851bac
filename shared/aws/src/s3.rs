//! Reads text objects (the TOML configuration, address lists) from S3 given an
//! `s3://bucket/key` location.

use std::fmt;
use std::str::FromStr;

use aws_sdk_s3::error::DisplayErrorContext;

/// Largest object read as text; a configuration file is a few kilobytes, so anything bigger
/// is a wrong location rather than a file to load into memory.
const MAX_OBJECT_BYTES: usize = 16 * 1024 * 1024;

/// An `s3://bucket/key` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
}

impl FromStr for S3Location {
    type Err = S3Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |problem: &str| S3Error::BadLocation {
            location: s.to_string(),
            problem: problem.to_string(),
        };
        let rest = s
            .strip_prefix("s3://")
            .ok_or_else(|| bad("it must start with s3://"))?;
        let (bucket, key) = rest
            .split_once('/')
            .ok_or_else(|| bad("it must name an object: s3://bucket/key"))?;
        if bucket.is_empty() {
            return Err(bad("the bucket name is empty"));
        }
        if key.is_empty() {
            return Err(bad("the object key is empty"));
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// Why an S3 object could not be read.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("{location:?} is not an S3 location: {problem}")]
    BadLocation { location: String, problem: String },
    #[error("{location} does not exist")]
    NotFound { location: S3Location },
    #[error("reading {location} failed: {detail}")]
    Call {
        location: S3Location,
        detail: String,
    },
    #[error(
        "{location} is {bytes} bytes, more than the {MAX_OBJECT_BYTES} bytes a text file may have"
    )]
    TooLarge { location: S3Location, bytes: usize },
    #[error("{location} is not UTF-8 text")]
    NotText { location: S3Location },
}

/// Reads text files from S3.
#[derive(Debug, Clone)]
pub struct S3ConfigLoader {
    client: aws_sdk_s3::Client,
}

impl S3ConfigLoader {
    /// `client` should come from [`crate::s3_client`], which handles emulator endpoints.
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3ConfigLoader { client }
    }

    /// Reads the object at `location` (`s3://bucket/key`) as UTF-8 text.
    pub async fn load_text(&self, location: &str) -> Result<String, S3Error> {
        let location: S3Location = location.parse()?;

        let output = self
            .client
            .get_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .send()
            .await
            .map_err(|e| {
                let not_found = e.as_service_error().is_some_and(|se| se.is_no_such_key());
                if not_found {
                    S3Error::NotFound {
                        location: location.clone(),
                    }
                } else {
                    S3Error::Call {
                        location: location.clone(),
                        detail: DisplayErrorContext(&e).to_string(),
                    }
                }
            })?;
        if let Some(length) = output.content_length
            && length > MAX_OBJECT_BYTES as i64
        {
            return Err(S3Error::TooLarge {
                location,
                bytes: length as usize,
            });
        }

        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| S3Error::Call {
                location: location.clone(),
                detail: format!("reading the body: {e}"),
            })?
            .into_bytes();
        if bytes.len() > MAX_OBJECT_BYTES {
            return Err(S3Error::TooLarge {
                location,
                bytes: bytes.len(),
            });
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| S3Error::NotText { location })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_splits_into_bucket_and_key() {
        let location: S3Location = "s3://my-bucket/config/jcwatch.toml".parse().unwrap();

        assert_eq!(location.bucket, "my-bucket");
        assert_eq!(location.key, "config/jcwatch.toml");
        assert_eq!(location.to_string(), "s3://my-bucket/config/jcwatch.toml");
    }

    #[test]
    fn malformed_locations_say_what_is_wrong() {
        let cases = [
            ("https://b/k", "must start with s3://"),
            ("s3://bucket", "must name an object"),
            ("s3:///key", "bucket name is empty"),
            ("s3://bucket/", "object key is empty"),
        ];

        for (text, expected) in cases {
            let message = text.parse::<S3Location>().unwrap_err().to_string();

            assert!(message.contains(expected), "{text}: {message}");
        }
    }
}
