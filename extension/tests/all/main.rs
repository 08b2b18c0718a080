//! Extension integration tests: one binary.
mod proxy;
