//! Holds the Terraform module against the function code: environment variables and IAM.
//!
//! For each `aws_lambda_function.<name>` of the module and the crate `functions/<name>`:
//! - every environment variable the code declares is set by Terraform on that function,
//!   and Terraform sets nothing the code does not declare;
//! - the function's role allows exactly the IAM actions the code's SDK calls need, plus
//!   what the platform needs (its own log group, X-Ray, the module's KMS key, and the
//!   dead-letter queue when the function has an on-failure destination);
//! - every statement names its resources, each one a resource the function is wired to
//!   (through an environment variable, its log group, its destination, the KMS key or
//!   itself), without wildcards beyond the two the services force.
//!
//! The result is a list of problems in words an operator can act on; empty means wired.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use hcl::Block;
use hcl::expr::Expression;

use super::rust_source::{
    CrateSources, SourceFile, crate_aliases, env_constants, fn_items, index_names, keep_only,
    literal_env_reads, method_uses, paths_after, rust_files, used_words,
};
use super::sdk::{SdkCalls, sdk_calls};
use super::terraform::{
    TfModule, attr, block, blocks, literal_string, literal_strings, template_shape,
};

/// Variables the Lambda runtime sets itself: code may read them, Terraform must not set them.
pub const RUNTIME_VARIABLES: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_FORMAT",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_LEVEL",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_REGION",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_XRAY_CONTEXT_MISSING",
    "AWS_XRAY_DAEMON_ADDRESS",
    "LAMBDA_RUNTIME_DIR",
    "LAMBDA_TASK_ROOT",
    "TZ",
];

/// What every function needs whatever its code does, and why.
pub const PLATFORM_ACTIONS: &[(&str, &str)] = &[
    ("logs:CreateLogStream", "writing its own logs"),
    ("logs:PutLogEvents", "writing its own logs"),
    ("xray:PutTraceSegments", "active X-Ray tracing"),
    ("xray:PutTelemetryRecords", "active X-Ray tracing"),
    (
        "kms:Decrypt",
        "its KMS-encrypted environment, secret, config and tables",
    ),
    (
        "kms:GenerateDataKey",
        "writing to KMS-encrypted tables, topic and queue",
    ),
];

/// X-Ray's write actions have no resource types: `"*"` is the only resource they take.
const RESOURCELESS_ACTIONS: &[&str] = &["xray:PutTraceSegments", "xray:PutTelemetryRecords"];

/// The environment variables and SDK calls of one function's code.
#[derive(Debug, Default)]
pub struct FunctionCode {
    pub name: String,
    /// Variable -> where it is declared.
    pub env: BTreeMap<String, String>,
    pub calls: SdkCalls,
    /// DynamoDB indexes the code queries: index name -> where.
    pub indexes: BTreeMap<String, String>,
    /// Adapter-crate files the function uses, as shown paths.
    pub adapter_files: Vec<String>,
    pub problems: Vec<String>,
}

/// Reads `functions/<name>`, the workspace libraries it depends on, and the parts of the
/// adapter crates (those depending on `aws-sdk-*`) it can reach.
///
/// Reach is decided by name: a function of an adapter counts when its name is used by
/// the function crate, by a library it depends on (the use cases call the ports), or by
/// another function of the adapter that counts; a method counts only when it is called
/// as a method (`.name(`) or named by a path (`Type::name`), so a local variable of the
/// same name does not reach it. A method the Lambda's code never calls, such as an
/// operator's listing used only by the CLI, then adds no permission.
pub fn read_function_code(repo: &Path, name: &str) -> Result<FunctionCode, String> {
    let crate_dir = repo.join("functions").join(name);
    let files = read_sources(repo, &crate_dir)?;
    if files.is_empty() {
        return Err(format!("functions/{name}/src holds no Rust files"));
    }
    let mut code = FunctionCode {
        name: name.to_owned(),
        ..FunctionCode::default()
    };

    read_environment(&mut code, &files);
    for file in &files {
        code.calls.merge(sdk_calls(file));
        record_indexes(&mut code, file, &file.code, &files);
    }

    let (adapters, libraries) = workspace_crates(repo, &crate_dir)?;
    let callers: Vec<&SourceFile> = files.iter().chain(libraries.iter()).collect();
    for adapter in &adapters {
        read_adapter_calls(&mut code, &callers, adapter);
    }
    Ok(code)
}

