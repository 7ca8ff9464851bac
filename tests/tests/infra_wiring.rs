//! Holds the Terraform module in `infra/modules/jcwatch` against the code it deploys.
//!
//! The wiring check (`jcwatch_tests::infra::check_wiring`) runs on this repository and on
//! a miniature repository in `tests/fixtures/infra_wiring`; copies of both with one thing
//! broken prove that the check catches each kind of mismatch. The remaining tests assert
//! the facts the code relies on (handler, runtime, zip paths, table keys, TTL attribute,
//! schedule target, dead-letter queue size, log field of the metric filter, ...).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use hcl::expr::Expression;
use jcwatch_tests::infra::rust_source::{
    SourceFile, env_constants, literal_env_reads, method_chains, paths_after,
};
use jcwatch_tests::infra::sdk::sdk_calls;
use jcwatch_tests::infra::terraform::{
    attr, block, blocks, is_traversal, literal_bool, literal_number, literal_string,
    literal_strings,
};
use jcwatch_tests::infra::{TfModule, check_wiring, read_function_code};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the repository")
        .to_path_buf()
}

fn module_dir() -> PathBuf {
    repo_root().join("infra/modules/jcwatch")
}

fn example_dir() -> PathBuf {
    repo_root().join("infra/examples/basic")
}

fn fixture_repo() -> PathBuf {
    repo_root().join("tests/fixtures/infra_wiring")
}

fn module() -> TfModule {
    TfModule::load(&module_dir()).expect("the module parses")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create copy directory");
    for entry in fs::read_dir(from).expect("list directory") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Replaces the one occurrence of `old` in `path`, failing loudly if it is not there
/// exactly once, so a negative test never passes because its edit missed.
fn edit(path: &Path, old: &str, new: &str) {
    let text = fs::read_to_string(path).expect("read file to edit");
    assert_eq!(
        text.matches(old).count(),
        1,
        "{} should contain {old:?} exactly once",
        path.display()
    );
    fs::write(path, text.replacen(old, new, 1)).expect("write edited file");
}

/// A scratch copy of the fixture repository and of the module, to break one thing in.
struct Scratch {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    module: PathBuf,
}

fn scratch() -> Scratch {
    let dir = tempfile::tempdir().expect("temporary directory");
    let repo = dir.path().join("repo");
    let module = dir.path().join("module");
    copy_dir(&fixture_repo(), &repo);
    copy_dir(&module_dir(), &module);
    Scratch {
        _dir: dir,
        repo,
        module,
    }
}

fn problems(scratch: &Scratch) -> Vec<String> {
    check_wiring(&scratch.repo, &scratch.module).expect("the wiring check can read its inputs")
}

fn assert_one_problem_containing(problems: &[String], fragments: &[&str]) {
    assert_eq!(
        problems.len(),
        1,
        "expected exactly one problem, got {problems:#?}"
    );
    for fragment in fragments {
        assert!(
            problems[0].contains(fragment),
            "the problem should mention {fragment:?}: {}",
            problems[0]
        );
    }
}

fn function<'a>(module: &'a TfModule, name: &str) -> &'a hcl::Body {
    module
        .resources
        .get(&format!("aws_lambda_function.{name}"))
        .unwrap_or_else(|| panic!("aws_lambda_function.{name} exists"))
        .body()
}

fn resource<'a>(module: &'a TfModule, address: &str) -> &'a hcl::Body {
    module
        .resources
        .get(address)
        .unwrap_or_else(|| panic!("{address} exists"))
        .body()
}

fn refs_of(module: &TfModule, body: &hcl::Body, key: &str) -> BTreeSet<String> {
    module.resource_refs(attr(body, key).unwrap_or_else(|| panic!("attribute {key} is set")))
}

// ---------------------------------------------------------------------------------------
// The wiring check on real inputs

#[test]
fn the_module_is_wired_to_the_function_code_of_this_repository() {
    let repo = repo_root();

    let problems =
        check_wiring(&repo, &module_dir()).expect("the wiring check can read its inputs");

    assert!(
        problems.is_empty(),
        "the Terraform module and the function code disagree:\n- {}",
        problems.join("\n- ")
    );
}

#[test]
fn the_module_is_wired_to_a_fixture_repository_written_to_the_contract() {
    let repo = fixture_repo();

    let problems =
        check_wiring(&repo, &module_dir()).expect("the wiring check can read its inputs");

    assert!(
        problems.is_empty(),
        "unexpected problems:\n- {}",
        problems.join("\n- ")
    );
}

