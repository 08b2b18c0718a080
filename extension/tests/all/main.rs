//! Extension integration tests: one binary, one link.

mod bench_cli;
mod destinations;
mod engine;
mod precompiled;
mod proxy;
mod shipped;
mod signing;
mod support;
