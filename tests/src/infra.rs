//! Reads the Terraform module in `infra/` and the function crates, so tests can hold one
//! against the other (`tests/tests/infra_wiring.rs`).
//!
//! The contract the function code keeps so that it can be checked:
//! - every environment variable a function reads is declared in
//!   `functions/<name>/src/config.rs` as `pub const NAME_ENV: &str = "NAME";`;
//! - AWS is called through SDK fluent chains (`client.put_item()...send()`), in the
//!   function crate or in a workspace crate it depends on that depends on `aws-sdk-*`,
//!   whose items the function names through the crate path (`jcwatch_aws::...`).

pub mod rust_source;
pub mod sdk;
pub mod terraform;
pub mod wiring;

pub use terraform::TfModule;
pub use wiring::{check_wiring, read_function_code, read_function_infra};
