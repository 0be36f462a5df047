//! The demo's story: acts that break the simulated providers one way after another, so a
//! new user sees every cause, scope and symptom, then a recovery, within two minutes.
//!
//! The story is data ([`ACTS`], [`CAST`]); what each act should make payprobe say is written
//! next to it ([`Expect`]) and checked against the real probers and classifier by
//! `tests/it/story.rs`. [`answer`] gives each simulated provider its real answer shape
//! (src/profile/), so the providers are judged by their own profiles.

use std::time::Duration;

use crate::classify::{Cause, Scope, Symptom};

mod answers;
pub use answers::{answer, reach, side, twist, CLOCK_AHEAD_SECS};

/// The kind of a simulated provider: decides its answer shape and its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Alipay,
    AlipayRefund,
    Wechatpay,
    Stripe,
    /// An acquirer's status API: the demo's `ping` and `api_version` checks.
    Acquirer,
    Evm,
    Solana,
    /// A reference on this host's own way out (`[[controls]]`).
    Control,
}

/// One simulated endpoint.
#[derive(Debug)]
pub struct Sim {
    pub name: &'static str,
    pub provider: &'static str,
    pub kind: Kind,
    /// Path and query of the probe's URL (unused for the control).
    pub path: &'static str,
}

const fn sim(name: &'static str, provider: &'static str, kind: Kind, path: &'static str) -> Sim {
    Sim {
        name,
        provider,
        kind,
        path,
    }
}

/// Every simulated endpoint, in the config's order.
pub const CAST: &[Sim] = &[
    sim("control-egress", "controls", Kind::Control, ""),
    // Signed calls: the method and business content are `[targets.sign]`'s.
    sim("alipay-trade-query", "alipay", Kind::Alipay, "/gateway.do"),
    sim(
        "alipay-refund-query",
        "alipay",
        Kind::AlipayRefund,
        "/gateway.do",
    ),
    sim(
        "wechatpay-order-query",
        "wechatpay",
        Kind::Wechatpay,
        "/v3/pay/transactions/out-trade-no/payprobe-nonexistent-order?mchid=1900000001",
    ),
    sim(
        "wechatpay-refund-query",
        "wechatpay",
        Kind::Wechatpay,
        "/v3/refund/domestic/refunds/payprobe-nonexistent-refund",
    ),
    sim(
        "stripe-charges",
        "stripe",
        Kind::Stripe,
        "/v1/charges/ch_payprobe_nonexistent",
    ),
    sim(
        "stripe-payment-intents",
        "stripe",
        Kind::Stripe,
        "/v1/payment_intents/pi_payprobe_nonexistent",
    ),
    sim("acquirer-status", "acquirer", Kind::Acquirer, "/v3/status"),
    sim("eth-node-a", "ethereum", Kind::Evm, "/"),
    sim("eth-node-b", "ethereum", Kind::Evm, "/"),
    sim("eth-node-c", "ethereum", Kind::Evm, "/"),
    sim("solana-node", "solana", Kind::Solana, "/"),
];

/// What goes wrong with one endpoint during an act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answers correctly, 550 ms late (over the 400 ms latency SLO, well within the timeout).
    Slow,
    /// Accepts and never speaks: the TLS handshake stalls.
    StallTls,
    /// Drops SYNs: connects time out (the network layer).
    Unreachable,
    /// Alipay `20000 Service Currently Unavailable`.
    AlipayUnavailable,
    /// Alipay `40002 isv.method-not-exist`: the method was retired.
    AlipayMethodGone,
    /// The provider holds another merchant public key than the one the merchant signs
    /// with: Alipay `isv.invalid-signature`, WeChat Pay `401 SIGN_ERROR`, both unsigned.
    MerchantKeyChanged,
    /// WeChat Pay publishes a new platform certificate (a new serial) and signs with it.
    PlatformRotated,
    /// The provider's clock is 6 minutes ahead: WeChat Pay refuses the request's timestamp
    /// (more than 5 minutes off) with `401 SIGN_ERROR`.
    ClockAhead,
    /// The answer is signed by a key nobody configured.
    StrangerSigns,
    /// Alipay `40004 ACQ.SYSTEM_ERROR`, correctly signed: the backend failed behind a good
    /// signature.
    AlipaySystemError,
    /// WeChat Pay `500 SYSTEM_ERROR`.
    WechatSystemError,
    /// Stripe `400 invalid_request_error / parameter_invalid_integer`.
    StripeBadParam,
    /// An HTML page with status 200 instead of a JSON-RPC answer (a proxy in front): the
    /// peer answered, so the path works, and the answer is not the protocol: `server`.
    HtmlPage,
    /// Alipay answers in its format with a code no published table lists: payprobe cannot
    /// place it and says `unknown` rather than guess.
    AlipayUndocumented,
    /// A chain node 20 blocks behind its peers.
    Behind,
}

