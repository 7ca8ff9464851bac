//! The commented example configuration in the repository stays valid: it parses, and every
//! rule id and knob it names exists in the catalogue (the configuration check rejects
//! unknown ones, so parsing proves it).

use jcwatch_detection::config::{Config, Threshold};
use jcwatch_model::Severity;

const EXAMPLE: &str = include_str!("../../../config/jcwatch.example.toml");

#[test]
fn the_example_configuration_parses_with_every_rule_and_knob_it_names() {
    let config = Config::from_toml_named(EXAMPLE, "config/jcwatch.example.toml")
        .unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(config.notify.alert, Threshold::AtLeast(Severity::Medium));
    assert_eq!(
        config.notify.contact.as_deref(),
        Some("security@example.com")
    );
    assert!(
        config
            .detection
            .rules
            .contains_key("jc.auth.password_spray")
    );
    assert!(!config.detection.allow.cidrs.is_empty());
}

#[test]
fn the_example_sets_every_section_the_configuration_has() {
    let table: toml::Table = EXAMPLE.parse().unwrap();

    for section in ["poll", "detection", "notify"] {
        assert!(
            table.contains_key(section),
            "[{section}] missing from the example"
        );
    }
    let defaults = toml::Table::try_from(Config::default()).unwrap();
    for (section, keys) in &defaults {
        let Some(keys) = keys.as_table() else {
            continue;
        };
        for key in keys.keys() {
            let shown = table
                .get(section)
                .and_then(|s| s.as_table())
                .is_some_and(|s| s.contains_key(key));
            assert!(shown, "{section}.{key} is not shown in the example");
        }
    }
}

#[test]
fn a_misspelt_rule_id_or_knob_in_a_copy_of_the_example_is_named() {
    let broken = EXAMPLE
        .replace("jc.admin.mass_user_removal", "jc.admin.mass_user_remove")
        .replace("threshold = 10", "treshold = 10");

    let errors = Config::from_toml(&broken).unwrap_err().to_string();

    assert!(errors.contains("mass_user_remove"), "{errors}");
    assert!(errors.contains("treshold"), "{errors}");
}
