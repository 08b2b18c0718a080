//! The extension's lifecycle (placeholder while it is written).

/// Run as the Lambda extension; returns the exit code.
pub fn main() -> i32 {
    eprintln!("gavel: extension mode not built yet");
    1
}
