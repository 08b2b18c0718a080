//! Faults around a real gavel process (issue 8): the extension killed with records in its
//! spool, `/tmp` full, and 1000 invocations of a policy that misbehaves in every way it can.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gavel_e2e::moto::{self, Moto};
use gavel_e2e::{Options, Runtime, paths, require_gavel};
use serde_json::{Value, json};

use crate::start;

/// EICAR test signature, assembled so the source file itself is not flagged by scanners.
fn eicar_event(n: usize) -> Vec<u8> {
    let eicar = [
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
        "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat();
    json!({ "body": eicar, "n": n }).to_string().into_bytes()
}

const QUEUE: &str = "verdicts";

/// gavel with the shipped policies, deny records to an SQS queue at `endpoint`, and a short
/// delivery budget so an outage is noticed quickly.
fn to_sqs(gavel: PathBuf, endpoint: &str, spool: &Path) -> Options {
    let mut opts = Options::with_gavel(Runtime::python("echo"), gavel)
        .env("GAVEL_POLICY_DIR", paths::policy_dir().to_string_lossy())
        .env(
            "GAVEL_DESTINATION_ON_DENY",
            format!("arn:aws:sqs:{}:{}:{QUEUE}", moto::REGION, moto::ACCOUNT),
        )
        .env("GAVEL_DELIVERY_BUDGET_MS", "200")
        .env("GAVEL_SPOOL_DIR", spool.to_string_lossy());
    opts.env.extend(moto::aws_env(endpoint));
    opts
}

/// Record files in a spool directory (not the `.tmp` names of half-written ones).
fn spooled(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn spooled_records_survive_the_extension_being_killed() {
    let gavel = require_gavel!();
    let tmp = tempfile::tempdir().unwrap();
    let spool = tmp.path().join("gavel-spool");
    // Nothing listens here: every delivery fails and the record goes to the spool.
    let dead = format!("http://127.0.0.1:{}", paths::free_port());
    let mut env = start(to_sqs(gavel.clone(), &dead, &spool)).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let event = eicar_event(n);
        let r = env.invoke(&event).await;
        assert_eq!(r.body, event, "monitor mode changed the result");
        ids.push(r.request_id);
    }
    // SIGKILL: no SHUTDOWN, no flush, as when a sandbox is torn down.
    drop(env);
    assert_eq!(spooled(&spool), 5, "each undelivered record is spooled");

    // A new sandbox on the same /tmp, with the destination back, owes those records.
    let moto = Moto::start().expect("moto");
    let (url, _) = moto.create_queue(QUEUE).await.expect("queue");
    let mut env = start(to_sqs(gavel, &moto.endpoint(), &spool)).await;
    let r = env.invoke(br#"{"hello":"world"}"#).await;
    assert_eq!(r.body, br#"{"hello":"world"}"#);
    let stderr = env.extension_stderr();
    env.shutdown().await;

    let depth = moto.queue_depth(&url).await.expect("queue depth");
    let bodies = moto.receive_all(&url).await.expect("receive");
    assert_eq!(
        depth,
        bodies.len(),
        "GetQueueAttributes counts what is there"
    );
    let delivered: Vec<String> = bodies
        .iter()
        .filter_map(|b| serde_json::from_str::<Value>(b).ok())
        .filter_map(|r| r["requestContext"]["requestId"].as_str().map(String::from))
        .collect();
    for id in &ids {
        assert!(
            delivered.contains(id),
            "record of {id} lost; delivered {delivered:?}\n{stderr}"
        );
    }
    assert_eq!(spooled(&spool), 0, "delivered records leave the spool");
}

/// A launcher that runs `gavel` in its own mount namespace with `dir` on a 64 KiB tmpfs that
/// is already full, like a function that filled `/tmp`. Unprivileged: a user namespace.
fn on_full_tmpfs(gavel: &Path, dir: &Path) -> PathBuf {
    let launcher = dir.with_extension("launcher.sh");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        &launcher,
        format!(
            "#!/bin/sh\nexec unshare --map-root-user --mount sh -c \
             'mount -t tmpfs -o size=64k tmpfs \"$0\" && (head -c 1M /dev/zero > \"$0/fill\") 2>/dev/null; exec \"$1\"' \
             '{}' '{}'\n",
            dir.display(),
            gavel.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&launcher, std::fs::Permissions::from_mode(0o755)).unwrap();
    launcher
}

#[tokio::test]
async fn full_tmp_is_logged_and_the_function_is_unaffected() {
    let gavel = require_gavel!();
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("tmp");
    let launcher = on_full_tmpfs(&gavel, &full);
    let dead = format!("http://127.0.0.1:{}", paths::free_port());
    let mut opts = to_sqs(launcher, &dead, &full.join("gavel-spool"));
    opts.function_timeout = Duration::from_secs(20);
    let mut env = start(opts).await;
    let event = eicar_event(0);
    let r = env.invoke(&event).await;
    assert_eq!(r.body, event, "the function's result must not change");
    assert!(r.error.is_none());
    let r = env.invoke(br#"{"next":true}"#).await;
    assert_eq!(
        r.body, br#"{"next":true}"#,
        "the next invocation is healthy"
    );
    let (stdout, stderr) = (env.extension_stdout(), env.extension_stderr());
    env.shutdown().await;
    assert!(
        stderr.contains("not spooled") && stderr.contains("No space left on device"),
        "no clear log line about the full /tmp:\n{stderr}"
    );
    // Nothing lost: the record went to the log stream instead, named as undelivered.
    let logged = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["gavelUndelivered"]["verdict"]["decision"] == "deny")
        .count();
    assert_eq!(
        logged, 1,
        "the undeliverable record is written to stdout:\n{stdout}"
    );
}

/// Resident set size of a process, in KiB.
fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Wait until `path` holds `n` lines: every evaluation and delivery so far is done, so what is
/// resident is what stays, not work still queued behind a slow policy on a loaded machine.
async fn wait_lines(path: &Path, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let have = std::fs::read_to_string(path).map_or(0, |s| s.lines().count());
        if have >= n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} has {have} of {n} records after 60 s",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn memory_stays_flat_over_1000_hostile_invocations() {
    let gavel = require_gavel!();
    let hostile = paths::target_dir().join("test-policies/hostile.wasm");
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records.jsonl");
    let mut opts = Options::with_gavel(Runtime::python("echo"), gavel)
        .env("GAVEL_POLICIES", hostile.display().to_string())
        // The event picks the misbehaviour (see tests/policies/hostile).
        .env("GAVEL_SETTINGS_HOSTILE", "\"event\"")
        .env("GAVEL_POLICY_TIMEOUT_MS", "5")
        .env("GAVEL_POLICY_MEMORY_MB", "16")
        .env("GAVEL_LOG", "error")
        .env(
            "GAVEL_DESTINATION_ON_ALERT",
            format!("file:{}", records.display()),
        )
        .env(
            "GAVEL_DESTINATION_ON_DENY",
            format!("file:{}", records.display()),
        );
    // glibc gives each thread that allocates under contention its own malloc arena, so a
    // debug build's RSS climbs with machine load, not with calls; one arena measures gavel.
    // (The layer's musl build has no arenas; `make test` runs this test on it too.)
    opts.extension_env
        .push(("MALLOC_ARENA_MAX".into(), "1".into()));
    let mut env = start(opts).await;
    let pid = env.extension_pid().expect("extension pid");
    const MODES: [&str; 9] = [
        "trap",
        "panic",
        "error",
        "huge-output",
        "bad-utf8",
        "memory",
        "recurse",
        "loop",
        "echo",
    ];
    const WARM: usize = 300;
    // Every call but the well-behaved `echo` one writes a record.
    let recorded = |n: usize| (1..=n).filter(|k| MODES[k % MODES.len()] != "echo").count();
    let mut rss_warm = 0;
    for n in 1..=1000 {
        let mode = MODES[n % MODES.len()];
        let event = json!({ "hostile": mode, "n": n }).to_string().into_bytes();
        let r = env.invoke(&event).await;
        assert_eq!(r.body, event, "{mode}: result changed");
        // Warm-up first: pool slots and allocator arenas are touched in the first few
        // hundred calls (measured: +1.6 MB to call 500, then +0.1 MB to call 3000).
        if n == WARM {
            wait_lines(&records, recorded(n)).await;
            rss_warm = rss_kib(pid);
        }
    }
    wait_lines(&records, recorded(1000)).await;
    let rss_at_1000 = rss_kib(pid);
    env.shutdown().await;
    eprintln!("extension RSS: {rss_warm} KiB at {WARM}, {rss_at_1000} KiB at 1000");
    // Flat up to allocator noise (the same 9 behaviours repeat 78 times after the sample).
    // Measured with both samples taken once the work is drained: glibc (one arena) +0.2 MB
    // from call 300 to 1000; the layer's musl binary one +0.5 MB step before call 1000, then
    // +0.02 MB from 1000 to 4000 (docs/RELIABILITY.md). A leak of a record, an event or a store
    // per call would be several MB here.
    assert!(
        rss_at_1000 <= rss_warm + 1536,
        "RSS grew from {rss_warm} KiB at call {WARM} to {rss_at_1000} KiB at call 1000"
    );
    // Every invocation has a record, with its policy error named, except the well-behaved one.
    let lines = std::fs::read_to_string(&records).unwrap();
    let records: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let echo = 1000 / MODES.len();
    assert!(
        records.len() >= 1000 - echo - 1,
        "{} records",
        records.len()
    );
    assert!(records.iter().all(|r| {
        r["verdict"]["policies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["error"].is_string())
    }));
}
