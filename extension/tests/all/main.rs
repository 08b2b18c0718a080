//! Extension integration tests: one binary, one link.

mod destinations;
mod engine;
mod precompiled;
mod proxy;
mod shipped;
mod signing;
mod support;