#[test]
fn the_fixture_functions_read_the_contracted_variables_and_calls() {
    let repo = fixture_repo();

    let poll = read_function_code(&repo, "poll").expect("read poll");
    let detect = read_function_code(&repo, "detect").expect("read detect");

    let poll_env: Vec<&str> = poll.env.keys().map(String::as_str).collect();
    assert_eq!(
        poll_env,
        [
            "AWS_LAMBDA_FUNCTION_NAME",
            "CURSOR_TABLE",
            "DETECT_FUNCTION",
            "JCWATCH_CONFIG_S3",
            "JC_BASE_URL",
            "JC_ORG_IDS",
            "JC_REGION",
            "JC_SECRET_ARN",
            "POLL_BACKFILL",
            "POLL_LAG",
            "POLL_OVERLAP",
            "POLL_SHARD_SIZE",
            "TOPIC_ARN",
        ]
    );
    let poll_actions: Vec<&str> = poll.calls.actions.keys().map(String::as_str).collect();
    assert_eq!(
        poll_actions,
        [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "lambda:InvokeFunction",
            "s3:GetObject",
            "secretsmanager:GetSecretValue",
            "sns:Publish",
        ]
    );
    let detect_env: Vec<&str> = detect.env.keys().map(String::as_str).collect();
    assert_eq!(
        detect_env,
        [
            "ALERTS_TABLE",
            "CACHE_TABLE",
            "JCWATCH_CONFIG_S3",
            "JC_BASE_URL",
            "JC_REGION",
            "JC_SECRET_ARN",
            "STATE_TABLE",
            "TOPIC_ARN"
        ]
    );
    let detect_actions: Vec<&str> = detect.calls.actions.keys().map(String::as_str).collect();
    assert_eq!(
        detect_actions,
        [
            "dynamodb:BatchGetItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "s3:GetObject",
            "secretsmanager:GetSecretValue",
            "sns:Publish",
        ]
    );
    assert!(poll.problems.is_empty() && detect.problems.is_empty());
}

#[test]
fn an_adapter_only_the_cli_uses_does_not_widen_a_function_role() {
    let repo = fixture_repo();

    let detect = read_function_code(&repo, "detect").expect("read detect");

    assert!(
        !detect.adapter_files.iter().any(|f| f.ends_with("dlq.rs")),
        "detect does not use the dead-letter reader: {:?}",
        detect.adapter_files
    );
    assert!(
        detect
            .adapter_files
            .iter()
            .any(|f| f.ends_with("alerts.rs"))
    );
    assert!(!detect.calls.actions.contains_key("sqs:ReceiveMessage"));
}

#[test]
fn an_adapter_method_counts_once_the_function_calls_it() {
    let scratch = scratch();
    edit(
        &scratch.repo.join("functions/detect/src/main.rs"),
        "    alerts.unnotified().await;\n",
        "    alerts.unnotified().await;\n    alerts.everything().await;\n",
    );

    let problems = problems(&scratch);

    assert_one_problem_containing(
        &problems,
        &[
            "does not allow dynamodb:Scan",
            "shared/aws/src/alerts.rs:",
            ".scan()",
        ],
    );
}

// ---------------------------------------------------------------------------------------
// The wiring check catches each kind of mismatch

#[test]
fn an_environment_variable_the_code_reads_but_terraform_does_not_set_is_reported() {
    let scratch = scratch();
    edit(
        &scratch.module.join("locals.tf"),
        "    STATE_TABLE       = aws_dynamodb_table.state.name\n    TOPIC_ARN         = aws_sns_topic.alerts.arn\n",
        "    STATE_TABLE       = aws_dynamodb_table.state.name\n",
    );

    let problems = problems(&scratch);

    assert!(
        problems
            .iter()
            .any(|p| p.contains("function detect reads TOPIC_ARN")
                && p.contains("functions/detect/src/config.rs")
                && p.contains("does not set it on aws_lambda_function.detect")),
        "{problems:#?}"
    );
}

#[test]
fn an_environment_variable_terraform_sets_but_the_code_never_reads_is_reported() {
    let scratch = scratch();
    edit(
        &scratch.repo.join("functions/poll/src/config.rs"),
        "pub const POLL_BACKFILL_ENV: &str = \"POLL_BACKFILL\";\n",
        "",
    );

    let problems = problems(&scratch);

    assert_one_problem_containing(
        &problems,
        &[
            "aws_lambda_function.poll sets POLL_BACKFILL",
            "never reads it",
        ],
    );
}

#[test]
fn an_iam_action_the_code_never_calls_is_reported() {
    let scratch = scratch();
    edit(
        &scratch.module.join("iam.tf"),
        r#"actions   = ["dynamodb:GetItem", "dynamodb:PutItem"]"#,
        r#"actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]"#,
    );

    let problems = problems(&scratch);

    assert_one_problem_containing(
        &problems,
        &[
            "ReadAndAdvanceTheCursor",
            "allows dynamodb:DeleteItem to aws_lambda_function.poll",
            "never calls it",
        ],
    );
}

