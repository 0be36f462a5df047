//! Scope from peers and controls, and whose scope a change can move.

use super::*;

/// A target leaving directly, as scope sees it.
fn seat<'a>(name: &'a str, provider: &'a str, control: bool) -> scope::Seat<'a> {
    scope::Seat {
        name,
        provider,
        control,
        egress: "direct",
        path: true,
    }
}

/// The context of a target in the scope test: "ctl" is the control, "alipay-a" belongs to
/// provider "alipay", and so on.
fn ctx(p: &Peers, name: &str) -> PeerView {
    match name {
        "ctl" => p.context_for(seat(name, "", true)),
        n => p.context_for(seat(name, n.split('-').next().unwrap_or(n), false)),
    }
}

/// A control speaks for the targets that leave the same way, and only for them: uplink 2's
/// control failing makes uplink 2's targets `local`, and leaves uplink 1's to their peers.
#[test]
fn controls_speak_for_their_own_way_out() {
    let on = |name, provider, control, egress| scope::Seat {
        name,
        provider,
        control,
        egress,
        path: true,
    };
    let mut p = Peers::default();
    p.set(on("ctl-1", "", true, "source=10.0.1.2"), false, Cause::None);
    p.set(
        on("ctl-2", "", true, "source=10.0.2.2"),
        true,
        Cause::Network,
    );
    p.set(
        on("alipay-1", "alipay", false, "source=10.0.1.2"),
        true,
        Cause::Network,
    );
    p.set(
        on("alipay-2", "alipay", false, "source=10.0.2.2"),
        true,
        Cause::Network,
    );
    p.set(
        on("alipay-3", "alipay", false, "source=10.0.1.2"),
        false,
        Cause::None,
    );
    let two = p.context_for(on("alipay-2", "alipay", false, "source=10.0.2.2"));
    assert_eq!(two.controls_failing, 1);
    assert_eq!(scope::scope(Cause::Network, &two), Scope::Local);
    let one = p.context_for(on("alipay-1", "alipay", false, "source=10.0.1.2"));
    assert_eq!(one.controls_failing, 0);
    assert_eq!(scope::scope(Cause::Network, &one), Scope::Endpoint);
    // Uplink 2's control recovers: its target is judged by its peers again.
    p.set(on("ctl-2", "", true, "source=10.0.2.2"), false, Cause::None);
    let two = p.context_for(on("alipay-2", "alipay", false, "source=10.0.2.2"));
    assert_eq!(two.controls_failing, 0);
}

#[test]
fn scope_from_peers_and_controls() {
    let mut p = Peers::default();
    p.set(seat("alipay-a", "alipay", false), true, Cause::Server);
    p.set(seat("alipay-b", "alipay", false), false, Cause::None);
    p.set(seat("stripe", "stripe", false), false, Cause::None);
    p.set(seat("ctl", "", true), false, Cause::None);
    assert_eq!(
        scope::scope(Cause::Server, &ctx(&p, "alipay-a")),
        Scope::Endpoint
    );
    // Both alipay endpoints down, controls fine: the provider.
    p.set(seat("alipay-b", "alipay", false), true, Cause::Server);
    assert_eq!(
        scope::scope(Cause::Server, &ctx(&p, "alipay-a")),
        Scope::Provider
    );
    assert_eq!(
        scope::scope(Cause::Server, &ctx(&p, "alipay-b")),
        Scope::Provider
    );
    // A control fails too: it is us.
    p.set(seat("ctl", "", true), true, Cause::Network);
    assert_eq!(
        scope::scope(Cause::Server, &ctx(&p, "alipay-a")),
        Scope::Local
    );
    assert_eq!(scope::scope(Cause::Network, &ctx(&p, "ctl")), Scope::Local);
    p.set(seat("ctl", "", true), false, Cause::None);
    // Every provider down at the network layer, no control failing: still us.
    p.set(seat("alipay-a", "alipay", false), true, Cause::Network);
    p.set(seat("alipay-b", "alipay", false), true, Cause::Network);
    assert_eq!(
        scope::scope(Cause::Network, &ctx(&p, "alipay-a")),
        Scope::Provider
    );
    p.set(seat("stripe", "stripe", false), true, Cause::Network);
    assert_eq!(
        scope::scope(Cause::Network, &ctx(&p, "alipay-a")),
        Scope::Local
    );
    assert_eq!(
        scope::scope(Cause::Network, &ctx(&p, "stripe")),
        Scope::Local
    );
    // One provider failing for another reason breaks the "everything is down" picture.
    p.set(seat("stripe", "stripe", false), true, Cause::Server);
    assert_eq!(
        scope::scope(Cause::Network, &ctx(&p, "alipay-a")),
        Scope::Provider
    );
    assert_eq!(
        scope::scope(Cause::Server, &ctx(&p, "stripe")),
        Scope::Endpoint
    );
    // A target not recorded yet is judged against everyone else too.
    let fresh = p.context_for(seat("alipay-new", "alipay", false));
    assert_eq!((fresh.peers, fresh.peers_failing), (2, 2));
    // Removing targets keeps the counts right.
    p.remove("alipay-b");
    p.remove("stripe");
    let c = ctx(&p, "alipay-a");
    assert_eq!(
        (c.peers, c.other_providers, c.other_providers_network_down),
        (0, 0, 0)
    );
    assert_eq!(scope::scope(Cause::Network, &c), Scope::Endpoint);
}