fn read_sources(repo: &Path, crate_dir: &Path) -> Result<Vec<SourceFile>, String> {
    rust_files(&crate_dir.join("src"))
        .iter()
        .map(|path| SourceFile::read(path, repo))
        .collect()
}

fn record_indexes(
    code: &mut FunctionCode,
    file: &SourceFile,
    text: &str,
    crate_files: &[SourceFile],
) {
    for found in index_names(file, text, crate_files) {
        match found {
            Ok((index, place)) => {
                code.indexes.entry(index).or_insert(place);
            }
            Err(place) => code.problems.push(format!(
                "{place}: the index name is neither a string literal nor a `const` of its crate, so the test cannot check the role allows querying it"
            )),
        }
    }
}

fn read_environment(code: &mut FunctionCode, files: &[SourceFile]) {
    let config_path = format!("functions/{}/src/config.rs", code.name);
    let Some(config) = files.iter().find(|f| f.shown == config_path) else {
        code.problems.push(format!(
            "{config_path} is missing: the function must declare every environment variable it reads there, as `pub const NAME_ENV: &str = \"NAME\";`"
        ));
        return;
    };

    for constant in env_constants(config) {
        let valid = constant
            .variable
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid || constant.variable.is_empty() {
            code.problems.push(format!(
                "{}:{} {} = {:?} is not an environment variable name (upper-case letters, digits, _)",
                config.shown, constant.line, constant.constant, constant.variable
            ));
            continue;
        }
        code.env.insert(
            constant.variable,
            format!("{}:{} {}", config.shown, constant.line, constant.constant),
        );
    }

    for file in files {
        if file.shown != config_path {
            for constant in env_constants(file) {
                code.problems.push(format!(
                    "{}:{} declares {} outside config.rs: move it to {config_path} so the Terraform wiring test sees it",
                    file.shown, constant.line, constant.constant
                ));
            }
        }
        for (variable, line) in literal_env_reads(file) {
            code.problems.push(format!(
                "{}:{} reads {variable} with a string literal: read it through a `pub const {variable}_ENV` in {config_path}",
                file.shown, line
            ));
        }
    }
}

/// The workspace crates a function depends on, directly or through other workspace
/// crates: those that call AWS (they depend on an `aws-sdk-*` crate) as adapters, the rest
/// as libraries whose source counts as calling code. An adapter's own dependencies are
/// not followed.
fn workspace_crates(
    repo: &Path,
    crate_dir: &Path,
) -> Result<(Vec<CrateSources>, Vec<SourceFile>), String> {
    let workspace = read_toml(&repo.join("Cargo.toml"))?;
    let workspace_deps = workspace
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(|d| d.as_table())
        .cloned()
        .unwrap_or_default();

    let mut adapters = Vec::new();
    let mut libraries = Vec::new();
    let mut seen = BTreeSet::new();
    let mut pending = vec![crate_dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let manifest = read_toml(&dir.join("Cargo.toml"))?;
        let Some(deps) = manifest.get("dependencies").and_then(|d| d.as_table()) else {
            continue;
        };
        for (dep, spec) in deps {
            let own_path = spec
                .get("path")
                .and_then(|p| p.as_str())
                .map(|p| dir.join(p));
            let inherited = spec.get("workspace").and_then(|w| w.as_bool()) == Some(true);
            let workspace_path = workspace_deps
                .get(dep)
                .and_then(|d| d.get("path"))
                .and_then(|p| p.as_str())
                .filter(|_| inherited)
                .map(|p| repo.join(p));
            let Some(dep_dir) = own_path.or(workspace_path) else {
                continue;
            };
            if !seen.insert(dep_dir.clone()) {
                continue;
            }
            let dep_manifest = read_toml(&dep_dir.join("Cargo.toml"))?;
            let calls_aws = dep_manifest
                .get("dependencies")
                .and_then(|d| d.as_table())
                .is_some_and(|d| d.keys().any(|k| k.starts_with("aws-sdk-")));
            if calls_aws {
                adapters.push(CrateSources::read(&dep.replace('-', "_"), &dep_dir, repo)?);
            } else {
                libraries.extend(read_sources(repo, &dep_dir)?);
                pending.push(dep_dir);
            }
        }
    }
    Ok((adapters, libraries))
}