#[test]
fn an_sdk_call_the_role_does_not_allow_is_reported() {
    let scratch = scratch();
    edit(
        &scratch.repo.join("shared/aws/src/cursor.rs"),
        "        Ok(())\n    }\n}\n\nfn attr",
        "        self.client.delete_item().table_name(&self.table).send().await?;\n        Ok(())\n    }\n}\n\nfn attr",
    );

    let problems = problems(&scratch);

    assert_one_problem_containing(
        &problems,
        &[
            "role of aws_lambda_function.poll does not allow dynamodb:DeleteItem",
            "shared/aws/src/cursor.rs:",
            ".delete_item()",
        ],
    );
}

#[test]
fn an_sdk_operation_the_test_does_not_know_is_reported() {
    let scratch = scratch();
    edit(
        &scratch.repo.join("shared/aws/src/state.rs"),
        "        Ok(())\n    }\n\n    pub async fn load",
        "        let _ = self.client.describe_time_to_live().table_name(&self.table).send().await;\n        Ok(())\n    }\n\n    pub async fn load",
    );

    let problems = problems(&scratch);

    assert_one_problem_containing(
        &problems,
        &[
            "function detect calls an AWS operation",
            ".describe_time_to_live()",
            "IAM_ACTIONS",
        ],
    );
}

#[test]
fn a_function_that_starts_using_the_dead_letter_reader_needs_its_sqs_actions() {
    let scratch = scratch();
    edit(
        &scratch.repo.join("functions/detect/src/main.rs"),
        "    notifier.publish(String::new(), \"duet\").await;\n",
        "    notifier.publish(String::new(), \"duet\").await;\n    aws::DeadLetterQueue::new(&sdk).drain().await;\n",
    );

    let problems = problems(&scratch);

    let missing: Vec<&String> = problems
        .iter()
        .filter(|p| p.contains("does not allow sqs:"))
        .collect();
    assert_eq!(missing.len(), 2, "{problems:#?}");
    assert!(missing.iter().any(|p| p.contains("sqs:ReceiveMessage")));
    assert!(missing.iter().any(|p| p.contains("sqs:DeleteMessage")));
}

#[test]
fn a_wildcard_resource_is_reported() {
    let scratch = scratch();
    edit(
        &scratch.module.join("iam.tf"),
        r#"resources = [aws_dynamodb_table.alerts.arn, "${aws_dynamodb_table.alerts.arn}/index/${local.alerts_by_time_index}"]"#,
        r#"resources = [aws_dynamodb_table.alerts.arn, "${aws_dynamodb_table.alerts.arn}/index/*"]"#,
    );

    let problems = problems(&scratch);

    assert!(
        problems.iter().any(|p| p.contains("StoreAndListAlerts")
            && p.contains("/index/*")
            && p.contains("wildcard")),
        "{problems:#?}"
    );
}

#[test]
fn an_index_the_code_queries_must_exist_and_be_allowed() {
    let scratch = scratch();
    edit(
        &scratch.repo.join("shared/aws/src/alerts.rs"),
        "pub const BY_TIME_INDEX: &str = \"by_time\";",
        "pub const BY_TIME_INDEX: &str = \"recent\";",
    );

    let problems = problems(&scratch);

    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("queries index \"recent\"")
                && p.contains("no table of the module defines it"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("queries index \"recent\"")
                && p.contains("does not allow dynamodb:Query"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("index \"by_time\", which the code"))
    );
}

#[test]
fn a_star_resource_outside_the_xray_statement_is_reported() {
    let scratch = scratch();
    edit(
        &scratch.module.join("iam.tf"),
        "    actions   = [\"sns:Publish\"]\n    resources = [aws_sns_topic.alerts.arn]\n  }\n\n  statement {\n    sid       = \"ReadTheJumpCloudCredential\"",
        "    actions   = [\"sns:Publish\"]\n    resources = [\"*\"]\n  }\n\n  statement {\n    sid       = \"ReadTheJumpCloudCredential\"",
    );

    let problems = problems(&scratch);

    assert_one_problem_containing(&problems, &["PublishOpsNotifications", "wildcard"]);
}

#[test]
fn a_resource_the_function_is_not_wired_to_is_reported() {
    let scratch = scratch();
    edit(
        &scratch.module.join("iam.tf"),
        "    resources = [aws_dynamodb_table.cursor.arn]",
        "    resources = [aws_dynamodb_table.cursor.arn, aws_dynamodb_table.alerts.arn]",
    );

    let problems = problems(&scratch);

    assert_one_problem_containing(
        &problems,
        &[
            "ReadAndAdvanceTheCursor",
            "aws_dynamodb_table.alerts",
            "not wired to",
        ],
    );
}

