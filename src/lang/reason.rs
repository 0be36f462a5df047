//! The reason line of a diagnosis, from its parts, in each language.
//!
//! English is the `reason` field the logs and the JSON API have always carried; the detail is
//! the evidence as it was observed and stays verbatim in every language.

use std::time::Duration;

use super::{Lang, Text};
use crate::vocab::{Check, Phase};

/// What a reason line is made of.
#[derive(Debug, Clone, PartialEq)]
pub enum ReasonParts {
    /// A failure: where it happened, the rule that placed it (and what the rule means) and
    /// the evidence detail.
    Failure {
        check: Check,
        phase: Phase,
        rule: &'static str,
        means: Text,
        detail: String,
    },
    /// A passing but slow round: how long, against which SLO, and the slowest phase.
    Slow {
        check: Check,
        took: Duration,
        slo: Duration,
        worst: Option<(Phase, Duration)>,
    },
}

/// The meaning of a failure that matched no rule.
pub const UNMATCHED: Text = Text::new("the evidence matched no rule", "证据未匹配任何规则");

/// The reason in `lang`: the one function every output renders a reason with.
pub fn say(p: &ReasonParts, lang: Lang) -> String {
    match lang {
        Lang::En => en(p),
        Lang::ZhCn => zh(p),
    }
}

fn ms(d: &Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Whose side a slow phase is on.
fn whose(p: Phase) -> Text {
    match p {
        Phase::Dns | Phase::Connect | Phase::Proxy | Phase::Tls => {
            Text::new("the network path", "网络路径")
        }
        Phase::Processing | Phase::Transfer | Phase::Content => Text::new("the server", "服务器"),
    }
}

fn en(p: &ReasonParts) -> String {
    match p {
        ReasonParts::Failure {
            check,
            phase,
            means,
            detail,
            ..
        } => format!(
            "{} check, {} phase: {} ({detail})",
            check.as_str(),
            phase.as_str(),
            means.en
        ),
        ReasonParts::Slow {
            check,
            took,
            slo,
            worst,
        } => {
            let mut s = format!(
                "{} check took {:.0} ms, over the {:.0} ms latency SLO",
                check.as_str(),
                ms(took),
                ms(slo)
            );
            if let Some((p, d)) = worst {
                s.push_str(&format!(
                    "; most of it in {} ({:.0} ms): {} is slow",
                    p.as_str(),
                    ms(d),
                    whose(*p).en
                ));
            }
            s
        }
    }
}

fn zh(p: &ReasonParts) -> String {
    match p {
        ReasonParts::Failure {
            check,
            phase,
            means,
            detail,
            ..
        } => format!(
            "{}检查，{}阶段：{}（{detail}）",
            check_zh(*check),
            phase_zh(*phase),
            means.zh
        ),
        ReasonParts::Slow {
            check,
            took,
            slo,
            worst,
        } => {
            let mut s = format!(
                "{}检查耗时 {:.0} 毫秒，超过 {:.0} 毫秒的延迟 SLO",
                check_zh(*check),
                ms(took),
                ms(slo)
            );
            if let Some((p, d)) = worst {
                s.push_str(&format!(
                    "；大部分耗时在{}阶段（{:.0} 毫秒）：{}较慢",
                    phase_zh(*p),
                    ms(d),
                    whose(*p).zh
                ));
            }
            s
        }
    }
}

/// The failing evidence in one line (an incident's and an alert's `evidence`): the check,
/// where it failed and the detail, the status and a body excerpt; details stay verbatim.
pub fn evidence_line(
    check: Check,
    failed: Option<(Phase, &str)>,
    status: Option<u16>,
    body: &str,
    lang: Lang,
) -> String {
    let mut s = match lang {
        Lang::En => format!("{} check", check.as_str()),
        Lang::ZhCn => format!("{}检查", check_zh(check)),
    };
    if let Some((phase, detail)) = failed {
        s.push_str(&match lang {
            Lang::En => format!(" failed at {}: {detail}", phase.as_str()),
            Lang::ZhCn => format!("在{}阶段失败：{detail}", phase_zh(phase)),
        });
    }
    if let Some(code) = status {
        s.push_str(&format!("; HTTP {code}"));
    }
    if !body.is_empty() {
        s.push_str(&match lang {
            Lang::En => format!("; body: {body}"),
            Lang::ZhCn => format!("；响应体：{body}"),
        });
    }
    s
}

pub(super) fn check_zh(c: Check) -> &'static str {
    match c {
        Check::Dns => "DNS ",
        Check::Tcp => "TCP ",
        Check::Ping => "ping ",
        Check::Tls => "TLS ",
        Check::Http => "HTTP ",
        Check::ApiVersion => "API 版本",
        Check::Rpc => "RPC ",
        Check::Notification => "支付通知",
    }
}

pub(super) fn phase_zh(p: Phase) -> &'static str {
    match p {
        Phase::Dns => "DNS 解析",
        Phase::Connect => "TCP 连接",
        Phase::Proxy => "代理 CONNECT",
        Phase::Tls => "TLS 握手",
        Phase::Processing => "服务器处理",
        Phase::Transfer => "响应传输",
        Phase::Content => "内容校验",
    }
}
