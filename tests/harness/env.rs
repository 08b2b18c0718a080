//! `LambdaEnv`: one simulated Lambda sandbox with real processes — the extension binary, a real
//! runtime client, optionally through `layer/wrapper` or `layer/bootstrap` — around the emulator.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderMap;
use serde_json::json;
use tokio::process::{Child, Command};

use crate::emulator::{Emulator, FunctionInfo, Outcome, now_ms};
use crate::paths;

/// The function's runtime.
#[derive(Debug, Clone)]
pub enum Runtime {
    /// A Python handler run by the real `awslambdaric` from `.venv`.
    Python {
        /// The handler module file (its directory becomes `LAMBDA_TASK_ROOT`).
        handler_file: PathBuf,
        /// Function name inside the module.
        handler: String,
    },
    /// An OS-only (`provided.*`) runtime: the function's own `bootstrap` executable.
    Provided {
        /// The executable Lambda would find at `$LAMBDA_TASK_ROOT/bootstrap`.
        bootstrap: PathBuf,
    },
}

impl Runtime {
    /// The test handler `name` from `tests/functions/python/handler.py`.
    pub fn python(name: &str) -> Self {
        Runtime::Python {
            handler_file: paths::python_handler_file(),
            handler: name.to_owned(),
        }
    }
}

/// How to start the sandbox.
#[derive(Debug, Clone)]
pub struct Options {
    /// External extension executable (the gavel binary), started like Lambda starts
    /// `/opt/extensions/*`. `None`: no extension.
    pub extension: Option<PathBuf>,
    /// Extra environment for the extension process only.
    pub extension_env: Vec<(String, String)>,
    /// Function configuration: given to the runtime and the extension alike, as on Lambda.
    pub env: Vec<(String, String)>,
    /// The function.
    pub runtime: Runtime,
    /// Python: start the runtime as `layer/wrapper <runtime command>` (what
    /// `AWS_LAMBDA_EXEC_WRAPPER` does). Provided: start `layer/bootstrap` with
    /// `GAVEL_FUNCTION_BOOTSTRAP` pointing at the function's bootstrap.
    pub through_wrapper: bool,
    /// `GAVEL_PROXY_PORT` for the wrapper/extension. `None`: a free port when an extension runs;
    /// without an extension the wrapper is pointed at the emulator itself (a pass-through).
    pub proxy_port: Option<u16>,
    /// SIGSTOP runtime and extension between invocations, like Lambda's freeze.
    pub freeze: bool,
    /// Init phase limit (Lambda: 10 s; more here because tests run in parallel on 2 cores).
    pub init_timeout: Duration,
    /// Function timeout, sets `deadlineMs` and how long `invoke` waits for a result.
    pub function_timeout: Duration,
    /// How long an extension may take after the result before its next `/event/next`.
    pub post_invoke_timeout: Duration,
    /// Time the extension gets after SHUTDOWN before it is killed (Lambda: ~2 s minus the runtime's share).
    pub shutdown_timeout: Duration,
    /// Function identity and `/next` content type.
    pub function: FunctionInfo,
}

impl Options {
    /// Defaults for `runtime`: no extension, no wrapper, freezing on.
    pub fn new(runtime: Runtime) -> Self {
        Self {
            extension: None,
            extension_env: Vec::new(),
            env: Vec::new(),
            runtime,
            through_wrapper: false,
            proxy_port: None,
            freeze: true,
            init_timeout: Duration::from_secs(30),
            function_timeout: Duration::from_secs(30),
            post_invoke_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_millis(2000),
            function: FunctionInfo::default(),
        }
    }

    /// With the gavel binary as extension and the runtime through the layer's wrapper/shim.
    pub fn with_gavel(runtime: Runtime, gavel: PathBuf) -> Self {
        Self {
            extension: Some(gavel),
            through_wrapper: true,
            ..Self::new(runtime)
        }
    }

    /// Adds a function configuration variable.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_owned(), value.into()));
        self
    }
}

/// A function error as the caller sees it (`X-Amz-Function-Error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// `Lambda-Runtime-Function-Error-Type` header, else the body's `errorType`, else `Unhandled`.
    pub error_type: String,
}