#[test]
fn a_managed_policy_on_a_function_role_is_reported() {
    let scratch = scratch();
    fs::write(
        scratch.module.join("extra.tf"),
        "resource \"aws_iam_role_policy_attachment\" \"basic\" {\n  role       = aws_iam_role.detect.name\n  policy_arn = \"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\"\n}\n",
    )
    .expect("write extra.tf");

    let problems = problems(&scratch);

    assert_one_problem_containing(
        &problems,
        &[
            "aws_iam_role_policy_attachment.basic",
            "aws_iam_role.detect",
        ],
    );
}

#[test]
fn an_environment_variable_read_with_a_literal_name_is_reported() {
    let scratch = scratch();
    edit(
        &scratch.repo.join("functions/poll/src/main.rs"),
        "    let sdk = jcwatch_aws::client::sdk_config().await;\n",
        "    let sdk = jcwatch_aws::client::sdk_config().await;\n    let debug = std::env::var(\"JCWATCH_DEBUG\");\n",
    );

    let problems = problems(&scratch);

    assert_one_problem_containing(
        &problems,
        &[
            "functions/poll/src/main.rs:",
            "reads JCWATCH_DEBUG with a string literal",
        ],
    );
}

#[test]
fn a_function_without_config_rs_is_reported() {
    let scratch = scratch();
    fs::remove_file(scratch.repo.join("functions/detect/src/config.rs")).expect("remove config.rs");

    let problems = problems(&scratch);

    assert!(
        problems
            .iter()
            .any(|p| p.contains("functions/detect/src/config.rs is missing")),
        "{problems:#?}"
    );
}

#[test]
fn an_adapter_item_the_crate_does_not_define_is_reported() {
    let scratch = scratch();
    edit(
        &scratch.repo.join("functions/detect/src/main.rs"),
        "aws::DynamoStateStore::new",
        "aws::DynamoRuleState::new",
    );

    let problems = problems(&scratch);

    assert!(
        problems
            .iter()
            .any(|p| p.contains("jcwatch_aws::DynamoRuleState") && p.contains("no file")),
        "{problems:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// How the Rust sources are read

fn source(text: &str) -> SourceFile {
    SourceFile::from_text(Path::new("/r/x.rs"), Path::new("/r"), text)
}

#[test]
fn comments_strings_and_test_items_hide_sdk_calls() {
    let file = source(
        r##"/// client.put_item().send()
// client.scan().send()
/* client.query().send() */
fn f() {
    log("client.publish().send()");
    let s = r#"x.invoke().send()"#;
}
#[cfg(test)]
mod tests {
    fn t() { client.delete_item().send(); }
}
"##,
    );

    let calls = sdk_calls(&file);

    assert!(calls.actions.is_empty(), "{:?}", calls.actions);
    assert!(calls.unknown.is_empty());
}

#[test]
fn test_modules_may_read_the_environment_and_declare_constants() {
    let file = source(
        r#"pub const A_ENV: &str = "A";
#[cfg(test)]
mod tests {
    const FAKE_ENV: &str = "FAKE";
    fn t() { std::env::var("JCWATCH_TEST_AWS_ENDPOINT").unwrap(); }
}
"#,
    );

    let constants = env_constants(&file);
    let reads = literal_env_reads(&file);

    assert_eq!(constants.len(), 1);
    assert_eq!(constants[0].variable, "A");
    assert!(reads.is_empty(), "{reads:?}");
}

#[test]
fn the_operation_is_the_last_argument_less_call_before_send() {
    let file = source(
        r#"async fn f(c: &C) {
    c.inner().get_item().table_name(t).key("pk", v(a.to_string())).send().await;
    c.query().into_paginator().items().send();
    let r = c.publish();
    r.topic_arn(t).send().await;
    tokio::join!(async { c.sdk().invoke().function_name(f).send().await });
}
"#,
    );

    let calls = sdk_calls(&file);

    let actions: Vec<&str> = calls.actions.keys().map(String::as_str).collect();
    assert_eq!(
        actions,
        [
            "dynamodb:GetItem",
            "dynamodb:Query",
            "lambda:InvokeFunction",
            "sns:Publish"
        ]
    );
    assert!(calls.unknown.is_empty(), "{:?}", calls.unknown);
    let get_item = calls.actions["dynamodb:GetItem"]
        .iter()
        .next()
        .expect("one place");
    assert_eq!(get_item, "x.rs:2 .get_item()");
}

#[test]
fn method_chains_continue_across_lines_and_stop_at_fields() {
    let chains = method_chains(
        r#"self.client
    .put_item()
    .item("a", b)
    .send()
    .await?;"#,
    );

    let names: Vec<Vec<&str>> = chains
        .iter()
        .map(|chain| chain.iter().map(|call| call.name.as_str()).collect())
        .collect();
    assert_eq!(names, [vec!["put_item", "item", "send"]]);
}

#[test]
fn use_trees_yield_each_imported_path() {
    let code = r#"
use jcwatch_aws::{
    DynamoCursorStore,
    secrets::{self, load as load_secret},
    dynamo::{alerts::AlertStore},
};
fn f() { jcwatch_aws::client::sdk_config(); }
"#;

    let paths = paths_after(code, "jcwatch_aws");

    let shown: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        shown,
        [
            "DynamoCursorStore",
            "client::sdk_config",
            "dynamo::alerts::AlertStore",
            "secrets",
            "secrets::load",
        ]
    );
}

