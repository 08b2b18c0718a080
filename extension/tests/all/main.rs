//! Extension integration tests: one binary, one link.

mod engine;
mod proxy;
mod shipped;
mod support;
