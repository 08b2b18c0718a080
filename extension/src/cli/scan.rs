//! `gavel scan`: judge corpus records (JSON lines) with a policy set, one verdict line each.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::{Value, json};

use crate::catalog::{PolicySet, available, find, search_dirs};
use crate::engine::{EngineBuilder, InvocationInput, Phase, PolicySource};
use crate::verdict::{decision_str, strongest};

/// `gavel scan` arguments.
///
/// Each input line is `{"id", "event", "response"?}` (the corpus format). The event is judged
/// in the request phase; a non-null `response` also in the response phase.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Comma list of policies (names or `.wasm` paths); default: every built policy.
    #[arg(long)]
    pub policies: Option<String>,
    /// JSON object of settings keyed by policy name: {"malicious-content": {...}}.
    #[arg(long)]
    pub settings_file: Option<PathBuf>,
    /// Per-evaluation deadline in ms.
    #[arg(long, default_value_t = 1000)]
    pub timeout_ms: u64,
    /// JSON-lines files; `-` reads standard input.
    #[arg(required = true)]
    pub files: Vec<String>,
}

/// Run the scan.
pub fn run(args: ScanArgs) -> Result<i32> {
    let settings = read_settings(args.settings_file.as_ref())?;
    let names: Vec<String> = match &args.policies {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        None => default_policies()?,
    };
    let mut sources = Vec::new();
    for name in &names {
        let path = find(name).map_err(anyhow::Error::msg)?;
        sources.push(PolicySource::from_file(&path, None)?);
    }
    let engine = EngineBuilder::new().timeout_ms(args.timeout_ms).build()?;
    let set = PolicySet::load(
        engine,
        sources,
        |name| {
            settings
                .get(name)
                .map_or_else(|| "{}".to_string(), Value::to_string)
        },
        crate::engine::Decision::Alert,
    )?;

    let started = Instant::now();
    let progress = std::io::stderr().is_terminal();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut errors = 0usize;
    let mut total = 0usize;
    for file in &args.files {
        let reader: Box<dyn BufRead> = if file == "-" {
            Box::new(BufReader::new(std::io::stdin()))
        } else {
            Box::new(BufReader::new(
                std::fs::File::open(file).with_context(|| format!("cannot open {file}"))?,
            ))
        };
        for (n, line) in reader.lines().enumerate() {
            let line = line.with_context(|| format!("{file}: cannot read line {}", n + 1))?;
            if line.trim().is_empty() {
                continue;
            }
            let record: Value = serde_json::from_str(&line)
                .with_context(|| format!("{file}:{}: not a JSON object", n + 1))?;
            let (verdict, policy_errors) = judge(&set, &record)?;
            errors += policy_errors;
            *counts
                .entry(verdict["decision"].as_str().map_or("allow", decision_name))
                .or_default() += 1;
            serde_json::to_writer(&mut out, &verdict)?;
            out.write_all(b"\n")?;
            total += 1;
            if progress && total.is_multiple_of(250) {
                eprint!("\rgavel scan: {total} records…");
            }
        }
    }
    out.flush()?;
    if progress {
        eprint!("\r");
    }
    let summary: Vec<String> = counts.iter().map(|(d, n)| format!("{n} {d}")).collect();
    eprintln!(
        "gavel scan: {total} records in {:.1} s with {} ({}){}",
        started.elapsed().as_secs_f64(),
        set.policies
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        summary.join(", "),
        if errors > 0 {
            format!(", {errors} policy errors")
        } else {
            String::new()
        }
    );
    Ok(0)
}

fn decision_name(d: &str) -> &'static str {
    match d {
        "deny" => "deny",
        "alert" => "alert",
        _ => "allow",
    }
}

fn default_policies() -> Result<Vec<String>> {
    for dir in search_dirs() {
        if dir.is_dir() {
            let names = available(&dir)?;
            if !names.is_empty() {
                return Ok(names);
            }
        }
    }
    bail!("no built policies found (run `make policies`, or pass --policies)")
}

fn read_settings(path: Option<&PathBuf>) -> Result<BTreeMap<String, Value>> {
    let Some(path) = path else {
        return Ok(BTreeMap::new());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --settings-file {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "--settings-file {}: expected a JSON object keyed by policy name",
            path.display()
        )
    })
}

/// One output line for one corpus record, and how many policy errors it had.
fn judge(set: &PolicySet, record: &Value) -> Result<(Value, usize)> {
    let id = record.get("id").cloned().unwrap_or(Value::Null);
    let event = record.get("event").context("record without `event`")?;
    let mut input = InvocationInput {
        request_id: id.as_str().unwrap_or_default().to_string(),
        function_name: "gavel-scan".into(),
        function_arn: "arn:aws:lambda:us-east-1:000000000000:function:gavel-scan".into(),
        event: serde_json::to_vec(event)?,
        ..Default::default()
    };
    let mut outcomes = set.evaluate(Phase::Request, input.clone());
    if let Some(response) = record.get("response").filter(|r| !r.is_null()) {
        input.result = Some(serde_json::to_vec(response)?);
        outcomes.extend(set.evaluate(Phase::Response, input));
    }
    let errors = outcomes.iter().filter(|o| o.error.is_some()).count();
    // One entry per policy: its strongest decision over the phases it ran in.
    let mut per_policy: Vec<(String, Vec<_>, Vec<String>)> = Vec::new();
    for o in &outcomes {
        let rules = o.findings.iter().map(|f| f.rule_id.clone());
        match per_policy.iter_mut().find(|(n, ..)| *n == o.name) {
            Some((_, decisions, ids)) => {
                decisions.push(o.decision);
                ids.extend(rules);
            }
            None => per_policy.push((o.name.clone(), vec![o.decision], rules.collect())),
        }
    }
    let decision = strongest(outcomes.iter().map(|o| o.decision));
    let policies: Vec<Value> = per_policy
        .into_iter()
        .map(|(name, decisions, mut ids)| {
            ids.dedup();
            json!({"name": name, "decision": decision_str(strongest(decisions)), "ruleIds": ids})
        })
        .collect();
    Ok((
        json!({"id": id, "decision": decision_str(decision), "policies": policies}),
        errors,
    ))
}
