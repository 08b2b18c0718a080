//! `gavel policy bench`, run as users run it: its JSON figures and its profiling map.

use serde_json::Value;

use crate::support::{gavel, shipped_policy, succeed};

fn event_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("event.json");
    let event = serde_json::json!({"body": "select name from users where id = 1 or 1=1 --"});
    std::fs::write(&path, event.to_string()).unwrap();
    path
}

#[test]
fn bench_reports_figures_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = succeed(
        gavel()
            .args(["policy", "bench"])
            .arg(shipped_policy("malicious-content"))
            .arg("--event")
            .arg(event_file(dir.path()))
            .args(["--seconds", "0.2", "--json"]),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["policy"], "malicious-content");
    assert_eq!(v["errors"], 0);
    assert!(v["evaluations"].as_u64().unwrap() >= 10, "{v}");
    assert!(
        v["p50Us"].as_f64().unwrap() <= v["p99Us"].as_f64().unwrap(),
        "{v}"
    );
}

#[test]
fn cold_bench_evicts_before_each_evaluation_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let run = |json: bool| {
        let mut cmd = gavel();
        cmd.args(["policy", "bench"])
            .arg(shipped_policy("unauthorized-access"))
            .arg("--event")
            .arg(event_file(dir.path()))
            .args(["--seconds", "0.1", "--cold"]);
        if json {
            cmd.arg("--json");
        }
        succeed(&mut cmd).stdout
    };
    let v: Value = serde_json::from_slice(&run(true)).unwrap();
    assert_eq!(v["cold"], true, "{v}");
    assert_eq!(v["errors"], 0, "{v}");
    assert!(v["evaluations"].as_u64().unwrap() >= 10, "{v}");
    let text = String::from_utf8(run(false)).unwrap();
    assert!(
        text.contains("caches evicted before each evaluation"),
        "{text}"
    );
}

#[test]
fn perf_map_names_the_policys_compiled_code() {
    let dir = tempfile::tempdir().unwrap();
    let child = gavel()
        .args(["policy", "bench"])
        .arg(shipped_policy("unauthorized-access"))
        .arg("--event")
        .arg(event_file(dir.path()))
        .args(["--seconds", "0.1", "--perf-map"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let map = std::path::PathBuf::from(format!("/tmp/perf-{}.map", child.id()));
    let status = child.wait_with_output().unwrap().status;
    assert!(status.success());
    let text = std::fs::read_to_string(&map).expect("perf map written");
    let _ = std::fs::remove_file(&map);
    // `<start> <size> <name>` lines, one per compiled function of the component.
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 10, "{} lines", lines.len());
    assert!(
        lines.iter().all(|l| l.splitn(3, ' ').count() == 3),
        "{text:.300}"
    );
}
