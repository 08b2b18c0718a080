//! Local sinks: stdout (the function's CloudWatch log stream) and JSON-lines files.

use std::io::Write;
use std::path::PathBuf;

use super::{DeliveryError, Destination};

/// Writes each record as one line on stdout.
pub struct StdoutSink;

impl Destination for StdoutSink {
    fn label(&self) -> String {
        "stdout".into()
    }

    fn deliver(&self, records: &[String]) -> Result<(), DeliveryError> {
        let mut out = std::io::stdout().lock();
        for record in records {
            writeln!(out, "{record}").map_err(|e| DeliveryError {
                destination: self.label(),
                message: e.to_string(),
            })?;
        }
        out.flush().map_err(|e| DeliveryError {
            destination: self.label(),
            message: e.to_string(),
        })
    }
}

/// Appends each record as one line to a file (created if missing).
pub struct FileSink {
    path: PathBuf,
}

impl FileSink {
    /// A sink for `path`.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }
}

impl Destination for FileSink {
    fn label(&self) -> String {
        format!("file:{}", self.path.display())
    }

    fn deliver(&self, records: &[String]) -> Result<(), DeliveryError> {
        let fail = |e: std::io::Error| DeliveryError {
            destination: self.label(),
            message: e.to_string(),
        };
        // One write of whole lines, so concurrent readers never see half a record.
        let mut buf = String::with_capacity(records.iter().map(|r| r.len() + 1).sum());
        for record in records {
            buf.push_str(record);
            buf.push('\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(fail)?;
        file.write_all(buf.as_bytes()).map_err(fail)
    }
}
