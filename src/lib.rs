//! payprobe watches payment gateways from the outside and says why they fail.
//!
//! The crate follows the data flow of `docs/architecture.md` (read it first):
//!
//! * [`config`] parses TOML into raw structs, then validates them into an immutable
//!   [`config::Plan`] that the rest of the code trusts (no re-validation downstream).
//! * [`probe`] holds one module per check behind the [`probe::Prober`] trait, registered once
//!   in [`probe::Probers::new`]. A probe never
//!   returns `Err` for a dead gateway: it returns typed [`probe::Evidence`] saying what failed.
//! * [`profile`] reads provider error bodies (Alipay, WeChat Pay, Stripe, JSON-RPC) into causes.
//! * [`scheduler`] runs every target on its own interval under a global concurrency cap.
//! * [`checked`] is a check as judged: the observation untouched, the failure concluded and
//!   the judge's readings — what every reader after the judge gets.
//! * [`classify`] turns judged checks into a diagnosis (cause, scope, symptoms, hint) with pure
//!   functions and one rules table.
//! * [`judge`] is the judging stage: conditions over what was observed, the rules table,
//!   window and scope, and every piece of cross-target state; [`state`] keeps the latest
//!   judged round per target for the readers;
//!   [`pipeline`] offers every judged round ([`output::JudgedRound`]) to each output's own
//!   queue and task; [`metrics`] is one of them; [`http`] serves `/metrics`, health, the
//!   JSON API, `/probe` and the status page; [`app`] ties them together with reload and signals.
//! * [`history`] keeps the last rounds of every target (a bounded ring) for the status page.
//! * [`demo`] starts simulated gateways on loopback so the whole pipeline can be seen offline.
//! * [`vocab`] holds the closed sets of names (checks, phases, causes, languages, …) and
//!   [`lang`] every user-facing phrase in both languages; [`limits`] holds every bound;
//!   [`timefmt`] formats any date; [`sync`] takes over poisoned locks (logged and counted).
//!   These bottom layers import nothing above them (docs/architecture.md, "Layers").

// First: its `closed!` macro is used by the modules below.
#[macro_use]
pub mod vocab;

pub mod alerts;
pub mod app;
pub mod availability;
pub mod checked;
pub mod classify;
pub mod config;
pub mod demo;
pub mod durable;
pub mod history;
pub mod http;
pub mod incidents;
pub mod judge;
pub mod lang;
pub mod limits;
pub mod logbudget;
pub mod maintenance;
pub mod metrics;
pub mod notify;
pub mod output;
pub mod pipeline;
pub mod probe;
pub mod profile;
pub mod scheduler;
pub mod sign;
pub mod state;
pub mod supervise;
pub mod sync;
pub mod timefmt;
pub mod tls;
pub mod webauth;

/// The version string exported in `payprobe_build_info` and the `User-Agent`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