fn read_toml(path: &Path) -> Result<toml::Table, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.parse::<toml::Table>()
        .map_err(|e| format!("{} is not valid TOML: {e}", path.display()))
}

fn read_adapter_calls(code: &mut FunctionCode, callers: &[&SourceFile], adapter: &CrateSources) {
    let mut paths = BTreeSet::new();
    for file in callers {
        for alias in crate_aliases(&file.code, &adapter.ident) {
            paths.extend(paths_after(&file.code, &alias));
        }
    }
    let (used, unresolved) = adapter.files_used_by(&paths);
    for (leaf, _) in unresolved {
        code.problems.push(format!(
            "functions/{} uses {}::{leaf}, which no file of {} defines; the test cannot tell which SDK calls it makes",
            code.name,
            adapter.ident,
            adapter.src.display()
        ));
    }

    // The functions of the used files that the callers can reach, by name.
    let items: Vec<(usize, super::rust_source::FnItem)> = used
        .iter()
        .flat_map(|&index| {
            fn_items(&adapter.files[index].code)
                .into_iter()
                .map(move |item| (index, item))
        })
        .collect();
    let mut words: BTreeSet<String> = callers.iter().flat_map(|f| used_words(&f.code)).collect();
    let mut methods: BTreeSet<String> = callers.iter().flat_map(|f| method_uses(&f.code)).collect();
    let mut reached = vec![false; items.len()];
    loop {
        let mut grew = false;
        for (position, (index, item)) in items.iter().enumerate() {
            let named = if item.is_method {
                methods.contains(&item.name)
            } else {
                words.contains(&item.name)
            };
            if !reached[position] && named {
                reached[position] = true;
                grew = true;
                let body = &adapter.files[*index].code[item.body.clone()];
                words.extend(used_words(body));
                methods.extend(method_uses(body));
            }
        }
        if !grew {
            break;
        }
    }

    for &index in &used {
        let file = &adapter.files[index];
        let ranges: Vec<_> = items
            .iter()
            .zip(&reached)
            .filter(|((owner, _), reached)| *owner == index && **reached)
            .map(|((_, item), _)| item.body.clone())
            .collect();
        if ranges.is_empty() {
            continue;
        }
        let reachable = SourceFile {
            code: keep_only(&file.code, &ranges),
            ..file.clone()
        };
        code.adapter_files.push(file.shown.clone());
        code.calls.merge(sdk_calls(&reachable));
        record_indexes(code, file, &reachable.code, &adapter.files);
    }
}

/// One statement of a function role's policy.
#[derive(Debug, Clone)]
pub struct Statement {
    /// Where it comes from: `data.aws_iam_policy_document.poll` and its sid.
    pub origin: String,
    pub actions: Vec<String>,
    pub resources: Vec<Expression>,
}

/// What the module gives one function.
#[derive(Debug)]
pub struct FunctionInfra {
    pub name: String,
    pub address: String,
    pub env: BTreeMap<String, Expression>,
    pub statements: Vec<Statement>,
    pub log_groups: BTreeSet<String>,
    pub destinations: BTreeSet<String>,
}

