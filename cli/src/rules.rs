//! `jcwatch rules`: the detection catalogue, with the effective settings of a configuration
//! file when one is given.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use jcwatch_detection::config::Config;
use jcwatch_detection::engine;

use crate::error::CliError;

/// List the detection rules.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Output: a table, a JSON array, or the Markdown rule table of the documentation.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Show the table with this configuration applied (enabled, severity, route).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
    Markdown,
}

pub async fn run(args: RulesArgs) -> Result<ExitCode, CliError> {
    let config =
        Config::load(args.config.as_deref()).map_err(|e| CliError::Usage(e.to_string()))?;
    let built = engine::build(&config).map_err(|e| CliError::Usage(e.to_string()))?;

    let text = match args.format {
        Format::Markdown => jcwatch_rules::render::markdown(&jcwatch_rules::catalogue()),
        Format::Json => {
            let json = jcwatch_rules::render::json(&jcwatch_rules::catalogue());
            serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"
        }
        Format::Table => table(built.engine()),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    Ok(ExitCode::SUCCESS)
}

fn table(engine: &jcwatch_rules::Engine) -> String {
    let header = ["RULE", "AREA", "SEVERITY", "ROUTE", "ENABLED", "TITLE"];
    let rows: Vec<[String; 6]> = engine
        .rules()
        .map(|status| {
            let enabled = match (status.enabled, &status.rule.needs_config) {
                (true, _) => "yes".to_string(),
                (false, Some(_)) => "no (needs config)".to_string(),
                (false, None) => "no".to_string(),
            };
            [
                status.rule.id.to_string(),
                status.rule.area.as_str().to_string(),
                status.severity.as_str().to_string(),
                status.route.as_str().to_string(),
                enabled,
                status.rule.title.to_string(),
            ]
        })
        .collect();

    let mut widths = header.map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                out.extend(std::iter::repeat_n(
                    ' ',
                    widths[i] - cell.chars().count() + 2,
                ));
            }
        }
        out.push('\n');
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    out.push_str(&format!("{} rules\n", rows.len()));
    out
}
