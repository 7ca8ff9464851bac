//! Writes a scenario corpus as JSON lines, for `jcwatch scan` and for tuning rules.
//!
//! ```text
//! cargo run -p jcwatch-simulator --example write_corpus -- OUT.jsonl
//!     [--seed N] [--start YYYY-MM-DD] [--days N] [--intrusion-day N | --no-intrusion]
//!     [--truth TRUTH.jsonl]
//! ```
//!
//! Defaults: seed 7, start 2025-06-09 (a Monday), 5 days, the intrusion on day 2 (Wednesday)
//! at 13:30 UTC. `--truth` also writes the ground truth, one `{"id","truth","what","area"}`
//! line per event.

use std::process::ExitCode;

use chrono::NaiveDate;
use jcwatch_simulator::scenario::Scenario;

struct Args {
    out: String,
    truth: Option<String>,
    seed: u64,
    start: NaiveDate,
    days: u32,
    intrusion_day: Option<u32>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        out: String::new(),
        truth: None,
        seed: 7,
        start: NaiveDate::from_ymd_opt(2025, 6, 9).ok_or("bad default date")?,
        days: 5,
        intrusion_day: Some(2),
    };
    while let Some(arg) = argv.next() {
        let mut value = |name: &str| argv.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--seed" => {
                args.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "--start" => {
                args.start = value("--start")?
                    .parse()
                    .map_err(|e| format!("--start (YYYY-MM-DD): {e}"))?
            }
            "--days" => {
                args.days = value("--days")?
                    .parse()
                    .map_err(|e| format!("--days: {e}"))?
            }
            "--intrusion-day" => {
                args.intrusion_day = Some(
                    value("--intrusion-day")?
                        .parse()
                        .map_err(|e| format!("--intrusion-day: {e}"))?,
                )
            }
            "--no-intrusion" => args.intrusion_day = None,
            "--truth" => args.truth = Some(value("--truth")?),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            path if args.out.is_empty() => args.out = path.to_string(),
            extra => return Err(format!("unexpected argument {extra:?}")),
        }
    }
    if args.out.is_empty() {
        return Err("give the output file: write_corpus OUT.jsonl [options]".into());
    }
    if args.days == 0 {
        return Err("--days must be at least 1".into());
    }
    if let Some(day) = args.intrusion_day.filter(|d| *d >= args.days) {
        return Err(format!(
            "--intrusion-day {day} is outside the {} day(s)",
            args.days
        ));
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("write_corpus: {message}");
            return ExitCode::from(2);
        }
    };

    let scenario = Scenario::new(args.seed, args.start);
    let corpus = match args.intrusion_day {
        Some(day) => scenario.days_with_intrusion(args.days, day),
        None => scenario.ordinary_days(args.days),
    };
    if let Err(e) = std::fs::write(&args.out, corpus.to_json_lines()) {
        eprintln!("write_corpus: cannot write {}: {e}", args.out);
        return ExitCode::FAILURE;
    }
    if let Some(path) = &args.truth
        && let Err(e) = std::fs::write(path, corpus.truth_json_lines())
    {
        eprintln!("write_corpus: cannot write {path}: {e}");
        return ExitCode::FAILURE;
    }
    let attacks = corpus
        .events()
        .iter()
        .filter(|e| e.attack().is_some())
        .count();
    eprintln!(
        "wrote {} events ({attacks} from the intrusion) to {}",
        corpus.len(),
        args.out
    );
    ExitCode::SUCCESS
}
