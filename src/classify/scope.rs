//! "Is it me or them?" — scope from what the other targets look like.
//!
//! [`Peers`] keeps per-provider counts up to date as each target's health changes, so the
//! [`PeerView`] of one target costs O(1) to build even with 10,000 targets.

use std::collections::HashMap;

use super::{Cause, Scope};

/// What the *other* targets look like, from the point of view of one target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerView {
    /// This target is itself a control (a reference on our own way out).
    pub control: bool,
    /// Other controls on the same way out (`egress`) that are unhealthy: a broken proxy or
    /// uplink says nothing about targets that leave another way.
    pub controls_failing: usize,
    /// Other endpoints of this target's provider, and how many of them are unhealthy
    /// (in all, and with a network cause).
    pub peers: usize,
    pub peers_failing: usize,
    pub peers_network: usize,
    /// Providers other than this one, and how many of them are down at the network layer
    /// (every endpoint unhealthy with a network cause).
    pub other_providers: usize,
    pub other_providers_network_down: usize,
    /// The other non-control targets on the same way out, unhealthy and healthy: the
    /// vantage point's other paths, which must agree before a failing control means "local".
    pub others_failing: usize,
    pub others_healthy: usize,
}

/// Whether the other paths on this way out agree that it is cut off: at least as many of
/// the other targets leaving this way fail as pass (this unhealthy target counted among the
/// failing). A mass outage reaches this as its targets cross their thresholds; a control
/// failing alone beside working paths never does.
pub fn paths_agree(ctx: &PeerView) -> bool {
    let me = usize::from(!ctx.control);
    ctx.others_failing + me >= ctx.others_healthy
}

/// A control that fails while most of the other paths on its way out work: the control
/// itself is broken (a dead reference host, a firewall rule of its own), not our network.
pub fn broken_control(ctx: &PeerView) -> bool {
    ctx.control && !paths_agree(ctx)
}

/// The scope of an unhealthy target with this cause. "Local" needs evidence from two sides:
/// a failing control on the same way out *and* the other paths agreeing (issue 20: a broken
/// control turned every failing target's scope into local and paged for the vantage point).
pub fn scope(cause: Cause, ctx: &PeerView) -> Scope {
    if ctx.control {
        return if paths_agree(ctx) {
            Scope::Local
        } else {
            Scope::Endpoint
        };
    }
    if ctx.controls_failing > 0 && paths_agree(ctx) {
        return Scope::Local;
    }
    let my_provider_network_down = cause == Cause::Network && ctx.peers_network == ctx.peers;
    if my_provider_network_down
        && ctx.other_providers > 0
        && ctx.other_providers_network_down == ctx.other_providers
    {
        return Scope::Local;
    }
    if ctx.peers > 0 && ctx.peers_failing == ctx.peers {
        return Scope::Provider;
    }
    Scope::Endpoint
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    endpoints: usize,
    failing: usize,
    network: usize,
}

impl Counts {
    fn network_down(&self) -> bool {
        self.endpoints > 0 && self.network == self.endpoints
    }
}

#[derive(Debug, Clone)]
struct Member {
    provider: String,
    /// The way out ([`crate::config::Egress::label`]); controls are counted per egress.
    egress: String,
    control: bool,
    path: bool,
    failing: bool,
    network: bool,
}

/// Whose scope a change of one target's state may move (see [`Peers::set`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Nobody,
    /// The other endpoints of the changed target's provider.
    Provider,
    Everyone,
}

/// Health of every target, aggregated by provider and kept current incrementally.
#[derive(Debug, Default)]
pub struct Peers {
    members: HashMap<String, Member>,
    providers: HashMap<String, Counts>,
    /// Controls and failing controls, by way out.
    controls: HashMap<String, (usize, usize)>,
    network_down_providers: usize,
    /// Non-control targets and how many of them are unhealthy, by way out.
    endpoints: HashMap<String, (usize, usize)>,
}

/// A target's identity as scope sees it: its name, provider, whether it is a control and
/// which way out it takes.
#[derive(Debug, Clone, Copy)]
pub struct Seat<'a> {
    pub name: &'a str,
    pub provider: &'a str,
    pub control: bool,
    pub egress: &'a str,
    /// Whether it is a network path that can say whether its way out works: a payment
    /// notification channel probes nothing, stays healthy while the network is down, and
    /// must not outvote the targets that fail (it is left out of the per-egress counts).
    pub path: bool,
}

impl<'a> Seat<'a> {
    pub fn of(t: &'a crate::config::Target) -> Seat<'a> {
        Seat {
            name: &t.name,
            provider: &t.provider,
            control: t.control,
            egress: &t.egress_label,
            path: !t
                .checks
                .iter()
                .all(|c| *c == crate::config::Check::Notification),
        }
    }
}

/// What one way out looks like: its controls, and the targets that take it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WayOut {
    pub controls: usize,
    pub controls_failing: usize,
    pub targets: usize,
    pub targets_failing: usize,
}

impl WayOut {
    /// A failing control and the other paths agreeing: this way out is cut off.
    pub fn cut_off(&self) -> bool {
        self.controls_failing > 0
            && self.targets_failing >= self.targets.saturating_sub(self.targets_failing)
    }
}