/// Whose scope a change can move: a new provider or a provider going down at the network layer
/// concerns everyone (`other_providers*`), a change inside a provider only its endpoints, a
/// control everyone, a repeat nobody.
#[test]
fn a_change_reaches_only_those_whose_scope_it_can_move() {
    use crate::classify::Reach;
    let mut p = Peers::default();
    assert_eq!(
        p.set(seat("a1", "a", false), false, Cause::None),
        Reach::Everyone,
        "a new provider"
    );
    assert_eq!(
        p.set(seat("a2", "a", false), false, Cause::None),
        Reach::Provider
    );
    assert_eq!(
        p.set(seat("a2", "a", false), false, Cause::None),
        Reach::Nobody
    );
    assert_eq!(
        p.set(seat("a2", "a", false), true, Cause::Server),
        Reach::Nobody,
        "a1 still passes: no unhealthy peer's scope can move"
    );
    assert_eq!(
        p.set(seat("a1", "a", false), true, Cause::Network),
        Reach::Provider,
        "a2 is not network"
    );
    assert_eq!(
        p.set(seat("a2", "a", false), true, Cause::Network),
        Reach::Everyone,
        "provider a is now down at the network layer"
    );
    assert_eq!(
        p.set(seat("ctl", "", true), true, Cause::Network),
        Reach::Everyone
    );
    assert_eq!(
        p.set(seat("a2", "b", false), false, Cause::None),
        Reach::Everyone,
        "moved provider"
    );
}

proptest::proptest! {
    /// A broken control beside healthy targets is never local: whatever the providers,
    /// causes and controls, while more of the other paths work than fail, no target's
    /// scope is `local`, and a failing control then carries the broken-control warning.
    #[test]
    fn a_broken_control_beside_healthy_targets_is_never_local(
        targets in proptest::collection::vec((0u8..4, proptest::bool::ANY, proptest::bool::ANY), 1..40),
        controls in proptest::collection::vec(proptest::bool::ANY, 1..4),
    ) {
        let mut p = Peers::default();
        for (i, (prov, failing, network)) in targets.iter().enumerate() {
            let cause = match (failing, network) {
                (false, _) => Cause::None,
                (true, true) => Cause::Network,
                (true, false) => Cause::Server,
            };
            let (name, provider) = (format!("t{i}"), format!("p{prov}"));
            p.set(seat(&name, &provider, false), *failing, cause);
        }
        for (i, failing) in controls.iter().enumerate() {
            let cause = if *failing { Cause::Network } else { Cause::None };
            p.set(seat(&format!("ctl{i}"), "", true), *failing, cause);
        }
        let failing = targets.iter().filter(|t| t.1).count();
        let healthy = targets.len() - failing;
        for (i, (prov, f, network)) in targets.iter().enumerate() {
            if !f {
                continue;
            }
            let (name, provider) = (format!("t{i}"), format!("p{prov}"));
            let c = p.context_for(seat(&name, &provider, false));
            let cause = if *network { Cause::Network } else { Cause::Server };
            if healthy > failing {
                proptest::prop_assert_ne!(scope::scope(cause, &c), Scope::Local, "{:?}", c);
            }
        }
        for (i, f) in controls.iter().enumerate() {
            let c = p.context_for(seat(&format!("ctl{i}"), "", true));
            if *f && healthy > failing {
                proptest::prop_assert_eq!(scope::scope(Cause::Network, &c), Scope::Endpoint);
                proptest::prop_assert!(scope::broken_control(&c));
            }
            if *f && healthy <= failing {
                proptest::prop_assert_eq!(scope::scope(Cause::Network, &c), Scope::Local);
            }
        }
    }
}

/// The agreement of a way out flipping re-judges everyone (the failing targets' scope turns
/// `local` at once); a notification channel, which probes nothing, does not count as a path.
#[test]
fn an_agreement_flip_reaches_everyone_and_channels_are_no_paths() {
    let mut p = Peers::default();
    let t = |name| seat(name, "acme", false);
    p.set(seat("ctl", "", true), true, Cause::Network);
    for (name, failing) in [("a", true), ("b", false), ("c", false), ("d", false)] {
        let cause = if failing { Cause::Network } else { Cause::None };
        p.set(t(name), failing, cause);
    }
    assert_ne!(
        scope::scope(Cause::Network, &p.context_for(t("a"))),
        Scope::Local
    );
    // b failing makes two of four: the other paths agree now, everyone is judged again.
    assert_eq!(p.set(t("b"), true, Cause::Network), Reach::Everyone);
    assert_eq!(
        scope::scope(Cause::Network, &p.context_for(t("a"))),
        Scope::Local
    );
    let mut q = Peers::default();
    q.set(seat("ctl", "", true), true, Cause::Network);
    q.set(t("a"), true, Cause::Network);
    for i in 0..5 {
        let name = format!("channel-{i}");
        let mut s = seat(&name, "acme", false);
        s.path = false;
        q.set(s, false, Cause::None);
    }
    let c = q.context_for(t("a"));
    assert_eq!(
        (c.others_failing, c.others_healthy),
        (0, 0),
        "channels are not counted"
    );
    assert_eq!(scope::scope(Cause::Network, &c), Scope::Local);
}
