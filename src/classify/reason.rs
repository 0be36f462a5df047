//! The reason line of a diagnosis in English or Simplified Chinese.
//!
//! A reason is built from parts (check, phase, the deciding rule's meaning, the evidence
//! detail) so it can be said in either language; the English rendering is the `reason`
//! field the logs and the JSON API have always carried. The detail is the evidence as it
//! was observed (an OS error, a status line, a provider's message) and stays verbatim.

use std::time::Duration;

use super::{rules::RULES, Diagnosis, Lang};
use crate::config::Check;
use crate::probe::Phase;

/// What a reason line is made of.
#[derive(Debug, Clone, PartialEq)]
pub enum ReasonParts {
    /// A failure: where it happened, the rule that placed it and the evidence detail.
    Failure {
        check: Check,
        phase: Phase,
        rule: &'static str,
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

/// The reason of a diagnosis in `lang`. Stable entry point for the API, the status page and
/// alerts: English is exactly `d.reason`; other languages are rendered from `d.parts` (a
/// diagnosis without parts, e.g. one restored from disk, falls back to English).
pub fn reason(d: &Diagnosis, lang: Lang) -> String {
    match (lang, &d.parts) {
        (Lang::En, _) | (_, None) => d.reason.clone(),
        (Lang::ZhCn, Some(p)) => zh(p),
    }
}

fn zh(p: &ReasonParts) -> String {
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    match p {
        ReasonParts::Failure {
            check,
            phase,
            rule,
            detail,
        } => {
            let means = RULES
                .iter()
                .find(|r| r.id == *rule)
                .map_or("证据未匹配任何规则", |r| r.means_zh);
            format!(
                "{}检查，{}阶段：{means}（{detail}）",
                check_zh(*check),
                phase_zh(*phase)
            )
        }
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
                let whose = match p {
                    Phase::Dns | Phase::Connect | Phase::Proxy | Phase::Tls => "网络路径",
                    Phase::Processing | Phase::Transfer | Phase::Content => "服务器",
                };
                s.push_str(&format!(
                    "；大部分耗时在{}阶段（{:.0} 毫秒）：{whose}较慢",
                    phase_zh(*p),
                    ms(d)
                ));
            }
            s
        }
    }
}

fn check_zh(c: Check) -> &'static str {
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

fn phase_zh(p: Phase) -> &'static str {
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
