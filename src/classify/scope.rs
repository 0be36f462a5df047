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
}

/// The scope of an unhealthy target with this cause.
pub fn scope(cause: Cause, ctx: &PeerView) -> Scope {
    if ctx.control || ctx.controls_failing > 0 {
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
}

/// A target's identity as scope sees it: its name, provider, whether it is a control and
/// which way out it takes.
#[derive(Debug, Clone, Copy)]
pub struct Seat<'a> {
    pub name: &'a str,
    pub provider: &'a str,
    pub control: bool,
    pub egress: &'a str,
}

impl<'a> Seat<'a> {
    pub fn of(t: &'a crate::config::Target) -> Seat<'a> {
        Seat {
            name: &t.name,
            provider: &t.provider,
            control: t.control,
            egress: &t.egress_label,
        }
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
        let global = (self.providers.len(), self.network_down_providers);
        self.remove(name);
        let m = Member {
            provider: provider.to_string(),
            egress: egress.to_string(),
            control,
            failing,
            network,
        };
        self.apply(&m, true);
        self.members.insert(name.to_string(), m);
        if control
            || moved_provider
            || global != (self.providers.len(), self.network_down_providers)
        {
            Reach::Everyone
        } else {
            Reach::Provider
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
        if control {
            return PeerView {
                control: true,
                controls_failing,
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
        }
    }
}
