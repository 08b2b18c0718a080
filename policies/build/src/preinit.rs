//! Build-time pre-initialisation (wizer): run a policy module's `wizer-initialize` export once,
//! here, and write its memory and globals back into the module as data.
//!
//! The extension gives every invocation a fresh instance, so whatever a policy builds before it
//! can judge (matchers, tables) would otherwise be rebuilt on every call. After this step a fresh
//! instance starts from the snapshot: copy-on-write pages, no setup code run. The SDK's
//! `export_policy!` provides the export and calls `Policy::warm`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};

use anyhow::{Result, anyhow};
use wasmtime::{Engine, Instance, Linker, Module, Store, Val};
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

/// The export the SDK generates; wizer's default name, removed from the snapshot.
pub const INIT_EXPORT: &str = "wizer-initialize";

/// The pre-initialised module, or `None` when `module` has no [`INIT_EXPORT`] (a module not
/// built with the SDK: it is wrapped as it is).
pub fn preinitialize(module: &[u8]) -> Result<Option<Vec<u8>>> {
    let wizer = Wizer::new();
    let (cx, instrumented) = wasmtime_ok(wizer.instrument(module), "cannot instrument")?;
    let engine = Engine::default();
    let compiled = wasmtime_ok(Module::new(&engine, &instrumented), "cannot compile")?;
    if compiled.get_export(INIT_EXPORT).is_none() {
        return Ok(None);
    }
    let mut store = Store::new(&engine, ());
    // A policy imports nothing it may call at init; anything imported traps if touched.
    let mut linker = Linker::new(&engine);
    wasmtime_ok(
        linker.define_unknown_imports_as_traps(&compiled),
        "cannot stub imports",
    )?;
    let instance = wasmtime_ok(
        linker.instantiate(&mut store, &compiled),
        "cannot instantiate",
    )?;
    let init = wasmtime_ok(
        instance.get_typed_func::<(), ()>(&mut store, INIT_EXPORT),
        &format!("`{INIT_EXPORT}` must take and return nothing"),
    )?;
    wasmtime_ok(
        init.call(&mut store, ()),
        &format!("`{INIT_EXPORT}` trapped"),
    )?;
    let mut state = State {
        store: &mut store,
        instance,
    };
    let snapshot = wasmtime_ok(ready(wizer.snapshot(&cx, &mut state)), "cannot snapshot")?;
    Ok(Some(snapshot))
}

/// wasmtime's own error type into anyhow's, with its whole chain.
fn wasmtime_ok<T>(result: wasmtime::Result<T>, what: &str) -> Result<T> {
    result.map_err(|e| anyhow!("{what}: {e:#}"))
}

/// The instance's state, as wizer reads it (its exports `__wizer_*` added by `instrument`).
struct State<'a> {
    store: &'a mut Store<()>,
    instance: Instance,
}

impl InstanceState for State<'_> {
    async fn global_get(&mut self, name: &str, _: ValType) -> SnapshotVal {
        let global = self
            .instance
            .get_global(&mut *self.store, name)
            .expect("wizer asks only for globals it exported");
        match global.get(&mut *self.store) {
            Val::I32(x) => SnapshotVal::I32(x),
            Val::I64(x) => SnapshotVal::I64(x),
            Val::F32(x) => SnapshotVal::F32(x),
            Val::F64(x) => SnapshotVal::F64(x),
            Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            other => panic!("global {name}: {other:?} cannot be snapshotted"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self
            .instance
            .get_memory(&mut *self.store, name)
            .expect("wizer asks only for memories it exported");
        contents(memory.data(&*self.store))
    }
}

/// Drive a future that never waits: the snapshot is async only so that async runtimes can
/// implement [`InstanceState`]; ours answers synchronously.
fn ready<T>(future: impl Future<Output = T>) -> T {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut TaskContext::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("the snapshot waited on nothing it can be woken for"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module whose init stores 42 in memory and a global, and whose `get` reads both.
    const MODULE: &str = r#"(module
        (memory (export "memory") 1)
        (global $g (mut i32) (i32.const 0))
        (func (export "wizer-initialize")
            (i32.store (i32.const 64) (i32.const 42))
            (global.set $g (i32.const 42)))
        (func (export "get") (result i32)
            (i32.add (i32.load (i32.const 64)) (global.get $g))))"#;

    fn run_get(module: &[u8]) -> (i32, bool) {
        let engine = Engine::default();
        let module = Module::new(&engine, module).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let get = instance
            .get_typed_func::<(), i32>(&mut store, "get")
            .unwrap();
        (
            get.call(&mut store, ()).unwrap(),
            module.get_export(INIT_EXPORT).is_some(),
        )
    }

    #[test]
    fn the_snapshot_starts_initialised_and_drops_the_init_export() {
        let original = wat::parse_str(MODULE).unwrap();
        assert_eq!(run_get(&original), (0, true));
        let snapshot = preinitialize(&original).unwrap().expect("has the export");
        assert_eq!(run_get(&snapshot), (84, false));
    }

    #[test]
    fn a_module_without_the_export_is_left_alone() {
        let plain =
            wat::parse_str(r#"(module (func (export "get") (result i32) i32.const 7))"#).unwrap();
        assert!(preinitialize(&plain).unwrap().is_none());
    }

    #[test]
    fn a_trapping_init_is_an_error_naming_the_export() {
        let bad =
            wat::parse_str(r#"(module (func (export "wizer-initialize") unreachable))"#).unwrap();
        let err = preinitialize(&bad).unwrap_err().to_string();
        assert!(err.contains("`wizer-initialize` trapped"), "{err}");
    }
}
