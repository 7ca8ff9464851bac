//! Shared helpers for jcwatch's integration tests: connecting the AWS SDK to the local moto
//! emulators and creating uniquely named resources in them, and setting up the Directory
//! Insights simulator for poll runs.

pub mod moto;
pub mod poll;
