//! The jcwatch use cases, written against ports: polling Directory Insights and handing the
//! events over, and detecting, storing and notifying alerts. Adapters implement the ports.

pub mod directory;
pub mod memory;
pub mod poll;
pub mod ports;
pub mod replay;
