//! The `gavel` command line: policy authoring tools and corpus scanning. With no subcommand
//! inside Lambda (where `AWS_LAMBDA_RUNTIME_API` is set), the binary runs as the extension.

mod policy;
mod scan;

use clap::{Parser, Subcommand};

pub use policy::PolicyCommand;
pub use scan::ScanArgs;

/// gavel judges every Lambda invocation with sandboxed WASM policies.
///
/// Inside a Lambda sandbox (`/opt/extensions/gavel`, no arguments) it runs as the extension.
/// On a workstation it is the policy author's tool:
///
///   gavel policy test malicious-content --event event.json
///   gavel policy bench malicious-content --event event.json
///   gavel scan ../shared/corpus/public-web.jsonl
#[derive(Debug, Parser)]
#[command(name = "gavel", version, about, long_about, verbatim_doc_comment)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Test, benchmark, inspect, sign and verify policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Judge corpus records (JSON lines) and print one verdict line per record.
    Scan(ScanArgs),
    /// Run as the Lambda extension (the default inside Lambda).
    Extension,
}

/// Run a CLI command; returns the process exit code.
pub fn run(command: Command) -> i32 {
    let result = match command {
        Command::Policy(cmd) => policy::run(cmd),
        Command::Scan(args) => scan::run(args),
        Command::Extension => unreachable!("handled by main"),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gavel: {e:#}");
            2
        }
    }
}