/// Reads what the module gives `aws_lambda_function.<name>`; problems found on the way
/// (an unreadable policy, a managed policy) are appended to `problems`.
pub fn read_function_infra(
    module: &TfModule,
    name: &str,
    problems: &mut Vec<String>,
) -> Result<FunctionInfra, String> {
    let address = format!("aws_lambda_function.{name}");
    let function = module
        .resources
        .get(&address)
        .ok_or_else(|| format!("the module has no {address}"))?;
    let body = function.body();

    let env = match block(body, "environment").and_then(|e| attr(e.body(), "variables")) {
        Some(variables) => module
            .object_entries(variables)
            .map_err(|e| format!("{address}: environment.variables: {e}"))?
            .into_iter()
            .collect(),
        None => BTreeMap::new(),
    };

    let log_groups = block(body, "logging_config")
        .and_then(|l| attr(l.body(), "log_group"))
        .map(|e| module.resource_refs(e))
        .unwrap_or_default();
    if log_groups.is_empty() {
        problems.push(format!(
            "{address} has no logging_config.log_group naming the module's log group, so its log permissions cannot be checked"
        ));
    }

    let destinations = failure_destinations(module, &address);
    let statements = role_statements(module, &address, body, problems);

    Ok(FunctionInfra {
        name: name.to_owned(),
        address,
        env,
        statements,
        log_groups,
        destinations,
    })
}

fn failure_destinations(module: &TfModule, function: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (_, config) in module.resources_of_type("aws_lambda_function_event_invoke_config") {
        let targets_function = attr(config.body(), "function_name")
            .is_some_and(|e| module.resource_refs(e).contains(function));
        if !targets_function {
            continue;
        }
        let destination = block(config.body(), "destination_config")
            .and_then(|d| block(d.body(), "on_failure"))
            .and_then(|f| attr(f.body(), "destination"));
        if let Some(destination) = destination {
            found.extend(module.resource_refs(destination));
        }
    }
    found
}

fn role_statements(
    module: &TfModule,
    function: &str,
    body: &hcl::Body,
    problems: &mut Vec<String>,
) -> Vec<Statement> {
    let role = attr(body, "role")
        .map(|e| module.resource_refs(e))
        .and_then(|refs| refs.into_iter().find(|r| r.starts_with("aws_iam_role.")));
    let Some(role) = role else {
        problems.push(format!(
            "{function}: its role is not an aws_iam_role of the module, so its permissions cannot be checked"
        ));
        return Vec::new();
    };

    if let Some(role_block) = module.resources.get(&role) {
        for forbidden in ["managed_policy_arns", "inline_policy"] {
            let present = attr(role_block.body(), forbidden).is_some()
                || block(role_block.body(), forbidden).is_some();
            if present {
                problems.push(format!(
                    "{role} sets {forbidden}; give the role its permissions through aws_iam_role_policy with an aws_iam_policy_document"
                ));
            }
        }
    }
    for (name, attachment) in module.resources_of_type("aws_iam_role_policy_attachment") {
        if attr(attachment.body(), "role").is_some_and(|e| module.resource_refs(e).contains(&role))
        {
            problems.push(format!(
                "aws_iam_role_policy_attachment.{name} attaches a managed policy to {role}; managed policies use wildcards and cannot be held against the code"
            ));
        }
    }

    let mut statements = Vec::new();
    for (name, policy) in module.resources_of_type("aws_iam_role_policy") {
        if !attr(policy.body(), "role").is_some_and(|e| module.resource_refs(e).contains(&role)) {
            continue;
        }
        let document = attr(policy.body(), "policy")
            .map(|e| module.resource_refs(e))
            .and_then(|refs| {
                refs.into_iter()
                    .find(|r| r.starts_with("data.aws_iam_policy_document."))
            });
        let Some(document) = document.and_then(|d| module.data.get(&d).map(|b| (d, b))) else {
            problems.push(format!(
                "aws_iam_role_policy.{name} (on {role}) is not an aws_iam_policy_document of the module, so it cannot be checked"
            ));
            continue;
        };
        statements.extend(document_statements(&document.0, document.1, problems));
    }
    statements
}

