//! The demo's story: acts that break the simulated providers one way after another, so a
//! new user sees every cause, scope and symptom, then a recovery, within two minutes.
//!
//! The story is data ([`ACTS`], [`CAST`]); what each act should make payprobe say is written
//! next to it ([`Expect`]) and checked against the real probers and classifier by
//! `tests/it/story.rs`. [`answer`] gives each simulated provider its real answer shape
//! (src/profile/), so the providers are judged by their own profiles.

use std::time::Duration;

use serde_json::json;

use super::gateway::{Behavior, Reach};
use crate::classify::{Cause, Scope, Symptom};

/// The kind of a simulated provider: decides its answer shape and its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Alipay,
    AlipayRefund,
    Wechatpay,
    Stripe,
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
    sim("alipay-trade-query", "alipay", Kind::Alipay, "/gateway.do?method=alipay.trade.query&charset=utf-8&version=1.0&biz_content=%7B%22out_trade_no%22%3A%22payprobe-nonexistent-order%22%7D"),
    sim("alipay-refund-query", "alipay", Kind::AlipayRefund, "/gateway.do?method=alipay.trade.fastpay.refund.query&charset=utf-8&version=1.0&biz_content=%7B%22out_request_no%22%3A%22payprobe-nonexistent-refund%22%7D"),
    sim("wechatpay-order-query", "wechatpay", Kind::Wechatpay, "/v3/pay/transactions/out-trade-no/payprobe-nonexistent-order?mchid=1230000109"),
    sim("wechatpay-refund-query", "wechatpay", Kind::Wechatpay, "/v3/refund/domestic/refunds/payprobe-nonexistent-refund"),
    sim("stripe-charges", "stripe", Kind::Stripe, "/v1/charges/ch_payprobe_nonexistent"),
    sim("stripe-payment-intents", "stripe", Kind::Stripe, "/v1/payment_intents/pi_payprobe_nonexistent"),
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
    /// WeChat Pay `401 SIGN_ERROR`.
    WechatSignError,
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

