//! A Directory Insights look-alike for tests and the demo: an HTTP server on loopback that
//! answers `POST /insights/directory/v1/events` the way JumpCloud documents it, and issues
//! service-account tokens at `POST /oauth2/token`.
//!
//! Faithful where a poller can go wrong: credentials checked (`x-api-key` or a bearer token),
//! one event store per organisation chosen with `x-org-id` (an MSP key without it gets 401
//! `no organization selected`), `service` and `start_time` required, `start_time` inclusive
//! and `end_time` exclusive, `start >= end` answered with the real 400 message, the limit
//! rules (1000 by default, 10,000 at most, nonsense silently replaced), `sort`, and
//! `search_after` paging on `[epoch_ms, "id"]` with a stable internal id breaking ties
//! between events of one millisecond; the headers `X-Result-Count`, `X-Limit`, `X-Sort`,
//! `X-Search_after` (on every page, the last included) and `X-Request-Id`.
//!
//! Tests drive it through the [`Simulator`] handle: events can be added at any time (late
//! arrivals), [`FaultRule`]s queue 429s with `Retry-After`, 5xx, slow answers, dropped
//! connections and fatal 401/402/403, and the request log shows what the client sent.
//!
//! ```no_run
//! # async fn demo() -> Result<(), jcwatch_simulator::SimError> {
//! use jcwatch_simulator::{Fault, FaultRule, Simulator};
//! let sim = Simulator::builder().api_key("jca_test", "org-1").start().await?;
//! sim.push_fault(FaultRule::new(Fault::too_many_requests(1)));
//! println!("{}", sim.base_url());
//! # Ok(()) }
//! ```
//!
//! The [`scenario`] module scripts what it serves in the demo and the detection-quality
//! tests: ordinary days at a small company and an intrusion, with the ground truth beside them.
//!
//! The directory endpoints enrichment reads are served too (see [`directory`]): users and
//! administrators (v1), a user's groups and a group's name (v2), from a [`Directory`] given
//! per organisation, with the same credentials and faults ([`Target::Users`],
//! [`Target::Administrators`], [`Target::Groups`], or [`Target::Directory`] for all three).
//! An events search's `search_term` filter is applied.
//!
//! Limitation: `/events/count`, `/events/distinct` and `/events/interval` answer 404.
//! Full-text `q`, `fields` and `skip` of the events search are ignored.

mod api;
pub mod directory;
mod faults;
pub mod generate;
mod ids;
mod query;
pub mod scenario;
mod server;
mod store;
mod term;

pub use api::{AuthKind, Outcome, RecordedRequest};
pub use directory::{Directory, DirectoryAdmin, DirectoryUser, group_id};
pub use faults::{Fault, FaultRule, Target};
pub use query::{Limits, SERVICES};
pub use server::{SimError, Simulator, SimulatorBuilder};