fn document_statements(
    address: &str,
    document: &Block,
    problems: &mut Vec<String>,
) -> Vec<Statement> {
    let mut statements = Vec::new();
    for (index, statement) in blocks(document.body(), "statement").enumerate() {
        let body = statement.body();
        let sid = attr(body, "sid")
            .and_then(literal_string)
            .unwrap_or_else(|| format!("#{index}"));
        let origin = format!("{address} statement {sid}");
        let effect = attr(body, "effect")
            .and_then(literal_string)
            .unwrap_or_else(|| "Allow".to_owned());
        if effect != "Allow" {
            continue;
        }
        for forbidden in ["not_actions", "not_resources"] {
            if attr(body, forbidden).is_some() {
                problems.push(format!(
                    "{origin} uses {forbidden}, which grants by exclusion"
                ));
            }
        }
        let Some(actions) = attr(body, "actions").and_then(literal_strings) else {
            problems.push(format!(
                "{origin}: actions must be a list of literal strings"
            ));
            continue;
        };
        let resources = match attr(body, "resources") {
            Some(Expression::Array(items)) => items.clone(),
            _ => {
                problems.push(format!("{origin}: resources must be a list"));
                continue;
            }
        };
        statements.push(Statement {
            origin,
            actions,
            resources,
        });
    }
    statements
}

/// Checks every function of the module against its crate. `Err` when the inputs cannot be
/// read at all; otherwise the list of problems (empty when the wiring holds).
pub fn check_wiring(repo: &Path, module_dir: &Path) -> Result<Vec<String>, String> {
    let module = TfModule::load(module_dir)?;
    let mut problems = Vec::new();

    let deployed: BTreeSet<String> = module
        .resources_of_type("aws_lambda_function")
        .map(|(name, _)| name.to_owned())
        .collect();
    let crates: BTreeSet<String> = fs::read_dir(repo.join("functions"))
        .map_err(|e| format!("cannot list {}/functions: {e}", repo.display()))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    for missing in crates.difference(&deployed) {
        problems.push(format!(
            "functions/{missing} has no aws_lambda_function.{missing} in the module"
        ));
    }
    for unknown in deployed.difference(&crates) {
        problems.push(format!(
            "aws_lambda_function.{unknown} has no crate functions/{unknown} to hold it against"
        ));
    }

    for name in deployed.intersection(&crates) {
        let code = read_function_code(repo, name)?;
        let infra = read_function_infra(&module, name, &mut problems)?;
        problems.extend(code.problems.iter().cloned());
        check_environment(&code, &infra, &mut problems);
        check_actions(&code, &infra, &mut problems);
        check_resources(&module, &infra, &mut problems);
        check_indexes(&module, &code, &infra, &mut problems);
    }
    Ok(problems)
}

fn check_environment(code: &FunctionCode, infra: &FunctionInfra, problems: &mut Vec<String>) {
    for (variable, declared_at) in &code.env {
        if RUNTIME_VARIABLES.contains(&variable.as_str()) {
            continue;
        }
        if !infra.env.contains_key(variable) {
            problems.push(format!(
                "function {} reads {variable} ({declared_at}) but Terraform does not set it on {}",
                code.name, infra.address
            ));
        }
    }
    for variable in infra.env.keys() {
        if RUNTIME_VARIABLES.contains(&variable.as_str()) {
            problems.push(format!(
                "{} sets {variable}, which the Lambda runtime reserves",
                infra.address
            ));
        } else if !code.env.contains_key(variable) {
            problems.push(format!(
                "{} sets {variable} but the function's code never reads it (no `pub const ..._ENV: &str = \"{variable}\";` in functions/{}/src/config.rs)",
                infra.address, code.name
            ));
        }
    }
}

