//! `jcwatch`: the command-line tool. Parses arguments, dispatches to a subcommand module and
//! maps errors to exit codes; the work happens in the library crates.
//!
//! Exit codes: 0 success, 1 any other failure, 2 bad flags or configuration (a missing key
//! included), 3 an authentication or other fatal answer from the API.

mod demo;
mod enrichment;
mod error;
mod poll;
mod replay;
mod rules;
mod scan;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::error::CliError;

/// Security detections over JumpCloud's Directory Insights audit log.
#[derive(Debug, Parser)]
#[command(name = "jcwatch", version, about, propagate_version = true)]
struct Cli {
    /// More log output on standard error (-v: one line per page, -vv: per batch).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read new Directory Insights events, continuing where the last run stopped.
    Poll(poll::PollArgs),
    /// Run the detection rules over exported events and print the alerts.
    Scan(scan::ScanArgs),
    /// List the detection rules.
    Rules(rules::RulesArgs),
    /// Send the batches in the detect function's dead-letter queue to it again.
    #[command(name = "replay-dlq", alias = "replay")]
    ReplayDlq(replay::ReplayArgs),
    /// Replay a scripted day with an intrusion through the real poll and detect path, on
    /// the built-in simulator: no account needed.
    Demo(demo::DemoArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);

    match run(cli.command).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            err.exit_code()
        }
    }
}

async fn run(command: Command) -> Result<ExitCode, CliError> {
    match command {
        Command::Poll(args) => poll::run(args).await,
        Command::Scan(args) => scan::run(args).await,
        Command::Rules(args) => rules::run(args).await,
        Command::ReplayDlq(args) => replay::run(args).await,
        Command::Demo(args) => demo::run(args).await,
    }
}

/// Logs go to standard error, so standard output stays the command's result. `JCWATCH_LOG`
/// (an `EnvFilter` directive) overrides the verbosity flags.
fn init_logging(verbose: u8) {
    let default = match verbose {
        // The per-organisation outcome line repeats what the command prints itself.
        0 => "warn,jcwatch_core::poll::outcome=off",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("JCWATCH_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