/// What the caller of one invocation gets.
#[derive(Debug, Clone)]
pub struct InvokeResult {
    /// Request id (also in the extension's INVOKE event).
    pub request_id: String,
    /// Result bytes; for a function error, the error document.
    pub body: Vec<u8>,
    /// `Some` when the runtime (or a proxy speaking for it) posted `/error`.
    pub error: Option<FunctionError>,
    /// Content type of the posted result.
    pub content_type: Option<String>,
    /// From enqueue to the emulator taking the result post: what the caller waits.
    pub duration: Duration,
    /// From the result until every extension was back in `/event/next`.
    pub post_invoke: Duration,
    /// The raw post, headers and trailers included.
    pub outcome: Outcome,
}

impl InvokeResult {
    /// Body as UTF-8 (lossy), for messages and `contains` checks.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("result is not JSON ({e}): {}", self.text()))
    }
}

/// How the sandbox ended.
#[derive(Debug)]
pub struct ShutdownReport {
    /// Extension exit status; `None` when it had to be killed or there was none.
    pub extension_status: Option<ExitStatus>,
    /// The extension exited by itself within `shutdown_timeout`.
    pub exited_in_time: bool,
    /// From SHUTDOWN to the extension's exit (or the kill).
    pub elapsed: Duration,
}

struct Proc {
    child: Child,
    pid: i32,
    stdout: PathBuf,
    stderr: PathBuf,
    log_offset: u64,
}

impl Proc {
    fn spawn(mut cmd: Command, dir: &Path, name: &str) -> Result<Self, String> {
        let stdout = dir.join(format!("{name}.stdout"));
        let stderr = dir.join(format!("{name}.stderr"));
        let open = |p: &Path| File::create(p).map_err(|e| format!("create {}: {e}", p.display()));
        cmd.stdout(Stdio::from(open(&stdout)?))
            .stderr(Stdio::from(open(&stderr)?))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(|e| format!("spawn {name}: {e}"))?;
        let pid = child.id().map(|p| p as i32).unwrap_or(0);
        Ok(Self {
            child,
            pid,
            stdout,
            stderr,
            log_offset: 0,
        })
    }

