//! The detect function: its environment settings and its invocation handler. `main` only
//! wires these to the Lambda runtime.

pub mod config;
pub mod handler;