/// What payprobe should say about a target by the end of an act.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    pub target: &'static str,
    pub healthy: bool,
    pub cause: Cause,
    pub scope: Scope,
    /// A symptom the diagnosis must include.
    pub symptom: Option<Symptom>,
}

const fn fails(target: &'static str, cause: Cause, scope: Scope, symptom: Symptom) -> Expect {
    Expect {
        target,
        healthy: false,
        cause,
        scope,
        symptom: Some(symptom),
    }
}

/// One act of the story.
#[derive(Debug)]
pub struct Act {
    pub key: &'static str,
    pub secs: u64,
    /// What happens, in one line, for the log.
    pub line: &'static str,
    pub faults: &'static [(&'static str, Fault)],
    /// A fault of every endpoint, the control included.
    pub everywhere: Option<Fault>,
    /// Targets not listed must be healthy.
    pub expect: &'static [Expect],
    /// What every target shows when `everywhere` is set.
    pub expect_everywhere: Option<(Cause, Scope, Symptom)>,
}

use Cause::{ApiVersion, Network, Security, Server, Unknown, UserInput};
use Scope::{Endpoint, Local, Provider};
use Symptom::{
    AuthFailure as AF, BalanceAnomaly as BA, NetworkInterruption as NI, PaymentDelay as PD,
    TransactionFailure as TF,
};

const fn one(
    key: &'static str,
    line: &'static str,
    faults: &'static [(&'static str, Fault)],
    expect: &'static [Expect],
) -> Act {
    Act {
        key,
        secs: 7,
        line,
        faults,
        everywhere: None,
        expect,
        expect_everywhere: None,
    }
}

