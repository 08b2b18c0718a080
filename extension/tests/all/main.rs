//! Extension integration tests: one binary.
