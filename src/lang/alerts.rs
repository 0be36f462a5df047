//! What alerts say: summaries of an endpoint's, a provider's and a vantage point's alert, the
//! payment rule, the test notification, maintenance notes, the endpoints left unnamed and the
//! words a chat message is framed with.

use super::Text;
use crate::vocab::{Cause, Lang};

/// The payment rule said with every server or network alert (empty for other causes).
pub const PAYMENT_RULE: Text = Text::new(
    "Never resubmit a payment before the first one's status is confirmed: query the order first.",
    "在确认第一笔支付的状态之前，切勿重新提交：先查询订单。",
);

/// The summary of `payprobe alerts test`.
pub const TEST_NOTIFICATION: Text = Text::new(
    "payprobe test notification: this sink works",
    "payprobe 测试通知：此通道可用",
);

/// The payment rule for an alert of this cause, in `lang`.
pub fn payment_rule(c: Cause, lang: Lang) -> &'static str {
    match c {
        Cause::Server | Cause::Network => PAYMENT_RULE.get(lang),
        _ => "",
    }
}

/// One endpoint failing; a control's own alert says to check the control.
pub fn endpoint_summary(
    target: &str,
    provider: &str,
    cause: Cause,
    control: bool,
    lang: Lang,
) -> String {
    let c = cause.as_str();
    match (lang, control) {
        (Lang::En, false) => format!("{target} ({provider}) is failing: {c}"),
        (Lang::ZhCn, false) => format!("{target}（{provider}）故障：{c}"),
        // A control's own alert is only ever endpoint-scoped when the other paths work.
        (Lang::En, true) => {
            format!("Control {target} fails while other targets work: check the control ({c})")
        }
        (Lang::ZhCn, true) => format!("对照 {target} 失败而其他目标正常：请检查该对照本身（{c}）"),
    }
}

/// Every endpoint of a provider failing.
pub fn provider_summary(provider: &str, endpoints: usize, cause: Cause, lang: Lang) -> String {
    let c = cause.as_str();
    match lang {
        Lang::En => {
            format!("Every endpoint of {provider} is failing ({endpoints} endpoints): {c}")
        }
        Lang::ZhCn => format!("{provider} 的所有端点均故障（{endpoints} 个）：{c}"),
    }
}

/// The vantage point's network lost (on the way out `egress`, empty: directly).
pub fn vantage_summary(
    vantage: &str,
    egress: &str,
    targets: usize,
    controls: bool,
    lang: Lang,
) -> String {
    match lang {
        Lang::En => format!(
            "This vantage point ({vantage}) has lost its network{}: {targets} targets fail{}",
            if egress.is_empty() {
                String::new()
            } else {
                format!(" by way of {egress}")
            },
            if controls { ", controls included" } else { "" }
        ),
        Lang::ZhCn => format!(
            "本观测点（{vantage}）{}网络中断：{targets} 个目标{}同时失败",
            if egress.is_empty() {
                String::new()
            } else {
                format!("经 {egress} 的出口")
            },
            if controls { "（含对照）" } else { "" }
        ),
    }
}

/// A maintenance window starting or ending.
pub fn maintenance_summary(
    name: &str,
    started: bool,
    covers: &str,
    start: &str,
    end: &str,
    lang: Lang,
) -> String {
    match lang {
        Lang::En => format!(
            "Maintenance `{name}` {} ({covers}): {start} to {end}",
            if started { "started" } else { "ended" }
        ),
        Lang::ZhCn => format!(
            "维护窗口 `{name}` {}（{covers}）：{start} 至 {end}",
            if started { "开始" } else { "结束" }
        ),
    }
}

/// The endpoints an alert names beyond the first few: ` (+3 more)`.
pub fn more_endpoints(more: usize, lang: Lang) -> String {
    match lang {
        Lang::En => format!(" (+{more} more)"),
        Lang::ZhCn => format!("（另有 {more} 个）"),
    }
}

/// The words a chat message (Slack, DingTalk, WeCom, Feishu) is framed with: the event's tag
/// in its title and the label before each line, by the event's or the annotation's name.
/// The names themselves (annotation and label keys of the webhook and Alertmanager payloads)
/// are a contract and are never translated.
pub const CHAT: &[(&str, Text)] = &[
    ("firing", Text::new("FIRING", "告警")),
    ("changed", Text::new("CHANGED", "变更")),
    ("resolved", Text::new("RESOLVED", "已恢复")),
    ("test", Text::new("TEST", "测试")),
    ("reason", Text::new("reason", "原因")),
    ("endpoints", Text::new("endpoints", "故障端点")),
    ("evidence", Text::new("evidence", "证据")),
    ("hint", Text::new("hint", "处理建议")),
    ("payment_rule", Text::new("payment_rule", "支付规则")),
    ("duration", Text::new("duration", "持续时间")),
    ("key", Text::new("key", "幂等键")),
];

/// A chat message's word for `name` (a row of [`CHAT`]); a name without a row is itself.
pub fn chat_word(name: &str, lang: Lang) -> &str {
    CHAT.iter()
        .find(|(n, _)| *n == name)
        .map_or(name, |(_, t)| t.get(lang))
}

/// One line of a chat message: `reason: …`, `原因：…`.
pub fn chat_line(name: &str, value: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{}: {value}", chat_word(name, lang)),
        Lang::ZhCn => format!("{}：{value}", chat_word(name, lang)),
    }
}

/// How long a resolved alert lasted, in a chat message: `1m 30s`, `1 分 30 秒`.
pub fn lasted(secs: u64, lang: Lang) -> String {
    match lang {
        Lang::En => humantime::format_duration(std::time::Duration::from_secs(secs)).to_string(),
        Lang::ZhCn => super::page::duration(secs, lang),
    }
}