/// The story, played in a loop: 119 s a cycle (the healthy, provider, local and recovery
/// acts were shortened when the signed-probe acts came, to stay within two minutes).
pub const ACTS: &[Act] = &[
    Act {
        key: "healthy",
        secs: 8,
        line: "all healthy: every provider answers in its own format; Stripe payment_intents is slow but works (payment_delay)",
        faults: &[("stripe-payment-intents", Fault::Slow)],
        everywhere: None,
        expect: &[Expect { target: "stripe-payment-intents", healthy: true, cause: Cause::None, scope: Scope::None, symptom: Some(PD) }],
        expect_everywhere: None,
    },
    one("endpoint-network", "one endpoint fails: stripe-charges' TLS handshake stalls (cause network, scope endpoint)",
        &[("stripe-charges", Fault::StallTls)], &[fails("stripe-charges", Network, Endpoint, NI)]),
    one("endpoint-server", "one endpoint fails: alipay-trade-query answers 20000 Service Currently Unavailable (server, endpoint)",
        &[("alipay-trade-query", Fault::AlipayUnavailable)], &[fails("alipay-trade-query", Server, Endpoint, PD)]),
    one("merchant-key", "the merchant key no longer matches: the gateways of alipay-trade-query and wechatpay-order-query check signatures with another merchant public key, isv.invalid-signature and 401 SIGN_ERROR (security, endpoint)",
        &[("alipay-trade-query", Fault::MerchantKeyChanged), ("wechatpay-order-query", Fault::MerchantKeyChanged)],
        &[fails("alipay-trade-query", Security, Endpoint, AF), fails("wechatpay-order-query", Security, Endpoint, AF)]),
    one("endpoint-api-version", "one endpoint fails: alipay-refund-query's method was retired, isv.method-not-exist (api_version, endpoint)",
        &[("alipay-refund-query", Fault::AlipayMethodGone)], &[fails("alipay-refund-query", ApiVersion, Endpoint, TF)]),
    one("endpoint-user-input", "one endpoint fails: stripe-payment-intents rejects a parameter, 400 invalid_request_error (user_input, endpoint)",
        &[("stripe-payment-intents", Fault::StripeBadParam)], &[fails("stripe-payment-intents", UserInput, Endpoint, TF)]),
    one("endpoint-unknown", "one endpoint fails: alipay-refund-query answers code 88888, which no Alipay table lists (unknown, endpoint)",
        &[("alipay-refund-query", Fault::AlipayUndocumented)], &[fails("alipay-refund-query", Unknown, Endpoint, TF)]),
    one("platform-rotation", "WeChat Pay rotates its platform certificate: answers come signed under a new serial, payprobe fetches /v3/certificates and verifies them (healthy, a new serial reported)",
        &[("wechatpay-order-query", Fault::PlatformRotated), ("wechatpay-refund-query", Fault::PlatformRotated)], &[]),
    one("clock-skew", "wechatpay-order-query's provider clock is 6 minutes ahead: WeChat Pay refuses the request's timestamp, 401 SIGN_ERROR, skew +360 s (security, endpoint)",
        &[("wechatpay-order-query", Fault::ClockAhead)], &[fails("wechatpay-order-query", Security, Endpoint, AF)]),
    one("stranger-signature", "wechatpay-refund-query's answers are signed by a key nobody configured (security, endpoint)",
        &[("wechatpay-refund-query", Fault::StrangerSigns)], &[fails("wechatpay-refund-query", Security, Endpoint, AF)]),
    one("signed-server-error", "alipay-refund-query answers ACQ.SYSTEM_ERROR behind a good signature: the backend failed (server, endpoint)",
        &[("alipay-refund-query", Fault::AlipaySystemError)], &[fails("alipay-refund-query", Server, Endpoint, TF)]),
    one("chain-behind", "one endpoint fails: eth-node-c falls 20 blocks behind eth-node-a and -b (server, balance_anomaly)",
        &[("eth-node-c", Fault::Behind)], &[fails("eth-node-c", Server, Endpoint, BA)]),
    Act {
        key: "provider-down",
        secs: 9,
        line: "a whole provider goes down: both WeChat Pay endpoints answer 500 SYSTEM_ERROR (server, provider)",
        faults: &[("wechatpay-order-query", Fault::WechatSystemError), ("wechatpay-refund-query", Fault::WechatSystemError)],
        everywhere: None,
        expect: &[fails("wechatpay-order-query", Server, Provider, TF), fails("wechatpay-refund-query", Server, Provider, TF)],
        expect_everywhere: None,
    },
    Act {
        key: "local",
        secs: 15,
        line: "this vantage point loses its network: first the control, then every gateway stops answering connects (network, local)",
        faults: &[],
        everywhere: Some(Fault::Unreachable),
        expect: &[],
        expect_everywhere: Some((Network, Local, NI)),
    },
    Act {
        key: "recovery",
        secs: 10,
        line: "recovery: the network is back, every target turns healthy and every incident resolves",
        faults: &[],
        everywhere: None,
        expect: &[],
        expect_everywhere: None,
    },
];

/// Several faults at once, held by `payprobe demo --hold showcase` instead of the story:
/// alert rules and dashboards need the same failure for minutes (`for: 30s` and longer),
/// which the story's 7-second acts never give. Not part of the cycle.
pub static SHOWCASE: Act = Act {
    key: "showcase",
    secs: 0,
    line: "showcase, held: a slow endpoint, a stalled TLS handshake, Alipay 20000, WeChat Pay down as a whole, a Solana HTML page and an EVM node behind, all at once",
    faults: &[
        ("stripe-payment-intents", Fault::Slow),
        ("stripe-charges", Fault::StallTls),
        ("alipay-trade-query", Fault::AlipayUnavailable),
        ("wechatpay-order-query", Fault::WechatSystemError),
        ("wechatpay-refund-query", Fault::WechatSystemError),
        ("solana-node", Fault::HtmlPage),
        ("eth-node-c", Fault::Behind),
    ],
    everywhere: None,
    expect: &[
        Expect { target: "stripe-payment-intents", healthy: true, cause: Cause::None, scope: Scope::None, symptom: Some(PD) },
        fails("stripe-charges", Network, Endpoint, NI),
        fails("alipay-trade-query", Server, Endpoint, PD),
        fails("wechatpay-order-query", Server, Provider, TF),
        fails("wechatpay-refund-query", Server, Provider, TF),
        fails("solana-node", Server, Endpoint, TF),
        fails("eth-node-c", Server, Endpoint, BA),
    ],
    expect_everywhere: None,
};

