//! The warnings of a diagnosis (what works now but will not for long), from their parts, in
//! each language.
//!
//! The judge keeps what a warning is made of ([`WarningParts`]), never the sentence, so the
//! API and the status page say it in their language through [`warning`]. English
//! is what those outputs have always said, word for word. The names, serials and dates
//! quoted from evidence (RFC 3339, already formatted: this module imports only `vocab`) stay
//! verbatim in every language.

use serde::{Serialize, Serializer};

use super::Lang;

/// What one warning is made of: a closed set, one variant per kind of warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarningParts {
    /// The TLS certificate of the target expires within `cert_expiry_warning`.
    CertExpiring { subject: String, not_after: String },
    /// A certificate a signed probe relies on expires within `expiry_warning`
    /// (`critical`: within `expiry_critical`).
    CredentialExpiring {
        credential: String,
        serial: String,
        not_after: String,
        critical: bool,
    },
    /// A `Deprecation` header with a date still ahead.
    ApiDeprecating { at: String },
    /// A `Deprecation` header with a date passed (`since`), or with no date.
    ApiDeprecated { since: Option<String> },
    /// A `Sunset` header with a date still ahead.
    ApiSunset { at: String },
    /// WeChat Pay answered with a platform certificate seen for the first time.
    PlatformRotated { serial: String },
    /// The provider's `Date` is this many seconds from this host's clock.
    ClockSkew { seconds: i64 },
    /// A control fails while most other targets' paths work.
    BrokenControl,
}

/// The warning in `lang`: the one function every output renders a warning with
/// (`classify::warnings(&d, lang)` for a whole diagnosis).
pub fn warning(w: &WarningParts, lang: Lang) -> String {
    match lang {
        Lang::En => en(w),
        Lang::ZhCn => zh(w),
    }
}

fn en(w: &WarningParts) -> String {
    use WarningParts::*;
    match w {
        CertExpiring { subject, not_after } => {
            format!("the certificate for {subject} expires at {not_after}: renew it before then")
        }
        CredentialExpiring {
            credential,
            serial,
            not_after,
            critical,
        } => format!(
            "{}the {credential} certificate {serial} expires at {not_after}: renew it before then",
            if *critical { "critical: " } else { "" },
        ),
        ApiDeprecating { at } => format!("the API will be deprecated at {at}"),
        ApiDeprecated { since: Some(t) } => {
            format!("the API is deprecated since {t}: plan the upgrade")
        }
        ApiDeprecated { since: None } => "the API is deprecated: plan the upgrade".to_string(),
        ApiSunset { at } => format!("the API will be switched off at {at} (Sunset)"),
        PlatformRotated { serial } => format!(
            "WeChat Pay published a new platform certificate, serial {serial} (a rotation; answers are verified with it)"
        ),
        ClockSkew { seconds } => format!(
            "the provider's clock is {seconds:+}s from this host's (WeChat Pay refuses more than 300s): check NTP"
        ),
        BrokenControl => "this control fails while most other targets' paths work: check the control itself (its host, its firewall rule); this vantage point's network is not blamed".to_string(),
    }
}

fn zh(w: &WarningParts) -> String {
    use WarningParts::*;
    match w {
        CertExpiring { subject, not_after } => {
            format!("{subject} 的证书将于 {not_after} 到期：请在此之前续期")
        }
        CredentialExpiring {
            credential,
            serial,
            not_after,
            critical,
        } => format!(
            "{}{credential} 证书 {serial} 将于 {not_after} 到期：请在此之前续期",
            if *critical { "紧急：" } else { "" },
        ),
        ApiDeprecating { at } => format!("该 API 将于 {at} 弃用"),
        ApiDeprecated { since: Some(t) } => format!("该 API 自 {t} 起已弃用：请规划升级"),
        ApiDeprecated { since: None } => "该 API 已弃用：请规划升级".to_string(),
        ApiSunset { at } => format!("该 API 将于 {at} 停止服务（Sunset）"),
        PlatformRotated { serial } => format!(
            "微信支付发布了新的平台证书，序列号 {serial}（证书轮换；应答已用新证书验签）"
        ),
        ClockSkew { seconds } => format!(
            "支付平台的时钟比本机{} {} 秒（微信支付拒绝超过 300 秒的偏差）：请检查 NTP 时间同步",
            if *seconds > 0 { "快" } else { "慢" },
            seconds.unsigned_abs()
        ),
        BrokenControl => "该对照目标失败，而其他大多数目标的路径正常：请检查对照本身（其主机、防火墙规则）；并非本观测点的网络问题".to_string(),
    }
}

/// In JSON (the evidence's `api_version.warnings`) a warning is its English sentence, as it
/// always was: evidence is not translated.
impl Serialize for WarningParts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&en(self))
    }
}

/// One warning of each kind (for the catalogue's and the outputs' tests); the match fails to
/// compile when a kind is added without one.
#[cfg(test)]
pub(crate) fn examples() -> Vec<WarningParts> {
    let all = vec![
        WarningParts::CertExpiring {
            subject: "CN=api.mch.weixin.qq.com".into(),
            not_after: "2026-01-02T03:04:05Z".into(),
        },
        WarningParts::CredentialExpiring {
            credential: "apiclient_cert".into(),
            serial: "5157F09EFDC096DE15EBE81A47057A72".into(),
            not_after: "2026-01-02T03:04:05Z".into(),
            critical: false,
        },
        WarningParts::CredentialExpiring {
            credential: "app_cert".into(),
            serial: "0a1b".into(),
            not_after: "2026-01-02T03:04:05Z".into(),
            critical: true,
        },
        WarningParts::ApiDeprecating {
            at: "2026-06-01T00:00:00Z".into(),
        },
        WarningParts::ApiDeprecated {
            since: Some("2025-01-01T00:00:00Z".into()),
        },
        WarningParts::ApiDeprecated { since: None },
        WarningParts::ApiSunset {
            at: "2026-07-01T00:00:00Z".into(),
        },
        WarningParts::PlatformRotated {
            serial: "7A2B".into(),
        },
        WarningParts::ClockSkew { seconds: -361 },
        WarningParts::BrokenControl,
    ];
    for w in &all {
        match w {
            WarningParts::CertExpiring { .. }
            | WarningParts::CredentialExpiring { .. }
            | WarningParts::ApiDeprecating { .. }
            | WarningParts::ApiDeprecated { .. }
            | WarningParts::ApiSunset { .. }
            | WarningParts::PlatformRotated { .. }
            | WarningParts::ClockSkew { .. }
            | WarningParts::BrokenControl => {}
        }
    }
    all
}
