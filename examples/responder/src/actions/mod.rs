//! actions: one module per kind of change the responder makes.

pub mod iam;
pub mod s3;
