//! Shared helpers for jcwatch's integration tests: connecting the AWS SDK to the local moto
//! emulators and creating uniquely named resources in them.

pub mod moto;