    fn signal(&self, sig: libc::c_int) {
        if self.pid > 0 {
            // SAFETY: kill(2) on a pid we spawned and still own (not yet reaped: `Child` reaps
            // only on wait), so it cannot hit a recycled pid.
            unsafe {
                libc::kill(self.pid, sig);
            }
        }
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn tail(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let text = format!("{}{}", read(&self.stdout), read(&self.stderr));
        let start = text.len().saturating_sub(4000);
        let start = (start..text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text[start..].to_owned()
    }

    /// Lines written to stdout since the last call (fed to telemetry as log records).
    fn new_lines(&mut self) -> Vec<String> {
        let Ok(all) = std::fs::read(&self.stdout) else {
            return Vec::new();
        };
        let from = (self.log_offset as usize).min(all.len());
        let Some(end) = all[from..].iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        self.log_offset = (from + end + 1) as u64;
        String::from_utf8_lossy(&all[from..from + end])
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// One simulated sandbox. Dropping it kills every process (after thawing them).
pub struct LambdaEnv {
    emulator: Emulator,
    opts: Options,
    dir: Option<tempfile::TempDir>,
    dir_path: PathBuf,
    extension: Option<Proc>,
    runtime: Option<Proc>,
    frozen: bool,
    proxy_port: Option<u16>,
}

impl Drop for LambdaEnv {
    fn drop(&mut self) {
        self.thaw();
        // kill_on_drop sends SIGKILL; with GAVEL_E2E_KEEP set, keep the logs for a post-mortem.
        if std::env::var_os("GAVEL_E2E_KEEP").is_some()
            && let Some(dir) = self.dir.take()
        {
            eprintln!("gavel-e2e: logs kept in {}", dir.keep().display());
        }
    }
}

impl LambdaEnv {
    /// Starts the sandbox: extension first; the runtime once it registered (Lambda's order,
    /// which is why gavel must bind its proxy before registering); returns once the runtime
    /// is in `/next` and the extension in `/event/next`. An `Err` carries the processes' output.
    pub async fn start(opts: Options) -> Result<Self, String> {
        let emulator = Emulator::start(opts.function.clone())
            .await
            .map_err(|e| format!("emulator: {e}"))?;
        Self::start_on(emulator, opts).await
    }

    /// [`LambdaEnv::start`] on an emulator that is already running, so that something can be
    /// put in front of it first (the bench's bare relay, reached through an `env` override of
    /// `AWS_LAMBDA_RUNTIME_API`).
    pub async fn start_on(emulator: Emulator, opts: Options) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("gavel-e2e-")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        let proxy_port = match (opts.proxy_port, &opts.extension) {
            (Some(p), _) => Some(p),
            (None, Some(_)) => Some(paths::free_port()),
            (None, None) if opts.through_wrapper => Some(emulator.addr().port()),
            (None, None) => None,
        };
        let mut env = LambdaEnv {
            emulator,
            opts,
            dir_path: dir.path().to_owned(),
            dir: Some(dir),
            extension: None,
            runtime: None,
            frozen: false,
            proxy_port,
        };
        env.emulator.emit(
            "platform",
            "platform.initStart",
            json!({"initializationType": "on-demand", "phase": "init"}),
        );
        let init_started = Instant::now();

        if let Some(bin) = env.opts.extension.clone() {
            let mut cmd = Command::new(&bin);
            env.lambda_env(&mut cmd);
            for (k, v) in &env.opts.extension_env {
                cmd.env(k, v);
            }
            env.extension = Some(Proc::spawn(cmd, &env.dir_path, "extension")?);
            let deadline = Instant::now() + env.opts.init_timeout;
            while !env
                .emulator
                .wait_registered(1, Duration::from_millis(100))
                .await
            {
                env.check_init("registering", deadline)?;
            }
        }

        let cmd = env.runtime_command()?;
        env.runtime = Some(Proc::spawn(cmd, &env.dir_path, "runtime")?);
        let deadline = Instant::now() + env.opts.init_timeout;
        while !env
            .emulator
            .wait_init_done(Duration::from_millis(100))
            .await
        {
            env.check_init("initialising", deadline)?;
        }
        let ms = init_started.elapsed().as_secs_f64() * 1000.0;
        env.emulator.emit(
            "platform",
            "platform.initRuntimeDone",
            json!({"initializationType": "on-demand", "phase": "init", "status": "success"}),
        );
        env.emulator.emit("platform", "platform.initReport", json!({"initializationType": "on-demand", "phase": "init", "status": "success", "metrics": {"durationMs": ms}}));
        env.feed_logs();
        env.emulator.flush_telemetry().await;
        env.freeze();
        Ok(env)
    }

    fn check_init(&mut self, what: &str, deadline: Instant) -> Result<(), String> {
        if let Some(e) = self.emulator.reported_errors().first() {
            return Err(format!(
                "init error while {what}: {e:?}\n{}",
                self.diagnostics()
            ));
        }
        let exited = [
            ("extension", &mut self.extension),
            ("runtime", &mut self.runtime),
        ]
        .into_iter()
        .find_map(|(name, p)| p.as_mut().and_then(Proc::exited).map(|st| (name, st)));
        if let Some((name, st)) = exited {
            return Err(format!(
                "{name} exited ({st}) while {what}\n{}",
                self.diagnostics()
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "init timed out while {what}\n{}",
                self.diagnostics()
            ));
        }
        Ok(())
    }

    /// The variables Lambda sets for every process of the sandbox, then the function's own.
    /// PATH etc. are inherited from the test process on purpose.
    fn lambda_env(&self, cmd: &mut Command) {
        let f = &self.opts.function;
        let task_root = match &self.opts.runtime {
            Runtime::Python { handler_file, .. } => handler_file.parent().map(Path::to_owned),
            Runtime::Provided { bootstrap } => bootstrap.parent().map(Path::to_owned),
        }
        .unwrap_or_else(|| PathBuf::from("/var/task"));
        cmd.env("AWS_LAMBDA_RUNTIME_API", self.emulator.runtime_api())
            .env("AWS_LAMBDA_FUNCTION_NAME", &f.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", &f.version)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", f.memory_mb.to_string())
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", f.name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]e2e")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_REGION", &f.region)
            .env("AWS_DEFAULT_REGION", &f.region)
            .env("_HANDLER", &f.handler)
            .env("LAMBDA_TASK_ROOT", &task_root)
            .env("TZ", ":UTC")
            .current_dir(&task_root);
        if let Some(p) = self.proxy_port {
            cmd.env("GAVEL_PROXY_PORT", p.to_string());
            // Tests run side by side: each extension gets its own telemetry listener port.
            cmd.env("GAVEL_TELEMETRY_PORT", paths::free_port().to_string());
        }
        // Each sandbox has its own /tmp on Lambda; side-by-side tests must not share a spool.
        cmd.env("GAVEL_SPOOL_DIR", self.dir_path.join("tmp/gavel-spool"));
        for (k, v) in &self.opts.env {
            cmd.env(k, v);
        }
    }

    fn runtime_command(&self) -> Result<Command, String> {
        let wrap = self.opts.through_wrapper;
        let mut cmd = match &self.opts.runtime {
            Runtime::Python {
                handler_file,
                handler,
            } => {
                let python = paths::venv_python()?;
                let module = handler_file
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .ok_or_else(|| format!("bad handler file {}", handler_file.display()))?;
                let args = [
                    python.to_string_lossy().into_owned(),
                    "-m".into(),
                    "awslambdaric".into(),
                    format!("{module}.{handler}"),
                ];
                let mut cmd = if wrap {
                    let mut c = Command::new(paths::layer_file("wrapper"));
                    c.args(&args);
                    c
                } else {
                    let mut c = Command::new(&args[0]);
                    c.args(&args[1..]);
                    c
                };
                if let Some(dir) = handler_file.parent() {
                    cmd.env("PYTHONPATH", dir);
                }
                // Unbuffered, so log lines reach the files (and telemetry) per invocation.
                cmd.env("PYTHONUNBUFFERED", "1");
                cmd
            }
            Runtime::Provided { bootstrap } => {
                if wrap {
                    let mut c = Command::new(paths::layer_file("bootstrap"));
                    c.env("GAVEL_FUNCTION_BOOTSTRAP", bootstrap);
                    c
                } else {
                    Command::new(bootstrap)
                }
            }
        };
        self.lambda_env(&mut cmd);
        Ok(cmd)
    }

    /// Invokes the function with `payload` (exact bytes) and waits for the result and for the
    /// extension's post-invoke phase, so the next call starts from a quiet sandbox.
    pub async fn invoke(&mut self, payload: &[u8]) -> InvokeResult {
        self.invoke_with(payload, HeaderMap::new()).await
    }

    /// `invoke` with extra `/next` headers (client context, cognito identity, tenant id…).
    pub async fn invoke_with(&mut self, payload: &[u8], headers: HeaderMap) -> InvokeResult {
        self.thaw();
        let deadline = now_ms() + self.opts.function_timeout.as_millis() as u64;
        let started = Instant::now();
        let id = self
            .emulator
            .enqueue(Bytes::copy_from_slice(payload), deadline, headers);
        self.emulator.emit(
            "platform",
            "platform.start",
            json!({"requestId": id, "version": self.opts.function.version}),
        );
        let outcome = match self
            .emulator
            .wait_outcome(&id, self.opts.function_timeout)
            .await
        {
            Some(o) => o,
            None => panic!(
                "no result for {id} within {:?}\n{}",
                self.opts.function_timeout,
                self.diagnostics()
            ),
        };
        // When the emulator took the post, not when this task woke up to see it: the caller's
        // wait ends there, and the bench driver's own scheduling is no part of it.
        let duration = outcome.at.saturating_duration_since(started);
        let status = if outcome.is_error { "error" } else { "success" };
        self.emulator.emit(
            "platform",
            "platform.runtimeDone",
            json!({"requestId": id, "status": status, "metrics": {"durationMs": duration.as_secs_f64() * 1000.0, "producedBytes": outcome.body.len()}}),
        );
        self.feed_logs();
        self.emulator.flush_telemetry().await;
        let t = Instant::now();
        if !self
            .emulator
            .wait_extensions_ready(self.opts.post_invoke_timeout)
            .await
        {
            panic!(
                "extension not back in /event/next within {:?} after {id}\n{}",
                self.opts.post_invoke_timeout,
                self.diagnostics()
            );
        }
        let post_invoke = t.elapsed();
        self.emulator.emit(
            "platform",
            "platform.report",
            json!({"requestId": id, "status": status, "metrics": {
                "durationMs": duration.as_secs_f64() * 1000.0,
                "billedDurationMs": duration.as_millis() as u64 + 1,
                "memorySizeMB": self.opts.function.memory_mb,
                "maxMemoryUsedMB": self.opts.function.memory_mb / 2}}),
        );
        self.feed_logs();
        self.emulator.flush_telemetry().await;
        self.freeze();
        let error = outcome.is_error.then(|| FunctionError {
            error_type: outcome
                .headers
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .or_else(|| {
                    serde_json::from_slice::<serde_json::Value>(&outcome.body)
                        .ok()
                        .and_then(|v| v["errorType"].as_str().map(str::to_owned))
                })
                .unwrap_or_else(|| "Unhandled".into()),
        });
        InvokeResult {
            request_id: id,
            body: outcome.body.to_vec(),
            error,
            content_type: outcome
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            duration,
            post_invoke,
            outcome,
        }
    }

    /// Ends the sandbox as Lambda does: the runtime is stopped, then SHUTDOWN goes to the
    /// extension, which gets `shutdown_timeout` to flush and exit before it is killed.
    pub async fn shutdown(mut self) -> ShutdownReport {
        self.thaw();
        if let Some(rt) = self.runtime.as_mut() {
            rt.signal(libc::SIGTERM);
            if tokio::time::timeout(Duration::from_millis(300), rt.child.wait())
                .await
                .is_err()
            {
                let _ = rt.child.kill().await;
            }
        }
        self.feed_logs();
        self.emulator.flush_telemetry().await;
        let started = Instant::now();
        self.emulator.send_shutdown(
            "spindown",
            now_ms() + self.opts.shutdown_timeout.as_millis() as u64,
        );
        let Some(ext) = self.extension.as_mut() else {
            return ShutdownReport {
                extension_status: None,
                exited_in_time: true,
                elapsed: started.elapsed(),
            };
        };
        match tokio::time::timeout(self.opts.shutdown_timeout, ext.child.wait()).await {
            Ok(Ok(st)) => ShutdownReport {
                extension_status: Some(st),
                exited_in_time: true,
                elapsed: started.elapsed(),
            },
            _ => {
                let _ = ext.child.kill().await;
                ShutdownReport {
                    extension_status: None,
                    exited_in_time: false,
                    elapsed: started.elapsed(),
                }
            }
        }
    }

    fn freeze(&mut self) {
        if self.opts.freeze && !self.frozen {
            for p in self.extension.iter().chain(self.runtime.iter()) {
                p.signal(libc::SIGSTOP);
            }
            self.frozen = true;
        }
    }

    fn thaw(&mut self) {
        if self.frozen {
            for p in self.extension.iter().chain(self.runtime.iter()) {
                p.signal(libc::SIGCONT);
            }
            self.frozen = false;
        }
    }

    /// Feeds new stdout lines to telemetry subscribers as `function` / `extension` records
    /// (Lambda captures both streams; stdout is enough for tests and keeps ordering simple).
    fn feed_logs(&mut self) {
        for (kind, p) in [
            ("function", &mut self.runtime),
            ("extension", &mut self.extension),
        ] {
            if let Some(p) = p.as_mut() {
                for line in p.new_lines() {
                    self.emulator.emit(kind, kind, json!(line));
                }
            }
        }
    }

    /// The emulator, for registration, error, subscription and delivery checks.
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// The proxy port handed to wrapper and extension (`GAVEL_PROXY_PORT`), if any.
    pub fn proxy_port(&self) -> Option<u16> {
        self.proxy_port
    }

    /// Directory holding `extension.stdout`, `runtime.stderr`, … (and free for test files).
    pub fn dir(&self) -> &Path {
        self.dir_path.as_path()
    }

    /// Extension stdout so far.
    pub fn extension_stdout(&self) -> String {
        read(self.dir_path.as_path().join("extension.stdout"))
    }

    /// Extension stderr so far.
    pub fn extension_stderr(&self) -> String {
        read(self.dir_path.as_path().join("extension.stderr"))
    }

    /// Runtime stdout so far.
    pub fn runtime_stdout(&self) -> String {
        read(self.dir_path.as_path().join("runtime.stdout"))
    }

    /// Runtime stderr so far.
    pub fn runtime_stderr(&self) -> String {
        read(self.dir_path.as_path().join("runtime.stderr"))
    }

    /// Pid of the extension process (the gavel binary), if one runs.
    pub fn extension_pid(&self) -> Option<i32> {
        self.extension.as_ref().map(|p| p.pid)
    }

    /// Pid of the runtime process (after the wrapper's exec, the runtime itself).
    pub fn runtime_pid(&self) -> Option<i32> {
        self.runtime.as_ref().map(|p| p.pid)
    }

    /// Everything useful for a failure message: the tail of every process's output.
    pub fn diagnostics(&self) -> String {
        let mut out = String::new();
        for (name, p) in [("extension", &self.extension), ("runtime", &self.runtime)] {
            if let Some(p) = p {
                out.push_str(&format!("--- {name} output (tail) ---\n{}\n", p.tail()));
            }
        }
        out.push_str(&format!(
            "--- emulator: extensions {:?}, errors {:?}\n",
            self.emulator
                .extensions()
                .iter()
                .map(|e| (&e.name, e.next_calls, e.waiting))
                .collect::<Vec<_>>(),
            self.emulator.reported_errors()
        ));
        out
    }
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}
