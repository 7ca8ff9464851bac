//! placeholder

pub mod scenario;
