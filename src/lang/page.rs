//! Every word of the status page in English and Simplified Chinese: the fixed labels, the
//! cause, scope and symptom names, and the phrases with numbers in them. The remediation
//! hints are [`super::hint`].

use super::Text;
use crate::vocab::{Cause, Lang, Scope, Symptom};

/// Declares the page's fixed words once, each with its English and Chinese text: the
/// struct, one constant per language and the list the catalogue test walks.
macro_rules! words {
    ($($field:ident: $en:literal, $zh:literal;)+) => {
        /// The fixed labels of the page.
        pub struct Words {
            $(pub $field: &'static str,)+
        }

        const EN: Words = Words { $($field: $en,)+ };
        const ZH: Words = Words { $($field: $zh,)+ };

        /// Every word: (name, English, Chinese).
        pub const ALL_WORDS: &[(&str, &str, &str)] = &[$((stringify!($field), $en, $zh),)+];
    };
}

words! {
    html_lang: "en", "zh-CN";
    title: "payprobe status", "payprobe 状态";
    local_title: "The problem is on this side: check your network.", "问题在本端：请检查本机网络。";
    healthy: "healthy", "正常";
    failing: "failing", "失败";
    pending: "waiting for the first round", "等待首轮探测";
    flapping: "flapping", "抖动";
    all_healthy: "Every target is healthy.", "所有目标均正常。";
    failing_by_cause: "Failing by cause", "按原因统计的失败";
    provider_wide: "Provider-wide outage", "服务商整体故障";
    not_local: "Not on this side: the controls pass, so the failures are at the providers.", "不在本端：对照目标正常，故障在服务商一侧。";
    providers: "Providers", "服务商";
    controls: "This vantage point (controls)", "本端（对照目标）";
    th_provider: "provider", "服务商";
    th_targets: "targets", "目标数";
    th_causes: "causes", "原因";
    th_target: "target", "目标";
    th_health: "health", "状态";
    th_cause: "cause", "原因";
    th_scope: "scope", "范围";
    th_symptoms: "symptoms", "症状";
    th_history: "last rounds", "最近轮次";
    th_todo: "what to do", "处理建议";
    all_providers: "all providers", "全部服务商";
    see_banner: "A local problem: see the banner above.", "本端问题：见上方横幅。";
    same_hint: "↑ Same as above.", "↑ 同上。";
    no_rounds: "no rounds yet", "尚无数据";
    evidence: "evidence", "证据";
    warning: "warning", "警告";
    metrics: "metrics", "指标";
    api: "JSON API", "JSON 接口";
    language: "Language", "语言";
    open_incidents: "Open incidents", "进行中的事件";
    resolved: "Recently resolved", "最近已恢复";
    th_opened: "opened", "开始于";
    th_for: "open for", "已持续";
    th_lasted: "lasted", "持续时间";
    no_open: "No open incident.", "没有进行中的事件。";
    more: "more", "更多";
}

pub fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::ZhCn => &ZH,
    }
}

pub fn cause(c: Cause, lang: Lang) -> &'static str {
    match (c, lang) {
        (Cause::None, Lang::En) => "none",
        (Cause::None, Lang::ZhCn) => "无",
        (Cause::Network, Lang::En) => "network",
        (Cause::Network, Lang::ZhCn) => "网络",
        (Cause::Server, Lang::En) => "server",
        (Cause::Server, Lang::ZhCn) => "服务端",
        (Cause::ApiVersion, Lang::En) => "API version",
        (Cause::ApiVersion, Lang::ZhCn) => "API 版本",
        (Cause::Security, Lang::En) => "security",
        (Cause::Security, Lang::ZhCn) => "安全",
        (Cause::UserInput, Lang::En) => "user input",
        (Cause::UserInput, Lang::ZhCn) => "请求或账户",
        (Cause::Unknown, Lang::En) => "unknown",
        (Cause::Unknown, Lang::ZhCn) => "未知",
    }
}

pub fn scope(s: Scope, lang: Lang) -> &'static str {
    match (s, lang) {
        (Scope::None, Lang::En) => "none",
        (Scope::None, Lang::ZhCn) => "无",
        (Scope::Local, Lang::En) => "local (this side)",
        (Scope::Local, Lang::ZhCn) => "本端",
        (Scope::Provider, Lang::En) => "whole provider",
        (Scope::Provider, Lang::ZhCn) => "整个服务商",
        (Scope::Endpoint, Lang::En) => "this endpoint",
        (Scope::Endpoint, Lang::ZhCn) => "单个端点",
    }
}