impl Peers {
    /// Records a target's current state (inserting it if new) and says whose scope may have
    /// changed with it: nobody's, its provider's other endpoints', or everyone's (a control,
    /// or a provider appearing, going, or going down at the network layer as a whole).
    pub fn set(&mut self, seat: Seat<'_>, failing: bool, cause: Cause) -> Reach {
        let Seat {
            name,
            provider,
            control,
            egress,
            ..
        } = seat;
        let network = failing && cause == Cause::Network;
        let old = self.members.get(name);
        if let Some(m) = old {
            // The common case, every round: nothing changed, nothing to recount.
            if m.provider == provider
                && m.egress == egress
                && m.control == control
                && m.failing == failing
                && m.network == network
            {
                return Reach::Nobody;
            }
        }
        let moved_provider =
            old.is_some_and(|m| m.provider != provider || m.egress != egress || m.control);
        let global = self.global(egress);
        let flags = self.provider_flags(provider);
        self.remove(name);
        let m = Member {
            provider: provider.to_string(),
            egress: egress.to_string(),
            control,
            path: seat.path,
            failing,
            network,
        };
        self.apply(&m, true);
        self.members.insert(name.to_string(), m);
        if control || moved_provider || global != self.global(egress) {
            Reach::Everyone
        } else if flags != self.provider_flags(provider) {
            Reach::Provider
        } else {
            // What an unhealthy peer's scope reads of its provider did not change: with
            // thousands of endpoints per provider, re-judging them at each failure was
            // O(targets² / providers) in a mass outage (minutes of one core at 100,000).
            Reach::Nobody
        }
    }

    /// What an unhealthy endpoint's scope reads of its provider: whether every endpoint
    /// fails, whether every one fails at the network layer, and whether it has peers at all.
    fn provider_flags(&self, provider: &str) -> (bool, bool, bool) {
        let c = self.providers.get(provider).copied().unwrap_or_default();
        (
            c.endpoints > 0 && c.failing == c.endpoints,
            c.network_down(),
            c.endpoints >= 2,
        )
    }

    /// What every target's scope on this way out may depend on: the providers, those down as
    /// a whole, and whether the other paths agree while there is a control on it (flips at
    /// most a few times in a mass outage, so re-judging everyone then stays O(unhealthy) per
    /// flip).
    fn global(&self, egress: &str) -> (usize, usize, bool) {
        let (total, failing) = self.endpoints.get(egress).copied().unwrap_or_default();
        let agree = self.controls.contains_key(egress) && failing >= total.saturating_sub(failing);
        (self.providers.len(), self.network_down_providers, agree)
    }

    /// The controls and targets of one way out, for the one log line of a vantage point that
    /// loses or regains it.
    pub fn way_out(&self, egress: &str) -> WayOut {
        let (controls, controls_failing) = self.controls.get(egress).copied().unwrap_or_default();
        let (targets, targets_failing) = self.endpoints.get(egress).copied().unwrap_or_default();
        WayOut {
            controls,
            controls_failing,
            targets,
            targets_failing,
        }
    }

    pub fn remove(&mut self, name: &str) {
        if let Some(m) = self.members.remove(name) {
            self.apply(&m, false);
        }
    }

    fn apply(&mut self, m: &Member, add: bool) {
        let step = |n: &mut usize, on: bool| {
            if on {
                *n = if add { *n + 1 } else { n.saturating_sub(1) };
            }
        };
        if m.control {
            let c = self.controls.entry(m.egress.clone()).or_default();
            step(&mut c.0, true);
            step(&mut c.1, m.failing);
            if c.0 == 0 {
                self.controls.remove(&m.egress);
            }
            return;
        }
        if m.path {
            let e = self.endpoints.entry(m.egress.clone()).or_default();
            step(&mut e.0, true);
            step(&mut e.1, m.failing);
            if e.0 == 0 {
                self.endpoints.remove(&m.egress);
            }
        }
        let c = self.providers.entry(m.provider.clone()).or_default();
        let was_down = c.network_down();
        step(&mut c.endpoints, true);
        step(&mut c.failing, m.failing);
        step(&mut c.network, m.network);
        let is_down = c.network_down();
        if c.endpoints == 0 {
            self.providers.remove(&m.provider);
        }
        match (was_down, is_down) {
            (false, true) => self.network_down_providers += 1,
            (true, false) => {
                self.network_down_providers = self.network_down_providers.saturating_sub(1)
            }
            _ => {}
        }
    }

    /// The context of one target: everything but itself. Its own last record, if any, is
    /// left out, so a target is judged before its new state is recorded.
    pub fn context_for(&self, seat: Seat<'_>) -> PeerView {
        let Seat {
            name,
            provider,
            control,
            egress,
            ..
        } = seat;
        let n = |b: bool| usize::from(b);
        let me = self.members.get(name);
        let my_failing_control =
            n(me.is_some_and(|m| m.control && m.failing && m.egress == egress));
        let controls_failing = self
            .controls
            .get(egress)
            .map_or(0, |c| c.1)
            .saturating_sub(my_failing_control);
        let (total, failing) = self.endpoints.get(egress).copied().unwrap_or_default();
        let mine_here = me.filter(|m| !m.control && m.path && m.egress == egress);
        let others_failing = failing.saturating_sub(n(mine_here.is_some_and(|m| m.failing)));
        let others_healthy = total
            .saturating_sub(failing)
            .saturating_sub(n(mine_here.is_some_and(|m| !m.failing)));
        if control {
            return PeerView {
                control: true,
                controls_failing,
                others_failing,
                others_healthy,
                ..PeerView::default()
            };
        }
        let c = self.providers.get(provider).copied().unwrap_or_default();
        let mine = me.filter(|m| !m.control && m.provider == provider);
        PeerView {
            control: false,
            controls_failing,
            peers: c.endpoints - n(mine.is_some()),
            peers_failing: c.failing - n(mine.is_some_and(|m| m.failing)),
            peers_network: c.network - n(mine.is_some_and(|m| m.network)),
            other_providers: self.providers.len() - n(self.providers.contains_key(provider)),
            other_providers_network_down: self.network_down_providers - n(c.network_down()),
            others_failing,
            others_healthy,
        }
    }
}
