//! The `gavel` binary: the Lambda extension (no arguments, inside Lambda) and the CLI.

use clap::Parser;
use gavel::cli::{Cli, Command};

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Extension) => gavel::extension::main(),
        None if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() => gavel::extension::main(),
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_long_help();
            2
        }
        Some(command) => gavel::cli::run(command),
    };
    std::process::exit(code);
}