fn check_actions(code: &FunctionCode, infra: &FunctionInfra, problems: &mut Vec<String>) {
    let mut needed: BTreeMap<String, String> = code
        .calls
        .actions
        .iter()
        .map(|(action, places)| {
            let places: Vec<&str> = places.iter().map(String::as_str).collect();
            (
                action.clone(),
                format!("the code calls it at {}", places.join(", ")),
            )
        })
        .collect();
    for (action, why) in PLATFORM_ACTIONS {
        needed
            .entry((*action).to_owned())
            .or_insert_with(|| format!("needed for {why}"));
    }
    for destination in &infra.destinations {
        if destination.starts_with("aws_sqs_queue.") {
            needed
                .entry("sqs:SendMessage".to_owned())
                .or_insert_with(|| {
                    format!(
                        "Lambda sends failed invocations to {destination} with the function's role"
                    )
                });
        } else {
            problems.push(format!(
                "{}: on-failure destination {destination} is not an SQS queue; the test knows the permissions of SQS destinations only",
                infra.address
            ));
        }
    }
    for place in &code.calls.unknown {
        problems.push(format!(
            "function {} calls an AWS operation the wiring test does not know ({place}): add it with its IAM action to IAM_ACTIONS in tests/src/infra/sdk.rs",
            code.name
        ));
    }

    let mut granted: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for statement in &infra.statements {
        for action in &statement.actions {
            granted
                .entry(action.as_str())
                .or_default()
                .push(statement.origin.as_str());
        }
    }
    for (action, why) in &needed {
        if !granted.contains_key(action.as_str()) {
            problems.push(format!(
                "the role of {} does not allow {action}, but {why}",
                infra.address
            ));
        }
    }
    for (action, origins) in &granted {
        if !needed.contains_key(*action) {
            let verb = if origins.len() == 1 {
                "allows"
            } else {
                "allow"
            };
            problems.push(format!(
                "{} {verb} {action} to {}, but the function's code never calls it",
                origins.join(" and "),
                infra.address
            ));
        }
    }
}

/// The resource types an action's statement may name, and where the function gets them.
fn allowed_resources(
    module: &TfModule,
    infra: &FunctionInfra,
    action: &str,
) -> Option<(BTreeSet<String>, &'static [&'static str])> {
    let service = action.split(':').next().unwrap_or("");
    let wired: BTreeSet<String> = infra
        .env
        .values()
        .flat_map(|value| module.resource_refs(value))
        .collect();
    let myself = BTreeSet::from([infra.address.clone()]);
    match service {
        "dynamodb" => Some((wired, &["aws_dynamodb_table"])),
        "sns" => Some((wired, &["aws_sns_topic"])),
        "secretsmanager" => Some((wired, &["aws_secretsmanager_secret"])),
        "s3" => Some((wired, &["aws_s3_bucket", "aws_s3_object"])),
        "lambda" => Some((&wired | &myself, &["aws_lambda_function"])),
        "logs" => Some((infra.log_groups.clone(), &["aws_cloudwatch_log_group"])),
        "sqs" => Some((infra.destinations.clone(), &["aws_sqs_queue"])),
        "kms" => Some((
            module
                .resources_of_type("aws_kms_key")
                .map(|(name, _)| format!("aws_kms_key.{name}"))
                .collect(),
            &["aws_kms_key"],
        )),
        _ => None,
    }
}