/// The story, played in a loop: 109 s a cycle.
pub const ACTS: &[Act] = &[
    Act {
        key: "healthy",
        secs: 12,
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
    one("endpoint-security", "one endpoint fails: wechatpay-order-query answers 401 SIGN_ERROR (security, endpoint)",
        &[("wechatpay-order-query", Fault::WechatSignError)], &[fails("wechatpay-order-query", Security, Endpoint, AF)]),
    one("endpoint-api-version", "one endpoint fails: alipay-refund-query's method was retired, isv.method-not-exist (api_version, endpoint)",
        &[("alipay-refund-query", Fault::AlipayMethodGone)], &[fails("alipay-refund-query", ApiVersion, Endpoint, TF)]),
    one("endpoint-user-input", "one endpoint fails: stripe-payment-intents rejects a parameter, 400 invalid_request_error (user_input, endpoint)",
        &[("stripe-payment-intents", Fault::StripeBadParam)], &[fails("stripe-payment-intents", UserInput, Endpoint, TF)]),
    one("endpoint-unknown", "one endpoint fails: alipay-refund-query answers code 88888, which no Alipay table lists (unknown, endpoint)",
        &[("alipay-refund-query", Fault::AlipayUndocumented)], &[fails("alipay-refund-query", Unknown, Endpoint, TF)]),
    one("chain-behind", "one endpoint fails: eth-node-c falls 20 blocks behind eth-node-a and -b (server, balance_anomaly)",
        &[("eth-node-c", Fault::Behind)], &[fails("eth-node-c", Server, Endpoint, BA)]),
    Act {
        key: "provider-down",
        secs: 14,
        line: "a whole provider goes down: both WeChat Pay endpoints answer 500 SYSTEM_ERROR (server, provider)",
        faults: &[("wechatpay-order-query", Fault::WechatSystemError), ("wechatpay-refund-query", Fault::WechatSystemError)],
        everywhere: None,
        expect: &[fails("wechatpay-order-query", Server, Provider, TF), fails("wechatpay-refund-query", Server, Provider, TF)],
        expect_everywhere: None,
    },
    Act {
        key: "local",
        secs: 20,
        line: "this vantage point loses its network: first the control, then every gateway stops answering connects (network, local)",
        faults: &[],
        everywhere: Some(Fault::Unreachable),
        expect: &[],
        expect_everywhere: Some((Network, Local, NI)),
    },
    Act {
        key: "recovery",
        secs: 14,
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

/// How the listener of `fault`'s endpoint treats connections.
pub fn reach(fault: Option<Fault>) -> Reach {
    match fault {
        Some(Fault::StallTls) => Reach::Stall,
        Some(Fault::Unreachable) => Reach::Unreachable,
        _ => Reach::Serve,
    }
}

/// The answer of a simulated endpoint, in its provider's documented shape. `height` is the
/// best block of the EVM chain right now (Solana slots advance from it too).
pub fn answer(kind: Kind, fault: Option<Fault>, height: u64) -> Behavior {
    let b = match (kind, fault) {
        (Kind::Control, _) => Behavior::ok("ok"),
        (Kind::Alipay, Some(Fault::AlipayUnavailable)) => Behavior::ok(
            r#"{"alipay_trade_query_response":{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"},"sign":"demo"}"#,
        ),
        (Kind::Alipay, _) => Behavior::ok(
            r#"{"alipay_trade_query_response":{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"},"sign":"demo"}"#,
        ),
        (Kind::AlipayRefund, Some(Fault::AlipayMethodGone)) => Behavior::ok(
            r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.method-not-exist","sub_msg":"不存在的方法名"},"sign":"demo"}"#,
        ),
        (Kind::AlipayRefund, Some(Fault::AlipayUndocumented)) => Behavior::ok(
            r#"{"alipay_trade_fastpay_refund_query_response":{"code":"88888","msg":"Unlisted"},"sign":"demo"}"#,
        ),
        (Kind::AlipayRefund, _) => Behavior::ok(
            r#"{"alipay_trade_fastpay_refund_query_response":{"code":"10000","msg":"Success"},"sign":"demo"}"#,
        ),
        (Kind::Wechatpay, Some(Fault::WechatSignError)) => {
            Behavior::ok(r#"{"code":"SIGN_ERROR","message":"签名错误"}"#).status(401)
        }
        (Kind::Wechatpay, Some(Fault::WechatSystemError)) => {
            Behavior::ok(r#"{"code":"SYSTEM_ERROR","message":"系统错误"}"#).status(500)
        }
        (Kind::Wechatpay, _) => {
            Behavior::ok(r#"{"code":"ORDER_NOT_EXIST","message":"订单不存在"}"#).status(404)
        }
        (Kind::Stripe, Some(Fault::StripeBadParam)) => Behavior::ok(
            r#"{"error":{"code":"parameter_invalid_integer","message":"Invalid integer: abc","param":"amount","type":"invalid_request_error"}}"#,
        )
        .status(400),
        (Kind::Stripe, _) => Behavior::ok(
            r#"{"error":{"code":"resource_missing","doc_url":"https://stripe.com/docs/error-codes/resource-missing","message":"No such object: 'payprobe_nonexistent'","param":"id","type":"invalid_request_error"}}"#,
        )
        .status(404),
        (Kind::Evm, f) => {
            let h = if f == Some(Fault::Behind) {
                height.saturating_sub(20)
            } else {
                height
            };
            Behavior::jsonrpc(&[
                ("eth_chainId", json!("0x1")),
                ("eth_blockNumber", json!(format!("{h:#x}"))),
            ])
        }
        (Kind::Solana, Some(Fault::HtmlPage)) => {
            let mut b = Behavior::ok(
                "<!doctype html><html><head><title>Access denied</title></head><body><h1>Please enable cookies</h1></body></html>",
            );
            b.headers = vec![("content-type".into(), "text/html".into())];
            b
        }
        (Kind::Solana, _) => Behavior::jsonrpc(&[("getSlot", json!(height * 2))]),
    };
    if fault == Some(Fault::Slow) {
        b.delay(Duration::from_millis(550))
    } else {
        b
    }
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
    fn a_node_behind_answers_an_older_block() {
        let b = answer(Kind::Evm, Some(Fault::Behind), 0x100);
        let rpc = b.rpc.unwrap_or_default();
        assert_eq!(rpc.get("eth_blockNumber"), Some(&json!("0xec")));
        assert_eq!(reach(Some(Fault::Unreachable)), Reach::Unreachable);
        assert_eq!(reach(Some(Fault::Behind)), Reach::Serve);
    }
}