pub fn symptom(s: Symptom, lang: Lang) -> &'static str {
    match (s, lang) {
        (Symptom::TransactionFailure, Lang::En) => "transaction failure",
        (Symptom::TransactionFailure, Lang::ZhCn) => "交易失败",
        (Symptom::PaymentDelay, Lang::En) => "payment delay",
        (Symptom::PaymentDelay, Lang::ZhCn) => "支付延迟",
        (Symptom::BalanceAnomaly, Lang::En) => "balance anomaly",
        (Symptom::BalanceAnomaly, Lang::ZhCn) => "余额异常",
        (Symptom::NetworkInterruption, Lang::En) => "network interruption",
        (Symptom::NetworkInterruption, Lang::ZhCn) => "网络中断",
        (Symptom::AuthFailure, Lang::En) => "auth failure",
        (Symptom::AuthFailure, Lang::ZhCn) => "认证失败",
    }
}

/// "10 of 10 targets and 1 control fail at the same time: …"
pub fn local_detail(failing: usize, total: usize, controls: usize, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "{failing} of {total} targets and {controls} control{} fail at the same time: the providers are probably fine.",
            if controls == 1 { "" } else { "s" }
        ),
        Lang::ZhCn => format!(
            "{total} 个目标中有 {failing} 个与 {controls} 个对照目标同时失败：服务商很可能正常。"
        ),
    }
}

/// Which ways out (proxies, uplinks) the local problem is on.
pub fn ways_out(ways: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("Broken way out: {ways}"),
        Lang::ZhCn => format!("故障出口：{ways}"),
    }
}

/// "9 healthy · 2 failing of 11"
pub fn counts(healthy: usize, failing: usize, total: usize, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{healthy} healthy · {failing} failing · {total} targets"),
        Lang::ZhCn => format!("{healthy} 个正常 · {failing} 个失败 · 共 {total} 个目标"),
    }
}

/// "since 02:31:05 UTC (45 s)"
pub fn since(clock: &str, ago: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("since {clock} ({ago})"),
        Lang::ZhCn => format!("自 {clock} 起（{ago}）"),
    }
}

/// A duration for people: "45 s", "3 min 5 s", "2 h 4 min".
pub fn duration(secs: u64, lang: Lang) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match lang {
        Lang::En if h > 0 => format!("{h} h {m} min"),
        Lang::En if m > 0 => format!("{m} min {s} s"),
        Lang::En => format!("{s} s"),
        Lang::ZhCn if h > 0 => format!("{h} 小时 {m} 分"),
        Lang::ZhCn if m > 0 => format!("{m} 分 {s} 秒"),
        Lang::ZhCn => format!("{s} 秒"),
    }
}

/// The history's text alternative: "last 60 rounds: 4 failed; latency 2–640 ms".
pub fn history_label(rounds: usize, failed: usize, min: f32, max: f32, lang: Lang) -> String {
    match lang {
        Lang::En => format!("last {rounds} rounds: {failed} failed; latency {min:.0}–{max:.0} ms"),
        Lang::ZhCn => format!("最近 {rounds} 轮：{failed} 轮失败；延迟 {min:.0}–{max:.0} 毫秒"),
    }
}

/// "auto-refresh every 2 s"
pub fn refresh(secs: u64, lang: Lang) -> String {
    match lang {
        Lang::En => format!("refreshes every {secs} s"),
        Lang::ZhCn => format!("每 {secs} 秒自动刷新"),
    }
}

/// Shown instead of every provider's table when the plan is large.
pub fn pick_provider(total: usize, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{total} targets: pick a provider above for its details. Failing targets are listed below."),
        Lang::ZhCn => format!("共 {total} 个目标：请在上方选择服务商查看详情。下方列出失败的目标。"),
    }
}

/// What a maintenance window covers when it names no provider or target (the page and the
/// alerts' `covers`).
pub const UPTIME_EVERY_TARGET: Text = Text::new("every target", "全部目标");

/// The maintenance and uptime sections' words, in the order `page/uptime.rs` reads them.
pub const UPTIME: [Text; 10] = [
    Text::new("Maintenance", "维护窗口"),
    Text::new("now", "进行中"),
    Text::new("upcoming", "即将开始"),
    Text::new("covers", "范围"),
    UPTIME_EVERY_TARGET,
    Text::new("Uptime", "可用率"),
    Text::new("provider / target", "服务商 / 目标"),
    Text::new("budget left", "剩余错误预算"),
    Text::new("last 30 days (UTC)", "最近 30 天（UTC）"),
    Text::new("when", "时间"),
];

/// The uptime words in `lang`.
pub fn uptime_words(lang: Lang) -> [&'static str; 10] {
    UPTIME.map(|t| t.get(lang))
}