#[test]
fn env_constants_accept_visibility_and_static_lifetime_but_not_comments() {
    let file = source(
        r#"pub const A_ENV: &str = "A";
pub(crate) const B_ENV: &'static str = "B";
const C_ENV : & str = "C" ;
// pub const D_ENV: &str = "D";
pub const NOT_AN_ENV_NAME: &str = "E";
"#,
    );

    let constants = env_constants(&file);

    let found: Vec<(&str, &str, usize)> = constants
        .iter()
        .map(|c| (c.constant.as_str(), c.variable.as_str(), c.line))
        .collect();
    assert_eq!(
        found,
        [("A_ENV", "A", 1), ("B_ENV", "B", 2), ("C_ENV", "C", 3)]
    );
}

// ---------------------------------------------------------------------------------------
// Facts the code relies on

#[test]
fn both_functions_run_bootstrap_on_provided_al2023_with_the_one_architecture_variable() {
    let module = module();

    for name in ["poll", "detect"] {
        let body = function(&module, name);
        assert_eq!(
            attr(body, "handler").and_then(literal_string).as_deref(),
            Some("bootstrap")
        );
        assert_eq!(
            attr(body, "runtime").and_then(literal_string).as_deref(),
            Some("provided.al2023")
        );
        let architectures = attr(body, "architectures").expect("architectures set");
        let Expression::Array(items) = architectures else {
            panic!("{name}: architectures is a list");
        };
        assert_eq!(items.len(), 1);
        assert!(
            is_traversal(&items[0], &["var", "architecture"]),
            "{name}: {}",
            items[0]
        );
    }
    assert_eq!(
        module
            .variable_default("architecture")
            .and_then(literal_string)
            .as_deref(),
        Some("x86_64")
    );
    let validation = block(module.variables["architecture"].body(), "validation")
        .and_then(|v| attr(v.body(), "condition"))
        .expect("architecture is validated")
        .to_string();
    assert!(
        validation.contains("\"arm64\"") && validation.contains("\"x86_64\""),
        "{validation}"
    );
}

#[test]
fn function_zips_are_the_ones_cargo_lambda_builds_for_each_crate() {
    let module = module();
    let example = TfModule::load(&example_dir()).expect("the example parses");
    let call = example
        .module_calls
        .get("jcwatch")
        .expect("the example calls the module")
        .body();

    for name in ["poll", "detect"] {
        let manifest: toml::Table =
            fs::read_to_string(repo_root().join(format!("functions/{name}/Cargo.toml")))
                .expect("read the function manifest")
                .parse()
                .expect("valid TOML");
        let binary = manifest["package"]["name"].as_str().expect("package name");
        let expected = format!("../../../target/lambda/{binary}/bootstrap.zip");
        let variable = format!("{name}_zip_path");

        let body = function(&module, name);
        assert!(is_traversal(
            attr(body, "filename").expect("filename"),
            &["var", &variable]
        ));
        let hash = attr(body, "source_code_hash")
            .expect("source_code_hash")
            .to_string();
        assert_eq!(hash, format!("filebase64sha256(var.{variable})"));
        assert_eq!(
            module.variable_default(&variable).and_then(literal_string),
            Some(expected.clone())
        );
        assert_eq!(
            attr(call, &variable).and_then(literal_string),
            Some(expected.clone())
        );

        let from_example = example_dir().join(&expected);
        let normalised: PathBuf =
            from_example
                .components()
                .fold(PathBuf::new(), |mut path, part| {
                    match part {
                        std::path::Component::ParentDir => {
                            path.pop();
                        }
                        other => path.push(other),
                    }
                    path
                });
        assert_eq!(
            normalised,
            repo_root().join(format!("target/lambda/{binary}/bootstrap.zip"))
        );
    }
    assert_eq!(
        attr(call, "source").and_then(literal_string).as_deref(),
        Some("../../modules/jcwatch")
    );
}

