//! The detect function: its environment settings, its enrichment set-up and its invocation
//! handler. `main` only
//! wires these to the Lambda runtime.

pub mod config;
pub mod enrichment;
pub mod handler;
