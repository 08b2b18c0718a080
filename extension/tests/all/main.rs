//! Extension integration tests: one binary, one link.

mod destinations;
mod engine;
mod proxy;
mod shipped;
mod signing;
mod support;