#[test]
fn every_table_has_string_keys_pk_and_sk_and_ttl_on_expires_at() {
    let module = module();
    let expected = [
        ("cursor", false),
        ("state", true),
        ("alerts", true),
        ("cache", true),
    ];

    let tables: BTreeSet<&str> = module
        .resources_of_type("aws_dynamodb_table")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(tables, expected.iter().map(|(n, _)| *n).collect());
    for (name, has_range) in expected {
        let body = resource(&module, &format!("aws_dynamodb_table.{name}"));
        let string_attributes: BTreeSet<String> = blocks(body, "attribute")
            .filter(|a| attr(a.body(), "type").and_then(literal_string).as_deref() == Some("S"))
            .filter_map(|a| attr(a.body(), "name").and_then(literal_string))
            .collect();

        assert_eq!(
            attr(body, "hash_key").and_then(literal_string).as_deref(),
            Some("pk")
        );
        assert!(string_attributes.contains("pk"), "{name}: pk is a string");
        if has_range {
            assert_eq!(
                attr(body, "range_key").and_then(literal_string).as_deref(),
                Some("sk")
            );
            assert!(string_attributes.contains("sk"), "{name}: sk is a string");
        } else {
            assert!(attr(body, "range_key").is_none(), "{name} has no range key");
        }
        let ttl = block(body, "ttl").expect("ttl block").body();
        assert_eq!(
            attr(ttl, "attribute_name")
                .and_then(literal_string)
                .as_deref(),
            Some("expires_at")
        );
        assert_eq!(attr(ttl, "enabled").and_then(literal_bool), Some(true));
        assert_eq!(
            attr(body, "billing_mode")
                .and_then(literal_string)
                .as_deref(),
            Some("PAY_PER_REQUEST")
        );
        let pitr = block(body, "point_in_time_recovery")
            .expect("PITR block")
            .body();
        assert_eq!(attr(pitr, "enabled").and_then(literal_bool), Some(true));
        let sse = block(body, "server_side_encryption")
            .expect("SSE block")
            .body();
        assert_eq!(
            refs_of(&module, sse, "kms_key_arn"),
            BTreeSet::from(["aws_kms_key.main".to_owned()])
        );
    }
}

#[test]
fn the_alerts_table_lists_alerts_by_time_through_the_by_time_index() {
    let module = module();
    let body = resource(&module, "aws_dynamodb_table.alerts");

    let index = block(body, "global_secondary_index").expect("a GSI").body();

    assert_eq!(
        module
            .static_string(attr(index, "name").expect("index name"))
            .as_deref(),
        Some("by_time")
    );
    assert_eq!(
        attr(index, "hash_key").and_then(literal_string).as_deref(),
        Some("gsi1pk")
    );
    assert_eq!(
        attr(index, "range_key").and_then(literal_string).as_deref(),
        Some("gsi1sk")
    );
    for key in ["gsi1pk", "gsi1sk"] {
        assert!(blocks(body, "attribute").any(|a| {
            attr(a.body(), "name").and_then(literal_string).as_deref() == Some(key)
                && attr(a.body(), "type").and_then(literal_string).as_deref() == Some("S")
        }));
    }
}

#[test]
fn the_schedule_starts_the_poll_function_with_its_own_role_and_an_eventbridge_shaped_input() {
    let module = module();
    let schedule = resource(&module, "aws_scheduler_schedule.poll");
    let target = block(schedule, "target").expect("target block").body();

    assert_eq!(
        refs_of(&module, target, "arn"),
        BTreeSet::from(["aws_lambda_function.poll".to_owned()])
    );
    let role = refs_of(&module, target, "role_arn");
    assert_eq!(role, BTreeSet::from(["aws_iam_role.scheduler".to_owned()]));
    let trust = refs_of(
        &module,
        resource(&module, "aws_iam_role.scheduler"),
        "assume_role_policy",
    );
    let trust_document = module.data[trust.iter().next().expect("trust document")].body();
    let principal = block(
        block(trust_document, "statement")
            .expect("statement")
            .body(),
        "principals",
    )
    .and_then(|p| attr(p.body(), "identifiers"))
    .and_then(literal_strings);
    assert_eq!(principal, Some(vec!["scheduler.amazonaws.com".to_owned()]));

    let input = attr(target, "input")
        .expect("input is always set")
        .to_string();
    for fragment in [
        "\"detail-type\" = \"Scheduled Event\"",
        "<aws.scheduler.scheduled-time>",
        "detail",
    ] {
        assert!(
            input.contains(fragment),
            "input should hold {fragment}: {input}"
        );
    }
    assert_eq!(
        module
            .static_string(attr(schedule, "schedule_expression").expect("expression"))
            .as_deref(),
        Some("rate(5 minutes)")
    );
}

