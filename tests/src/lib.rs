//! Shared helpers for jcwatch's integration tests: connecting the AWS SDK to the local moto
//! emulators and creating uniquely named resources in them, setting up the Directory
//! Insights simulator for poll runs, filling a dead-letter queue for the replay, and reading
//! the Terraform module for the wiring check.

pub mod infra;
pub mod moto;
pub mod poll;
pub mod replay;
