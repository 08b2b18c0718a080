//! Spool: records a destination did not accept within the budget, kept as one file each under
//! `/tmp/gavel-spool/` (written to a temporary name, then renamed, so a frozen or killed
//! sandbox never leaves half a record), bounded in bytes, retried at the next invocation.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Where the extension spools by default (`/tmp` is the only writable place in Lambda, and it
/// survives between invocations of one sandbox).
pub const DEFAULT_DIR: &str = "/tmp/gavel-spool";
/// Default bound: a quarter of Lambda's smallest `/tmp` (512 MB).
pub const DEFAULT_MAX_BYTES: u64 = 128 << 20;

/// A spool failure; the caller writes the record to the log stream instead.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The spool is at its size bound.
    #[error("spool {dir} is full ({used} of {max} bytes)")]
    Full {
        /// Spool directory.
        dir: PathBuf,
        /// Bytes in use.
        used: u64,
        /// The bound.
        max: u64,
    },
    /// The filesystem refused (`/tmp` full, read-only, ...).
    #[error("spool {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A spool file is not one of ours.
    #[error("spool file {path} is unreadable: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
}

/// One spooled record and the destination it is owed to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spooled {
    /// The destination's label (its ARN, `stdout`, `file:…`).
    pub destination: String,
    /// The record, as it was serialised.
    pub record: String,
}

/// The spool directory, with a byte bound.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    seq: AtomicU64,
}

impl Spool {
    /// A spool in `dir` holding at most `max_bytes` of files. The directory is created lazily.
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> Self {
        Self {
            dir: dir.into(),
            max_bytes,
            seq: AtomicU64::new(0),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keep `item`; returns the file it went to.
    pub fn put(&self, item: &Spooled) -> Result<PathBuf, SpoolError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SpoolError::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let used = self.used_bytes();
        let body = serde_json::to_vec(item).map_err(|source| SpoolError::Corrupt {
            path: self.dir.clone(),
            source,
        })?;
        if used + body.len() as u64 > self.max_bytes {
            return Err(SpoolError::Full {
                dir: self.dir.clone(),
                used,
                max: self.max_bytes,
            });
        }
        // Names sort by time of spooling, so records are retried oldest first.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let name = format!("{nanos:020}-{:05}-{seq:08}.json", std::process::id());
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let path = self.dir.join(name);
        if let Err(e) = std::fs::write(&tmp, &body) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(&tmp)(e));
        }
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(path)
    }

    /// Every spooled record, oldest first, with its file.
    pub fn list(&self) -> Vec<(PathBuf, Spooled)> {
        self.list_oldest(usize::MAX)
    }

    /// The `n` oldest spooled records with their files. Unreadable files are removed and
    /// reported in the log (renames are atomic, so only a foreign tool can leave one).
    pub fn list_oldest(&self, n: usize) -> Vec<(PathBuf, Spooled)> {
        let mut files = self.files();
        files.sort();
        files
            .into_iter()
            .take(n)
            .filter_map(|path| match read(&path) {
                Ok(item) => Some((path, item)),
                Err(e) => {
                    tracing::error!("{e}; removing it");
                    let _ = std::fs::remove_file(&path);
                    None
                }
            })
            .collect()
    }

    /// Forget a delivered record.
    pub fn remove(&self, path: &Path) {
        if let Err(e) = std::fs::remove_file(path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::error!("spool: removing {}: {e}", path.display());
        }
    }

    /// Number of spooled records.
    pub fn len(&self) -> usize {
        self.files().len()
    }

    /// Whether nothing is spooled.
    pub fn is_empty(&self) -> bool {
        self.files().is_empty()
    }

    fn files(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return vec![];
        };
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
            })
            .collect()
    }

    fn used_bytes(&self) -> u64 {
        self.files()
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}

fn read(path: &Path) -> Result<Spooled, SpoolError> {
    let bytes = std::fs::read(path).map_err(|source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| SpoolError::Corrupt {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(i: usize) -> Spooled {
        Spooled {
            destination: "arn:aws:sqs:us-east-1:123456789012:q".into(),
            record: format!("{{\"n\":{i}}}"),
        }
    }

    #[test]
    fn keeps_order_and_forgets_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path().join("spool"), 1 << 20);
        assert!(spool.is_empty());
        for i in 0..5 {
            spool.put(&item(i)).unwrap();
        }
        let listed = spool.list();
        let records: Vec<_> = listed.iter().map(|(_, s)| s.record.clone()).collect();
        assert_eq!(records, (0..5).map(|i| item(i).record).collect::<Vec<_>>());
        spool.remove(&listed[0].0);
        assert_eq!(spool.len(), 4);
        // No temporary files left behind.
        assert!(
            std::fs::read_dir(spool.dir()).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp"))
        );
    }

    #[test]
    fn bounded_in_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path(), 200);
        let mut kept = 0;
        let err = loop {
            match spool.put(&item(kept)) {
                Ok(_) => kept += 1,
                Err(e) => break e,
            }
        };
        assert!((1..5).contains(&kept), "{kept}");
        assert!(matches!(err, SpoolError::Full { .. }), "{err}");
        assert_eq!(spool.len(), kept);
    }

    #[test]
    fn unwritable_dir_is_an_error_not_a_panic() {
        let spool = Spool::new("/proc/gavel-spool-cannot-exist", 1 << 20);
        let err = spool.put(&item(0)).unwrap_err();
        assert!(matches!(err, SpoolError::Io { .. }), "{err}");
        assert!(spool.list().is_empty());
    }

    #[test]
    fn corrupt_files_are_dropped_with_a_log_line() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path(), 1 << 20);
        std::fs::write(dir.path().join("0-bad.json"), b"{not json").unwrap();
        spool.put(&item(1)).unwrap();
        assert_eq!(spool.list().len(), 1);
        assert_eq!(spool.len(), 1);
    }
}