#[test]
fn a_failed_detect_batch_goes_to_a_dead_letter_queue_large_enough_for_the_failure_record() {
    let module = module();
    let config = resource(&module, "aws_lambda_function_event_invoke_config.detect");
    let queue = resource(&module, "aws_sqs_queue.detect_dlq");

    assert_eq!(
        refs_of(&module, config, "function_name"),
        BTreeSet::from(["aws_lambda_function.detect".to_owned()])
    );
    assert_eq!(
        attr(config, "maximum_retry_attempts").and_then(literal_number),
        Some(2.0)
    );
    assert!(is_traversal(
        attr(config, "maximum_event_age_in_seconds").expect("event age"),
        &["var", "detect_maximum_event_age_seconds"]
    ));
    let on_failure = block(config, "destination_config")
        .and_then(|d| block(d.body(), "on_failure"))
        .expect("on_failure destination")
        .body();
    assert_eq!(
        refs_of(&module, on_failure, "destination"),
        BTreeSet::from(["aws_sqs_queue.detect_dlq".to_owned()])
    );
    assert_eq!(
        attr(queue, "max_message_size").and_then(literal_number),
        Some(1_048_576.0)
    );
    assert_eq!(
        attr(queue, "message_retention_seconds").and_then(literal_number),
        Some(1_209_600.0)
    );
    assert!(attr(queue, "kms_master_key_id").is_some());
}

#[test]
fn the_jumpcloud_secret_value_never_passes_through_terraform() {
    for dir in [module_dir(), example_dir()] {
        let module = TfModule::load(&dir).expect("parses");

        assert_eq!(
            module
                .resources_of_type("aws_secretsmanager_secret_version")
                .count(),
            0,
            "{} must not set the secret's value",
            dir.display()
        );
    }
    let module = module();
    let secret = resource(&module, "aws_secretsmanager_secret.jumpcloud");
    assert!(attr(secret, "kms_key_id").is_some());
    let command = attr(module.outputs["put_secret_command"].body(), "value")
        .expect("value")
        .to_string();
    assert!(command.contains("aws secretsmanager put-secret-value") && command.contains("file://"));
}

#[test]
fn the_no_events_alarm_reads_the_poll_log_field_events_fetched_and_treats_silence_as_breaching() {
    let module = module();
    let filter = resource(&module, "aws_cloudwatch_log_metric_filter.events_fetched");
    let alarm = resource(&module, "aws_cloudwatch_metric_alarm.no_events_fetched");

    assert_eq!(
        refs_of(&module, filter, "log_group_name"),
        BTreeSet::from(["aws_cloudwatch_log_group.poll".to_owned()])
    );
    assert_eq!(
        attr(filter, "pattern").and_then(literal_string).as_deref(),
        Some("{ $.fields.events_fetched = * }")
    );
    let transformation = block(filter, "metric_transformation")
        .expect("transformation")
        .body();
    assert_eq!(
        attr(transformation, "value")
            .and_then(literal_string)
            .as_deref(),
        Some("$.fields.events_fetched")
    );
    assert_eq!(
        attr(alarm, "treat_missing_data")
            .and_then(literal_string)
            .as_deref(),
        Some("breaching")
    );
    assert!(is_traversal(
        attr(alarm, "evaluation_periods").expect("periods"),
        &["var", "no_events_alarm_hours"]
    ));
}

#[test]
fn every_alarm_publishes_to_the_ops_topic() {
    let module = module();
    let alarms: Vec<(&str, &hcl::Block)> = module
        .resources_of_type("aws_cloudwatch_metric_alarm")
        .collect();

    let names: BTreeSet<&str> = alarms.iter().map(|(name, _)| *name).collect();
    for expected in [
        "poll_errors",
        "detect_errors",
        "dlq_not_empty",
        "no_events_fetched",
    ] {
        assert!(names.contains(expected), "alarm {expected} exists");
    }
    for (name, alarm) in alarms {
        assert_eq!(
            refs_of(&module, alarm.body(), "alarm_actions"),
            BTreeSet::from(["aws_sns_topic.ops".to_owned()]),
            "{name}"
        );
    }
    let dlq = resource(&module, "aws_cloudwatch_metric_alarm.dlq_not_empty");
    assert_eq!(
        attr(dlq, "metric_name").and_then(literal_string).as_deref(),
        Some("ApproximateNumberOfMessagesVisible")
    );
    assert_eq!(attr(dlq, "threshold").and_then(literal_number), Some(0.0));
    assert_eq!(
        attr(dlq, "comparison_operator")
            .and_then(literal_string)
            .as_deref(),
        Some("GreaterThanThreshold")
    );
}

#[test]
fn everything_stored_is_encrypted_with_the_module_key() {
    let module = module();
    let key = BTreeSet::from(["aws_kms_key.main".to_owned()]);
    let encrypted = [
        ("aws_sns_topic.alerts", "kms_master_key_id"),
        ("aws_sns_topic.ops", "kms_master_key_id"),
        ("aws_sqs_queue.detect_dlq", "kms_master_key_id"),
        ("aws_secretsmanager_secret.jumpcloud", "kms_key_id"),
        ("aws_cloudwatch_log_group.poll", "kms_key_id"),
        ("aws_cloudwatch_log_group.detect", "kms_key_id"),
        ("aws_lambda_function.poll", "kms_key_arn"),
        ("aws_lambda_function.detect", "kms_key_arn"),
        ("aws_scheduler_schedule.poll", "kms_key_arn"),
        ("aws_s3_object.config", "kms_key_id"),
    ];

    for (address, key_attribute) in encrypted {
        assert_eq!(
            refs_of(&module, resource(&module, address), key_attribute),
            key,
            "{address}"
        );
    }
    let kms = resource(&module, "aws_kms_key.main");
    assert_eq!(
        attr(kms, "enable_key_rotation").and_then(literal_bool),
        Some(true)
    );
    assert!(
        attr(kms, "policy").is_some(),
        "the key has an explicit key policy"
    );
}

