//! Loading the configured address lists once per cold start (inline networks, local files,
//! S3 objects) into an [`AddressBook`], and handing the lists marked `allow_in` to the rule
//! engine as allow-list networks.
//!
//! Design choice: the rule engine learns about address lists through the allow-lists it
//! already has (`detection.allow.cidrs` for every rule, `detection.rules."<id>".allow.cidrs`
//! for one), so skipping impossible travel through the corporate VPN needs no new engine
//! concept and is validated by the engine like any allow-list. Raising severity for an
//! anonymising address is done by enrichment (`raise_severity`), once per alert, after the
//! rules ran; the [`AddressBook`] lives in the model crate so the engine can also consult it
//! directly should a rule ever need an address's nature.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use ipnet::IpNet;
use jcwatch_model::address::{AddressBook, Nature, parse_list_text, parse_network};

use crate::config::{ConfigError, ConfigErrors, DetectionConfig};
use crate::enrich::settings::AddressListConfig;

/// Reads the text of an address-list file.
#[async_trait]
pub trait ListSource: Send + Sync {
    /// The text at `location` (a path, or `s3://bucket/key` where the adapter reads S3).
    /// The error says what went wrong, naming the location.
    async fn read_text(&self, location: &str) -> Result<String, String>;
}

/// Reads list files from the local disk (the CLI). `s3://` locations are refused with a
/// message saying they only work in AWS.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalFiles;

/// Largest list file read.
const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

#[async_trait]
impl ListSource for LocalFiles {
    async fn read_text(&self, location: &str) -> Result<String, String> {
        if location.starts_with("s3://") {
            return Err(format!(
                "{location} is an S3 object; the CLI reads address lists from local files \
                 (copy it down, or run in AWS)"
            ));
        }
        let path = std::path::PathBuf::from(location);
        let size = tokio::fs::metadata(&path)
            .await
            .map_err(|e| format!("{location} cannot be read: {e}"))?
            .len();
        if size > MAX_FILE_BYTES {
            return Err(format!(
                "{location} is {size} bytes, more than an address list of {MAX_FILE_BYTES} bytes"
            ));
        }
        tokio::fs::read_to_string(&path)
            .await
            .map_err(|e| format!("{location} cannot be read as text: {e}"))
    }
}

/// One loaded list.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedList {
    pub name: String,
    pub nature: Nature,
    pub networks: Vec<IpNet>,
    pub allow_in: Vec<String>,
    pub raise_severity: bool,
}

/// Every configured list, loaded.
#[derive(Debug, Clone, Default)]
pub struct AddressLists {
    pub book: AddressBook,
    pub lists: Vec<LoadedList>,
}

impl AddressLists {
    /// The names of the lists whose addresses raise an alert's severity.
    pub fn raising(&self) -> BTreeSet<String> {
        self.lists
            .iter()
            .filter(|l| l.raise_severity)
            .map(|l| l.name.clone())
            .collect()
    }

    /// Total networks across all lists.
    pub fn networks(&self) -> usize {
        self.lists.iter().map(|l| l.networks.len()).sum()
    }

    /// The detection settings with the `allow_in` lists added to the allow-lists they name.
    /// An unknown rule id is then reported by the engine's own validation.
    pub fn feed_allow_lists(
        &self,
        detection: &DetectionConfig,
    ) -> Result<DetectionConfig, ConfigErrors> {
        let fail = |message: String| ConfigErrors {
            origin: "address lists".into(),
            errors: vec![ConfigError {
                path: "addresses".into(),
                message,
            }],
        };
        if self.lists.iter().all(|l| l.allow_in.is_empty()) {
            return Ok(detection.clone());
        }
        let mut document = toml::Value::try_from(detection)
            .map_err(|e| fail(format!("the detection settings cannot be extended: {e}")))?;
        for list in &self.lists {
            let cidrs: Vec<toml::Value> = list
                .networks
                .iter()
                .map(|n| toml::Value::String(n.to_string()))
                .collect();
            for rule in &list.allow_in {
                let path: Vec<&str> = if rule.trim() == "*" {
                    vec!["allow", "cidrs"]
                } else {
                    vec!["rules", rule.trim(), "allow", "cidrs"]
                };
                append_at(&mut document, &path, &cidrs)
                    .map_err(|e| fail(format!("list {}: {e}", list.name)))?;
            }
        }
        document
            .try_into::<DetectionConfig>()
            .map_err(|e| fail(format!("the detection settings with address lists: {e}")))
    }
}

