//! Remediation hints, per cause and scope, in English and Simplified Chinese.

use crate::vocab::{Cause, Lang, Scope};

fn cause_hint(cause: Cause, scope: Scope, lang: Lang) -> &'static str {
    use Cause::*;
    match (cause, scope == Scope::Local, lang) {
        (None, _, _) => "",
        (Network, true, Lang::En) => "The problem is on this side: the control targets or the other providers fail too. Check this host's network, DNS resolver, proxy and firewall, or switch networks. Payments in flight are not lost: confirm their status before retrying.",
        (Network, true, Lang::ZhCn) => "问题在本端：对照目标或其他服务商也同时失败。请检查本机网络、DNS 解析器、代理和防火墙，或切换网络。进行中的支付不会丢失：重试前请先确认其状态。",
        (Network, false, Lang::En) => "The network path to this gateway is failing (DNS, routing or packet loss). Check DNS and routes for this endpoint and try another network or region; if it persists, send the provider the time, your egress IP and the failing phase.",
        (Network, false, Lang::ZhCn) => "到该网关的网络路径异常（DNS、路由或丢包）。请检查该端点的 DNS 与路由，尝试其他网络或地域；如持续存在，请将时间、出口 IP 和失败阶段提供给服务商。",
        (Server, _, Lang::En) => "The provider's side is failing. Wait and retry with backoff, and never resubmit a payment before its status is confirmed (query the order first). If it lasts, contact the provider's support with the time, the request ID, the status code and any Retry-After.",
        (Server, _, Lang::ZhCn) => "服务商侧故障。请等待并退避重试；在确认支付状态之前切勿重复提交（先查询订单）。若持续，请联系服务商客服，并提供时间、请求 ID、状态码及 Retry-After。",
        (ApiVersion, _, Lang::En) => "The gateway no longer accepts this API or protocol version. Upgrade the client, SDK or API version (see the provider's changelog and any Deprecation/Sunset dates) and check the TLS settings.",
        (ApiVersion, _, Lang::ZhCn) => "网关不再接受当前的 API 或协议版本。请升级客户端、SDK 或 API 版本（参阅服务商更新日志及 Deprecation/Sunset 日期），并检查 TLS 设置。",
        (Security, _, Lang::En) => "Authentication or trust failed. Refresh the credentials or re-login, and check the system clock and the signing key; for certificate errors check the chain and expiry and suspect interception on this network. A 429 means rate limiting or risk control: slow down.",
        (Security, _, Lang::ZhCn) => "认证或信任校验失败。请刷新凭据或重新登录，并检查系统时间和签名密钥；证书错误请检查证书链与有效期，并警惕本网络中的劫持。429 表示限流或触发风控：请降低请求频率。",
        (UserInput, _, Lang::En) => "The request or the account is not acceptable. Check the request parameters and format and the account state (locked, restricted, balance); then contact the provider's support with the request ID and the error code.",
        (UserInput, _, Lang::ZhCn) => "请求或账户状态不被接受。请检查请求参数与格式以及账户状态（冻结、受限、余额）；然后携带请求 ID 和错误码联系服务商客服。",
        (Unknown, _, Lang::En) => "The evidence matched no known pattern. Read the evidence; if it persists, contact the provider's support with the time, the failing phase and the response excerpt.",
        (Unknown, _, Lang::ZhCn) => "证据未匹配任何已知模式。请查看证据；若持续，请携带时间、失败阶段和响应摘要联系服务商客服。",
    }
}

fn scope_hint(scope: Scope, lang: Lang) -> &'static str {
    match (scope, lang) {
        (Scope::None | Scope::Local, _) => "",
        (Scope::Provider, Lang::En) => " Every endpoint of this provider fails while your controls are fine: likely a provider-wide outage; check the provider's status page.",
        (Scope::Provider, Lang::ZhCn) => "该服务商的所有端点均失败而本端对照正常：很可能是服务商整体故障，请查看其状态页。",
        (Scope::Endpoint, Lang::En) => " Only this endpoint fails.",
        (Scope::Endpoint, Lang::ZhCn) => "仅此端点失败。",
    }
}

/// The remediation hint for a diagnosis.
pub fn hint(cause: Cause, scope: Scope, lang: Lang) -> String {
    let base = cause_hint(cause, scope, lang);
    if base.is_empty() {
        return String::new();
    }
    format!("{base}{}", scope_hint(scope, lang))
}