#[test]
fn functions_log_json_to_their_own_group_and_trace_with_xray() {
    let module = module();

    for name in ["poll", "detect"] {
        let body = function(&module, name);
        let logging = block(body, "logging_config")
            .expect("logging_config")
            .body();
        assert_eq!(
            attr(logging, "log_format")
                .and_then(literal_string)
                .as_deref(),
            Some("JSON")
        );
        assert_eq!(
            refs_of(&module, logging, "log_group"),
            BTreeSet::from([format!("aws_cloudwatch_log_group.{name}")])
        );
        let tracing = block(body, "tracing_config")
            .expect("tracing_config")
            .body();
        assert_eq!(
            attr(tracing, "mode").and_then(literal_string).as_deref(),
            Some("Active")
        );
        assert!(attr(body, "reserved_concurrent_executions").is_some());
        let group = resource(&module, &format!("aws_cloudwatch_log_group.{name}"));
        assert!(is_traversal(
            attr(group, "retention_in_days").expect("retention"),
            &["var", "log_retention_days"]
        ));
    }
}

#[test]
fn email_subscriptions_filter_on_the_route_attribute() {
    let module = module();
    let subscription = resource(&module, "aws_sns_topic_subscription.email");

    assert_eq!(
        attr(subscription, "protocol")
            .and_then(literal_string)
            .as_deref(),
        Some("email")
    );
    assert_eq!(
        attr(subscription, "filter_policy_scope")
            .and_then(literal_string)
            .as_deref(),
        Some("MessageAttributes")
    );
    assert_eq!(
        attr(subscription, "filter_policy")
            .expect("filter policy")
            .to_string(),
        "jsonencode({ route = each.value })"
    );
    let routes = module.locals["email_routes"].to_string();
    for route in ["\"duet\"", "\"alert\"", "\"ops\""] {
        assert!(
            routes.contains(route),
            "email_routes names {route}: {routes}"
        );
    }
    let chatbot = resource(&module, "aws_chatbot_slack_channel_configuration.slack");
    assert_eq!(
        refs_of(&module, chatbot, "sns_topic_arns"),
        BTreeSet::from([
            "aws_sns_topic.alerts".to_owned(),
            "aws_sns_topic.ops".to_owned()
        ])
    );
}

#[test]
fn every_variable_has_a_description_and_a_type() {
    let module = module();

    for (name, variable) in &module.variables {
        let description = attr(variable.body(), "description").and_then(literal_string);
        assert!(
            description.is_some_and(|d| d.len() > 10),
            "variable {name} has a description"
        );
        assert!(
            attr(variable.body(), "type").is_some(),
            "variable {name} has a type"
        );
    }
    for (name, output) in &module.outputs {
        assert!(
            attr(output.body(), "description").is_some(),
            "output {name} has a description"
        );
    }
}

#[test]
fn terraform_and_the_aws_provider_are_pinned_in_module_and_example() {
    for dir in [module_dir(), example_dir()] {
        let module = TfModule::load(&dir).expect("parses");
        let terraform = module
            .terraform_blocks
            .first()
            .expect("a terraform block")
            .body();

        assert_eq!(
            attr(terraform, "required_version")
                .and_then(literal_string)
                .as_deref(),
            Some(">= 1.6"),
            "{}",
            dir.display()
        );
        let providers = block(terraform, "required_providers")
            .expect("required_providers")
            .body();
        let aws = attr(providers, "aws").expect("aws provider").to_string();
        assert!(
            aws.contains("\"hashicorp/aws\"") && aws.contains("\"~> 6.0\""),
            "{aws}"
        );
    }
}

#[test]
fn the_example_configuration_terraform_ships_is_accepted_by_the_functions() {
    let path = example_dir().join("jcwatch.toml");

    let loaded = jcwatch_detection::Config::load(Some(&path));

    assert!(
        loaded.is_ok(),
        "{}",
        loaded.err().map(|e| e.to_string()).unwrap_or_default()
    );
    let example = TfModule::load(&example_dir()).expect("the example parses");
    let config_file = example
        .variable_default("config_file")
        .and_then(literal_string);
    assert_eq!(config_file.as_deref(), Some("jcwatch.toml"));
}