/// Appends `items` to the array at `path`, creating tables and the array as needed.
fn append_at(
    document: &mut toml::Value,
    path: &[&str],
    items: &[toml::Value],
) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("empty path".into());
    };
    let mut current = document;
    for key in parents {
        let table = current
            .as_table_mut()
            .ok_or_else(|| format!("{key} is not a table"))?;
        current = table
            .entry(key.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    }
    let table = current
        .as_table_mut()
        .ok_or_else(|| format!("{} is not a table", path.join(".")))?;
    let array = table
        .entry(last.to_string())
        .or_insert_with(|| toml::Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(|| format!("{} is not a list", path.join(".")))?;
    array.extend(items.iter().cloned());
    Ok(())
}

/// Loads every list (its inline networks and its file), reporting every problem at once.
pub async fn load_address_lists(
    config: &BTreeMap<String, AddressListConfig>,
    source: &dyn ListSource,
) -> Result<AddressLists, ConfigErrors> {
    let mut errors = Vec::new();
    let mut loaded = AddressLists::default();
    for (name, list) in config {
        let at = |key: &str| format!("addresses.{name}.{key}");
        let nature = match list.nature.parse::<Nature>() {
            Ok(nature) => nature,
            Err(message) => {
                errors.push(ConfigError {
                    path: at("nature"),
                    message,
                });
                continue;
            }
        };
        let mut networks = Vec::new();
        for (i, cidr) in list.cidrs.iter().enumerate() {
            match parse_network(cidr) {
                Ok(net) => networks.push(net),
                Err(message) => errors.push(ConfigError {
                    path: format!("addresses.{name}.cidrs.{i}"),
                    message,
                }),
            }
        }
        if let Some(file) = list.file.as_deref().map(str::trim) {
            match source.read_text(file).await {
                Ok(text) => match parse_list_text(&text, file) {
                    Ok(more) => networks.extend(more),
                    Err(e) => errors.push(ConfigError {
                        path: at("file"),
                        message: e.to_string(),
                    }),
                },
                Err(message) => errors.push(ConfigError {
                    path: at("file"),
                    message,
                }),
            }
        }
        if let Err(e) = loaded
            .book
            .add_list(name, nature, list.label.as_deref(), &networks)
        {
            errors.push(ConfigError {
                path: format!("addresses.{name}"),
                message: e.to_string(),
            });
        }
        loaded.lists.push(LoadedList {
            name: name.clone(),
            nature,
            networks,
            allow_in: list.allow_in.clone(),
            raise_severity: list.raise_severity,
        });
    }
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(ConfigErrors {
            origin: "address lists".into(),
            errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Files(HashMap<&'static str, &'static str>);

    #[async_trait]
    impl ListSource for Files {
        async fn read_text(&self, location: &str) -> Result<String, String> {
            self.0
                .get(location)
                .map(|t| t.to_string())
                .ok_or_else(|| format!("{location} does not exist"))
        }
    }

    fn list(nature: &str, cidrs: &[&str], file: Option<&str>) -> AddressListConfig {
        AddressListConfig {
            nature: nature.into(),
            label: None,
            cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
            file: file.map(str::to_owned),
            allow_in: vec![],
            raise_severity: false,
        }
    }

    #[tokio::test]
    async fn inline_networks_and_files_join_one_book() {
        let files = Files(HashMap::from([(
            "s3://b/tor.txt",
            "ExitAddress 203.0.113.45 2026-01-01\n",
        )]));
        let config = BTreeMap::from([
            (
                "office".to_string(),
                list("corporate", &["192.0.2.0/24"], None),
            ),
            (
                "tor".to_string(),
                list("anonymising", &[], Some("s3://b/tor.txt")),
            ),
        ]);

        let loaded = load_address_lists(&config, &files).await.unwrap();

        assert_eq!(loaded.networks(), 2);
        assert_eq!(loaded.book.lookup_text("203.0.113.45")[0].list, "tor");
        assert_eq!(
            loaded.book.lookup_text("192.0.2.99")[0].nature,
            Nature::Corporate
        );
    }

    #[tokio::test]
    async fn every_unreadable_file_and_bad_line_is_named() {
        let files = Files(HashMap::from([("vpn.txt", "198.51.100.0/24\nnot-an-ip\n")]));
        let config = BTreeMap::from([
            ("vpn".to_string(), list("vpn", &[], Some("vpn.txt"))),
            ("gone".to_string(), list("cloud", &[], Some("missing.txt"))),
        ]);

        let errors = load_address_lists(&config, &files).await.unwrap_err();

        let text = errors.to_string();
        assert_eq!(errors.errors.len(), 2, "{text}");
        assert!(
            text.contains("addresses.vpn.file: vpn.txt line 2"),
            "{text}"
        );
        assert!(
            text.contains("addresses.gone.file: missing.txt does not exist"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn the_cli_refuses_s3_lists_with_a_clear_reason() {
        let error = LocalFiles
            .read_text("s3://bucket/tor.txt")
            .await
            .unwrap_err();

        assert!(
            error.contains("reads address lists from local files"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn allow_in_lists_reach_the_global_and_per_rule_allow_lists() {
        let mut vpn = list("vpn", &["198.51.100.0/24"], None);
        vpn.allow_in = vec!["jc.login.impossible_travel".into()];
        let mut automation = list("automation", &["192.0.2.7"], None);
        automation.allow_in = vec!["*".into()];
        let config = BTreeMap::from([
            ("vpn".to_string(), vpn),
            ("hr-sync".to_string(), automation),
        ]);
        let loaded = load_address_lists(&config, &LocalFiles).await.unwrap();

        let detection = loaded
            .feed_allow_lists(&DetectionConfig::default())
            .unwrap();

        let value = toml::Value::try_from(&detection).unwrap();
        assert_eq!(
            value["allow"]["cidrs"].as_array().unwrap()[0].as_str(),
            Some("192.0.2.7/32")
        );
        assert_eq!(
            value["rules"]["jc.login.impossible_travel"]["allow"]["cidrs"][0].as_str(),
            Some("198.51.100.0/24")
        );
    }
}