fn check_resources(module: &TfModule, infra: &FunctionInfra, problems: &mut Vec<String>) {
    for statement in &infra.statements {
        let origin = &statement.origin;
        for action in &statement.actions {
            if action.contains('*') || !action.contains(':') {
                problems.push(format!(
                    "{origin}: action {action:?} is not one named action"
                ));
            }
        }

        let resourceless = statement
            .actions
            .iter()
            .all(|a| RESOURCELESS_ACTIONS.contains(&a.as_str()));
        if resourceless {
            let only_star = statement.resources.len() == 1
                && literal_string(&statement.resources[0]).as_deref() == Some("*");
            if !only_star {
                problems.push(format!(
                    "{origin}: X-Ray's write actions take only the resource \"*\"; keep them in a statement of their own"
                ));
            }
            continue;
        }

        for resource in &statement.resources {
            let shown = resource.to_string();
            let shape = template_shape(resource).unwrap_or_default();
            let logs_only = statement.actions.iter().all(|a| a.starts_with("logs:"));
            let wildcard_ok = logs_only && shape == "${}:*";
            if shape.contains('*') && !wildcard_ok {
                problems.push(format!(
                    "{origin}: resource {shown} has a wildcard; name the resource (only log statements may end in \":*\" on the function's own log group, whose streams Lambda names)"
                ));
                continue;
            }

            let refs = module.resource_refs(resource);
            if refs.is_empty() {
                problems.push(format!(
                    "{origin}: resource {shown} refers to no resource of the module, so it cannot be checked"
                ));
                continue;
            }
            // reference -> (actions that may not name it, what those actions may name)
            let mut unwired: BTreeMap<&String, (Vec<&str>, BTreeSet<String>)> = BTreeMap::new();
            for action in &statement.actions {
                let Some((allowed, types)) = allowed_resources(module, infra, action) else {
                    problems.push(format!(
                        "{origin}: {action} is of a service the wiring test does not know"
                    ));
                    continue;
                };
                for reference in &refs {
                    let ty = reference.split('.').next().unwrap_or("");
                    if !types.contains(&ty) || !allowed.contains(reference) {
                        let entry = unwired.entry(reference).or_default();
                        entry.0.push(action);
                        entry.1.extend(
                            allowed
                                .iter()
                                .filter(|a| types.contains(&a.split('.').next().unwrap_or("")))
                                .cloned(),
                        );
                    }
                }
            }
            for (reference, (actions, allowed)) in unwired {
                let mut message = format!(
                    "{origin}: {} on {reference}, which {} is not wired to",
                    actions.join(", "),
                    infra.address
                );
                let _ = write!(
                    message,
                    " (it may name: {})",
                    if allowed.is_empty() {
                        "nothing of that kind".to_owned()
                    } else {
                        allowed.into_iter().collect::<Vec<_>>().join(", ")
                    }
                );
                problems.push(message);
            }
        }
    }
}

/// The indexes the code queries are the indexes the role may query, and each exists.
fn check_indexes(
    module: &TfModule,
    code: &FunctionCode,
    infra: &FunctionInfra,
    problems: &mut Vec<String>,
) {
    let mut granted: BTreeMap<String, String> = BTreeMap::new();
    for statement in &infra.statements {
        if !statement.actions.iter().any(|a| a == "dynamodb:Query") {
            continue;
        }
        for resource in &statement.resources {
            let rendered = module.render(resource).unwrap_or_default();
            if let Some((_, index)) = rendered.split_once("/index/") {
                if index.contains("${") {
                    problems.push(format!(
                        "{}: index name in {resource} is not a literal, a variable default or a local",
                        statement.origin
                    ));
                } else {
                    granted.insert(index.to_owned(), statement.origin.clone());
                }
            }
        }
    }

    let defined: BTreeSet<String> = module
        .resources_of_type("aws_dynamodb_table")
        .flat_map(|(_, table)| {
            blocks(table.body(), "global_secondary_index")
                .filter_map(|index| {
                    attr(index.body(), "name").and_then(|n| module.static_string(n))
                })
                .collect::<Vec<_>>()
        })
        .collect();

    for (index, place) in &code.indexes {
        if !defined.contains(index) {
            problems.push(format!(
                "function {} queries index {index:?} ({place}) but no table of the module defines it (defined: {})",
                code.name,
                defined.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        if !granted.contains_key(index) {
            problems.push(format!(
                "function {} queries index {index:?} ({place}) but the role of {} does not allow dynamodb:Query on \"<table arn>/index/{index}\"",
                code.name, infra.address
            ));
        }
    }
    for (index, origin) in &granted {
        if !code.indexes.contains_key(index) {
            problems.push(format!(
                "{origin} allows dynamodb:Query on index {index:?}, which the code of {} never queries",
                infra.address
            ));
        }
    }
}