/// An act of the story, or the showcase, by its key.
pub fn act(key: &str) -> Option<&'static Act> {
    ACTS.iter()
        .find(|a| a.key == key)
        .or((key == SHOWCASE.key).then_some(&SHOWCASE))
}

/// Every key [`act`] knows, for error messages.
pub fn keys() -> Vec<&'static str> {
    ACTS.iter().map(|a| a.key).chain([SHOWCASE.key]).collect()
}

impl Act {
    /// The fault of `target` in this act.
    pub fn fault(&self, target: &str) -> Option<Fault> {
        self.everywhere.or_else(|| {
            self.faults
                .iter()
                .find(|(t, _)| *t == target)
                .map(|(_, f)| *f)
        })
    }

    /// What `target` should show by the end of this act.
    pub fn expected(&self, target: &'static str) -> Expect {
        if let Some((cause, scope, symptom)) = self.expect_everywhere {
            return fails(target, cause, scope, symptom);
        }
        self.expect
            .iter()
            .find(|e| e.target == target)
            .copied()
            .unwrap_or(Expect {
                target,
                healthy: true,
                cause: Cause::None,
                scope: Scope::None,
                symptom: None,
            })
    }
}

/// How long one cycle of the story lasts.
pub fn cycle() -> Duration {
    Duration::from_secs(ACTS.iter().map(|a| a.secs).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cycle_fits_in_two_minutes() {
        assert!(cycle() <= Duration::from_secs(120), "{:?}", cycle());
        assert!(
            ACTS.iter().all(|a| a.secs >= 7),
            "each act lasts long enough to be seen"
        );
    }

    #[test]
    fn every_cause_scope_and_symptom_is_in_the_story() {
        let all: Vec<Expect> = ACTS
            .iter()
            .flat_map(|a| CAST.iter().map(move |s| a.expected(s.name)))
            .collect();
        for c in Cause::ALL {
            assert!(all.iter().any(|e| e.cause == c), "cause {c:?}");
        }
        for s in Scope::ALL {
            assert!(all.iter().any(|e| e.scope == s), "scope {s:?}");
        }
        for s in Symptom::ALL {
            assert!(all.iter().any(|e| e.symptom == Some(s)), "symptom {s:?}");
        }
    }

    #[test]
    fn acts_name_real_endpoints_and_start_and_end_healthy() {
        for a in ACTS {
            for (t, _) in a.faults {
                assert!(CAST.iter().any(|s| s.name == *t), "{}: {t}", a.key);
            }
            for e in a.expect {
                assert!(
                    a.fault(e.target).is_some(),
                    "{}: {} fails without a fault",
                    a.key,
                    e.target
                );
            }
        }
        let last = ACTS.last().map(|a| (a.faults.len(), a.everywhere));
        assert_eq!(last, Some((0, None)), "the story ends with a recovery");
        let local = ACTS
            .iter()
            .find(|a| a.key == "local")
            .map(|a| a.fault("control-egress"));
        assert_eq!(
            local,
            Some(Some(Fault::Unreachable)),
            "the control fails with the rest"
        );
    }

    #[test]
    fn the_signed_probe_acts_are_in_the_story() {
        let faults: Vec<Fault> = ACTS
            .iter()
            .flat_map(|a| a.faults.iter().map(|(_, f)| *f))
            .collect();
        for f in [
            Fault::MerchantKeyChanged,
            Fault::PlatformRotated,
            Fault::ClockAhead,
            Fault::StrangerSigns,
            Fault::AlipaySystemError,
        ] {
            assert!(faults.contains(&f), "{f:?}");
        }
        // Each act that breaks a signature is judged `security`; a backend error behind a
        // good signature `server`; a rotation leaves everyone healthy.
        let of = |key: &str| ACTS.iter().find(|a| a.key == key).map(|a| a.expect);
        for key in ["merchant-key", "clock-skew", "stranger-signature"] {
            let e = of(key).unwrap_or_default();
            assert!(
                !e.is_empty() && e.iter().all(|e| e.cause == Security),
                "{key}"
            );
        }
        let e = of("signed-server-error").unwrap_or_default();
        assert!(e.iter().all(|e| e.cause == Server) && !e.is_empty());
        assert_eq!(of("platform-rotation").map(<[Expect]>::len), Some(0));
    }
}
