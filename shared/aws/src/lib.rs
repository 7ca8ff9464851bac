//! placeholder
pub mod alerts;
pub mod state;
