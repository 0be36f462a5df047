//! The rules table: from one round's evidence to a cause and symptoms.
//!
//! One table, read top to bottom, first match wins (docs/architecture.md, "Design
//! decisions"); docs/status-codes.md explains the HTTP status rows. The
//! failure that decides is the one at the lowest layer (DNS → connect → TLS → HTTP), ties
//! broken by check order, so the answer never depends on the order evidence arrived in.

use std::collections::BTreeSet;

use super::{Cause, Symptom};
use crate::checked::Checked;
use crate::config::{Check, Target};
use crate::lang::{say, Lang, ReasonParts, Text, WarningParts};
use crate::probe::{Failure, FailureKind, Phase};

use Symptom::{
    AuthFailure as AF, BalanceAnomaly as BA, NetworkInterruption as NI, PaymentDelay as PD,
    TransactionFailure as TF,
};

/// What a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// A failure of this kind.
    Kind(FailureKind),
    /// A failure of any of these kinds (kinds that mean the same, e.g. refused and reset).
    Kinds(&'static [FailureKind]),
    /// An unexpected status in this inclusive range.
    Status(u16, u16),
    /// An unexpected status that is one of these.
    Statuses(&'static [u16]),
    /// An unexpected status in this range that also carries this response header.
    StatusWithHeader(u16, u16, &'static str),
    /// An unexpected status in this range on a versioned path (`/v1/`, `/v3/…`).
    StatusOnVersionedPath(u16, u16),
    /// A provider code its profile maps to this cause.
    Provider(Cause),
    /// A provider verdict with one of these codes (the body is not the provider's format).
    ProviderCodes(&'static [&'static str]),
    /// An unexpected status whose `WWW-Authenticate` names one of these RFC 6750 errors.
    Challenge(&'static [&'static str]),
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub when: When,
    pub cause: Cause,
    pub symptoms: &'static [Symptom],
    /// What the evidence means, for the reason line.
    pub means: &'static str,
    /// The same in Simplified Chinese.
    pub means_zh: &'static str,
}

const fn rule(
    id: &'static str,
    when: When,
    cause: Cause,
    symptoms: &'static [Symptom],
    means: &'static str,
    means_zh: &'static str,
) -> Rule {
    Rule {
        id,
        when,
        cause,
        symptoms,
        means,
        means_zh,
    }
}

use Cause::{ApiVersion, Network, Security, Server, Unknown, UserInput};
use FailureKind as K;
use When::{Kind, Kinds, Status, StatusOnVersionedPath, StatusWithHeader, Statuses};

/// The rules. Ids are stable: they appear in the JSON API and in tests. Each row says what
/// the evidence means in English and in Simplified Chinese (see [`super::reason`]).
pub const RULES: &[Rule] = &[
    // payprobe's own failure first: a caught panic or an overrun says nothing about the gateway.
    rule("internal_error", Kinds(&[K::InternalError, K::DeadlineExceeded]), Unknown, &[TF], "payprobe failed, not the gateway (a bug: please report it with this evidence)", "payprobe 自身出错，与网关无关（这是缺陷：请附上此证据报告）"),
    // DNS: nothing else can work without a name.
    rule("dns_nxdomain", Kind(K::DnsNxdomain), Network, &[NI, TF], "the name does not exist (NXDOMAIN): DNS hijack, expired domain or a typo", "域名不存在（NXDOMAIN）：DNS 劫持、域名过期或拼写错误"),
    rule("dns_servfail", Kind(K::DnsServfail), Network, &[NI, TF], "the resolver failed (SERVFAIL)", "DNS 解析器失败（SERVFAIL）"),
    rule("dns_refused", Kind(K::DnsRefused), Network, &[NI, TF], "the resolver refused the query", "DNS 解析器拒绝了查询"),
    rule("dns_no_addresses", Kind(K::DnsNoAddresses), Network, &[NI, TF], "the name has no A/AAAA records", "该域名没有 A/AAAA 记录"),
    rule("dns_timeout", Kind(K::DnsTimeout), Network, &[NI, TF], "no DNS answer in time", "DNS 未在时限内应答"),
    rule("dns_error", Kind(K::DnsError), Network, &[NI, TF], "DNS lookup failed", "DNS 查询失败"),
    rule("dns_unexpected_address", Kind(K::DnsUnexpectedAddress), Security, &[AF, TF], "the name resolved outside the expected networks: DNS hijacking or misrouting", "域名解析到预期网段之外：DNS 劫持或路由错误"),
    // TCP: the path, or nothing listening.
    rule("connect_timeout", Kind(K::ConnectTimeout), Network, &[NI, TF], "no answer to the connection attempt: packets are dropped on the way", "连接请求无应答：数据包在途中被丢弃"),
    rule("host_unreachable", Kind(K::HostUnreachable), Network, &[NI, TF], "no route to the host", "没有到该主机的路由"),
    rule("network_unreachable", Kind(K::NetworkUnreachable), Network, &[NI, TF], "no route to the network", "没有到该网络的路由"),
    rule("packet_loss", Kind(K::PacketLoss), Network, &[NI, PD], "pings are lost on the way beyond the target's loss_threshold", "ping 丢包率超过该目标的 loss_threshold"),
    rule("connect_refused", Kinds(&[K::ConnectRefused, K::ConnectReset]), Server, &[TF], "the host answered but refused the connection: nothing listens on the port, the gateway or its load balancer is down", "主机有应答但拒绝连接：端口无服务监听，网关或其负载均衡已宕机"),
    rule("connect_error", Kind(K::ConnectError), Network, &[NI, TF], "this host could not open the connection (no usable local address, or a local firewall refuses it)", "本机无法建立连接（没有可用的本地地址，或本地防火墙拒绝）"),
    // Our own way out (`source_address`, `proxy`): on this side of the path. When the proxy
    // itself fails, or the source address is not ours, scope is `local` whatever the peers
    // say (ON_THIS_SIDE); when the proxy cannot reach the target, peers on the same way out
    // decide, as for any network failure.
    rule("source_address_unavailable", Kind(K::SourceAddressUnavailable), Network, &[NI, TF], "the target's source_address cannot be bound: it is not an address of this host (an uplink's interface is down or renumbered)", "无法绑定该目标的 source_address：它不是本机的地址（某条上行链路的网卡已停用或地址已变更）"),
    rule("proxy_refused", Kind(K::ProxyRefused), Network, &[NI, TF], "the egress proxy refused the connection: nothing listens on its port (the proxy is down)", "出口代理拒绝连接：其端口无服务监听（代理已宕机）"),
    rule("proxy_auth_required", Kind(K::ProxyAuthRequired), Network, &[NI, TF], "the egress proxy requires or refused our credentials (407): check proxy_auth_file / proxy_auth_env", "出口代理要求认证或拒绝了凭据（407）：请检查 proxy_auth_file / proxy_auth_env"),
    rule("proxy_error", Kind(K::ProxyError), Network, &[NI, TF], "the egress proxy refused the tunnel or did not answer CONNECT in HTTP", "出口代理拒绝建立隧道，或未以 HTTP 应答 CONNECT"),
    rule("proxy_target_unreachable", Kind(K::ProxyTargetUnreachable), Network, &[NI, TF], "the egress proxy could not reach the target (502/503/504 to CONNECT)", "出口代理无法连到目标（CONNECT 得到 502/503/504）"),
    rule("proxy_timeout", Kind(K::ProxyTimeout), Network, &[NI, TF], "the egress proxy did not open the tunnel in time", "出口代理未在时限内建立隧道"),
    // TLS: the certificate is a security fact, a stalled handshake is the path; a peer that
    // answered but not in (valid) TLS shows the path works, so it is the server's.
    rule("tls_handshake_timeout", Kind(K::TlsHandshakeTimeout), Network, &[NI, TF], "the TLS handshake stalled", "TLS 握手停滞"),
    rule("tls_not_tls", Kind(K::TlsNotTls), Server, &[TF], "the peer answered, but not in TLS: bytes that are not TLS records, most often a plain-HTTP server on a TLS port (use http://, or the TLS port)", "对端有应答，但不是 TLS：收到的字节不是 TLS 记录，多半是 TLS 端口上运行着明文 HTTP 服务（请改用 http:// 或正确的 TLS 端口）"),
    rule("tls_peer_misbehaved", Kind(K::TlsPeerMisbehaved), Server, &[TF], "the peer speaks TLS but broke the protocol (a broken TLS stack or a middlebox rewriting the handshake)", "对端使用 TLS 但违反了协议（TLS 实现有缺陷，或中间设备篡改了握手）"),
    rule("tls_cert_expired", Kind(K::TlsCertExpired), Security, &[AF, TF], "the certificate has expired", "证书已过期"),
    rule("tls_cert_not_yet_valid", Kind(K::TlsCertNotYetValid), Security, &[AF, TF], "the certificate is not valid yet (check this host's clock)", "证书尚未生效（请检查本机时钟）"),
    rule("tls_cert_unknown_issuer", Kind(K::TlsCertUnknownIssuer), Security, &[AF, TF], "the certificate is not signed by a trusted CA (self-signed, missing intermediate, or interception)", "证书不是由受信任的 CA 签发（自签名、缺少中间证书或遭到劫持）"),
    rule("tls_cert_name_mismatch", Kind(K::TlsCertNameMismatch), Security, &[AF, TF], "the certificate is for another name", "证书属于其他域名"),
    rule("tls_cert_self_signed", Kind(K::TlsCertSelfSigned), Security, &[AF, TF], "the certificate is self-signed: nobody vouches for it (a test endpoint, or interception)", "证书为自签名，无人担保（测试端点或遭到劫持）"),
    rule("tls_cert_revoked", Kind(K::TlsCertRevoked), Security, &[AF, TF], "the certificate is revoked (by the target's crl_file)", "证书已被吊销（依据该目标的 crl_file）"),
    rule("tls_cert_invalid", Kind(K::TlsCertInvalid), Security, &[AF, TF], "the certificate is invalid", "证书无效"),
    rule("tls_protocol_version", Kind(K::TlsProtocolVersion), ApiVersion, &[TF], "no TLS version in common: one side requires a version the other refuses", "双方没有共同的 TLS 版本：一方要求的版本被另一方拒绝"),
    rule("tls_client_auth", Kind(K::TlsClientAuth), Security, &[AF, TF], "the server requires a client certificate (mutual TLS) and refused this host without one: a TLS alert about the client's certificate (RFC 8446 §6.2), or nginx saying so (400/495/496)", "服务器要求客户端证书（双向 TLS），本机未提供而被拒绝：TLS 告警指向客户端证书（RFC 8446 §6.2），或 nginx 如此应答（400/495/496）"),
    rule("tls_alert", Kind(K::TlsAlert), Server, &[TF], "the server refused the handshake with a TLS alert (named in the detail): its TLS settings do not accept this client (no common cipher or signature scheme, an unknown server name, or a client certificate it requires)", "服务器以 TLS 告警拒绝握手（详见括号内）：其 TLS 设置不接受本客户端（无共同的密码套件或签名算法、未知的服务器名，或要求客户端证书）"),
    rule("tls_closed", Kind(K::TlsError), Unknown, &[TF], "the connection was closed or reset during the TLS handshake, before any TLS answer: a middlebox filtering by server name, or a server that does not speak TLS; the evidence cannot tell which", "TLS 握手期间、尚无任何 TLS 应答时连接被关闭或重置：可能是按服务器名过滤的中间设备，也可能是不支持 TLS 的服务器，证据无法区分"),
    // HTTP, after the request went out.
    rule("response_timeout", Kind(K::ResponseTimeout), Server, &[TF, PD], "the request was sent and no response came in time", "请求已发出，但未在时限内收到响应"),
    rule("body_timeout", Kind(K::BodyTimeout), Server, &[TF, PD], "the response started but did not finish in time", "响应已开始但未在时限内完成"),
    rule("connection_closed", Kind(K::ConnectionClosed), Server, &[TF], "the server closed the connection mid-exchange", "服务器在交互中途关闭了连接"),
    rule("http_protocol_error", Kind(K::HttpProtocolError), Server, &[TF], "the peer answered, but not in valid HTTP (a TLS port reached with http://, another protocol on the port, or a broken HTTP server)", "对端有应答，但不是有效的 HTTP（用 http:// 访问了 TLS 端口、端口上是其他协议，或 HTTP 服务有缺陷）"),
    rule("too_many_redirects", Kind(K::TooManyRedirects), Server, &[TF], "redirect loop", "重定向循环"),
    rule("bad_redirect", Kind(K::BadRedirect), Server, &[TF], "unusable redirect", "无法使用的重定向"),
    rule("login_redirect", Kind(K::LoginRedirect), Security, &[AF, TF], "sent to a login page or an OAuth authorization endpoint instead of an answer: the credentials are missing, expired or refused", "被重定向到登录页或 OAuth 授权端点而非得到应答：凭据缺失、过期或被拒绝"),
    // The API version the gateway speaks (the `api_version` check).
    rule("api_version_mismatch", Kind(K::ApiVersionMismatch), ApiVersion, &[TF], "the gateway's API version is outside the range this client supports", "网关的 API 版本超出本客户端支持的范围"),
    rule("api_sunset_passed", Kind(K::ApiSunsetPassed), ApiVersion, &[TF], "the API is past its Sunset date", "该 API 已过 Sunset 停用日期"),
    rule("api_schema_drift", Kind(K::ApiSchemaDrift), ApiVersion, &[TF], "the response no longer has the fields this client reads", "响应中不再包含本客户端读取的字段"),
    rule("api_version_missing", Kind(K::ApiVersionMissing), ApiVersion, &[TF], "the gateway no longer reports a usable API version", "网关不再报告可用的 API 版本"),
    // Chain nodes (the `rpc` check).
    rule("rpc_wrong_chain", Kind(K::RpcWrongChain), UserInput, &[TF], "the endpoint serves another chain than the config says: a wrong URL or chain_id", "该端点服务的链与配置不符：URL 或 chain_id 错误"),
    rule("rpc_behind", Kind(K::RpcBehind), Server, &[BA, TF], "the node trails its peers: balances and confirmations read from it are stale", "该节点落后于同类节点：从它读取的余额和确认数已过时"),
    // Payment notifications (`[[notifications]]`): money confirmed late or not at all while
    // the API may still answer. Scope comes from the provider's probes, like any endpoint.
    rule("notification_late", Kind(K::NotificationLate), Server, &[PD], "the provider's payment notification arrived later than max_delay after the payment: money is confirmed late", "服务商的支付异步通知在支付后超过 max_delay 才到达：到账确认延迟"),
    rule("notification_missing", Kind(K::NotificationMissing), Server, &[PD], "no payment notification from the provider for longer than max_silence: notifications are delayed or lost", "超过 max_silence 未收到服务商的支付异步通知：通知延迟或丢失"),
    // A provider's own code beats the bare status (profiles; docs/profiles.md). A body that is
    // not in the provider's format at all is the server answering in another shape.
    // A signed call's answer whose signature is missing or wrong cannot be believed (issue 19).
    rule("answer_signature", Kind(K::AnswerSignature), Security, &[AF, TF], "the answer of a signed call carries no valid provider signature: a wrong or rotated provider key, or something rewriting answers on the path", "签名调用的应答没有有效的服务商签名：服务商公钥错误或已轮换，或途中有设备改写了应答"),
    rule("login_page", When::ProviderCodes(&["login_page"]), Security, &[AF, TF], "a login page (a form asking for a password) where the provider's answer was due: the credentials are missing or expired", "应返回服务商应答处却是登录页（要求输入密码的表单）：凭据缺失或已过期"),
    rule("provider_format", When::ProviderCodes(crate::profile::MISMATCH_CODES), Server, &[TF], "the peer answered, but not in the provider's format (named in the detail)", "对端有应答，但不是该服务商的格式（详见括号内）"),
    rule("provider_server", When::Provider(Server), Server, &[TF], "the provider reports a failure on its side", "服务商报告其自身故障"),
    rule("provider_security", When::Provider(Security), Security, &[TF], "the provider refuses the credentials, signature or permission", "服务商拒绝了凭据、签名或权限"),
    rule("provider_api_version", When::Provider(ApiVersion), ApiVersion, &[TF], "the provider no longer serves this method or version", "服务商不再提供该方法或版本"),
    rule("provider_user_input", When::Provider(UserInput), UserInput, &[TF], "the provider rejects the request or the account state", "服务商拒绝了该请求或账户状态"),
    rule("provider_unknown", When::Provider(Unknown), Unknown, &[TF], "the provider's answer is not one payprobe can read", "服务商的应答无法被 payprobe 解读"),
    // Every HTTP status (docs/status-codes.md walks the IANA registry row by row): specific
    // codes first, then one row per class. 100/102/103/104 are interim: hyper skips them and
    // the final response decides.
    // RFC 6750 §3.1: the documented error of a Bearer challenge says more than its status.
    rule("bearer_token_refused", When::Challenge(&["invalid_token", "insufficient_scope"]), Security, &[AF, TF], "the access token is refused (WWW-Authenticate: Bearer error=invalid_token: expired, revoked or malformed; insufficient_scope: it lacks the permission)", "访问令牌被拒绝（WWW-Authenticate: Bearer error=invalid_token：过期、吊销或格式错误；insufficient_scope：权限不足）"),
    rule("status_1xx", Status(100, 199), Server, &[TF], "an informational answer (101 Switching Protocols) where a final response was due: the server switched protocols unasked", "应返回最终响应时却收到信息性应答（101 切换协议）：服务器擅自切换了协议"),
    rule("status_2xx_unexpected", Status(200, 299), Server, &[TF], "a success status the target's expect_status does not list: the gateway answers differently than it did", "成功状态码不在该目标的 expect_status 中：网关的应答与以往不同"),
    rule("status_3xx_moved", Statuses(&[301, 308]), UserInput, &[TF], "moved permanently (see Location): the target's URL is out of date; set the new URL or follow_redirects = true", "已永久迁移（见 Location）：该目标的 URL 已过时；请改为新 URL 或设置 follow_redirects = true"),
    rule("status_304", Statuses(&[304]), Server, &[TF], "304 Not Modified to a request that was not conditional: a broken cache in front of the gateway", "对非条件请求返回 304 Not Modified：网关前的缓存有缺陷"),
    rule("status_305", Statuses(&[305]), Network, &[NI, TF], "305 Use Proxy (deprecated): the answer demands a proxy this host does not use", "305 Use Proxy（已废弃）：应答要求使用本机未使用的代理"),
    rule("status_unused", Statuses(&[306, 418]), Unknown, &[TF], "a reserved, unused status (RFC 9110 §15.4.7, §15.5.19): no meaning is registered, so payprobe cannot place it", "保留且未使用的状态码（RFC 9110 §15.4.7、§15.5.19）：没有登记的含义，payprobe 无法判断"),
    rule("status_3xx", Status(300, 399), Server, &[TF], "a redirect where an answer was due (follow_redirects is off): a maintenance or login page, or a load balancer moving traffic", "应返回结果时却被重定向（follow_redirects 关闭）：维护页、登录页，或负载均衡在迁移流量"),
    rule("status_401", Status(401, 401), Security, &[AF, TF], "authentication refused (credentials, signature or clock)", "认证被拒绝（凭据、签名或时钟）"),
    rule("status_403", Status(403, 403), Security, &[AF, TF], "forbidden: permission, IP allow-list or risk control", "禁止访问：权限、IP 白名单或风控"),
    rule("status_429", Status(429, 429), Security, &[TF, PD], "rate limited or held by risk control", "被限流或被风控拦截"),
    rule("status_407", Status(407, 407), Network, &[AF, TF], "a proxy on the way demands authentication: the network this host uses, not the gateway", "途中的代理要求认证：问题在本机所用的网络，而非网关"),
    rule("status_451", Status(451, 451), Network, &[NI, TF], "unavailable for legal reasons (RFC 7725): the provider or an intermediary blocks this vantage point's region", "因法律原因不可用（RFC 7725）：服务商或中间方屏蔽了本监测点所在地区"),
    rule("status_408", Status(408, 408), Network, &[PD, TF], "the server gave up waiting for the request: its bytes were slow to arrive on the way", "服务器等待请求超时：请求数据在途中到达过慢"),
    rule("status_402", Status(402, 402), UserInput, &[TF], "payment required: the account's plan, quota or bill", "需要付费：账户的套餐、配额或账单问题"),
    rule("status_404_versioned", StatusOnVersionedPath(404, 404), ApiVersion, &[TF], "the versioned path no longer exists", "带版本号的路径已不存在"),
    rule("status_410_versioned", StatusOnVersionedPath(410, 410), ApiVersion, &[TF], "the versioned path is gone", "带版本号的路径已被移除"),
    rule("status_404", Status(404, 404), UserInput, &[TF], "the URL does not exist on this server: check the target's URL", "该服务器上不存在此 URL：请检查目标的 URL"),
    rule("status_410", Status(410, 410), ApiVersion, &[TF], "the resource is gone for good: a retired endpoint", "资源已永久移除：端点已下线"),
    rule("status_426", Status(426, 426), ApiVersion, &[TF], "the server requires a protocol upgrade", "服务器要求升级协议"),
    rule("status_406", Status(406, 406), ApiVersion, &[TF], "the server cannot produce the requested format", "服务器无法生成所请求的格式"),
    rule("status_415", Status(415, 415), ApiVersion, &[TF], "the server no longer accepts this request format", "服务器不再接受该请求格式"),
    rule("status_421", Status(421, 421), Server, &[TF], "misdirected: the server that answered does not serve this host (a CDN or load-balancer routing error)", "请求被误导：应答的服务器并不服务此主机（CDN 或负载均衡路由错误）"),
    rule("status_424", Status(424, 424), Server, &[TF], "an action the request depends on failed on the server", "该请求所依赖的操作在服务器端失败"),
    rule("status_425", Status(425, 425), Server, &[TF, PD], "too early: the server will not risk a replayed request now; retry", "请求过早：服务器暂不处理可能被重放的请求；请重试"),
    rule("status_405", Status(405, 405), UserInput, &[TF], "the URL does not accept this method: check [targets.http] method", "该 URL 不接受此请求方法：请检查 [targets.http] method"),
    rule("status_409", Status(409, 409), UserInput, &[TF], "the request conflicts with the resource's current state", "请求与资源的当前状态冲突"),
    rule("status_400", Status(400, 400), UserInput, &[TF], "the request is malformed", "请求格式错误"),
    rule("status_422", Status(422, 422), UserInput, &[TF], "the request is well-formed but its parameters are invalid", "请求格式正确但参数无效"),
    rule("status_423", Status(423, 423), UserInput, &[TF, AF], "the account or resource is locked", "账户或资源已被锁定"),
    rule("status_request_rejected", Statuses(&[411, 412, 413, 414, 416, 417, 428, 431]), UserInput, &[TF], "the server refuses the request as configured (length, precondition, size, URI, range, expectation or header size): check [targets.http]", "服务器拒绝按当前配置发出的请求（长度、前置条件、大小、URI、范围、Expect 或请求头大小）：请检查 [targets.http]"),
    rule("status_4xx", Status(400, 499), UserInput, &[TF], "a client error the registry does not define: the server blames the request", "未登记的客户端错误：服务器认为请求有误"),
    rule("status_511", Status(511, 511), Network, &[NI, TF], "network authentication required: a captive portal on this host's network intercepts requests", "需要网络认证：本机所在网络的强制门户拦截了请求"),
    rule("status_501", Status(501, 501), ApiVersion, &[TF], "the server does not implement this method or feature", "服务器未实现该方法或功能"),
    rule("status_505", Status(505, 505), ApiVersion, &[TF], "the server does not support this HTTP version", "服务器不支持该 HTTP 版本"),
    rule("status_510", Status(510, 510), ApiVersion, &[TF], "the server requires an extension to the request (510 Not Extended, historic)", "服务器要求请求使用扩展（510 Not Extended，已成历史）"),
    rule("status_503_retry_after", StatusWithHeader(503, 503, "retry-after"), Server, &[TF, PD], "503 with Retry-After: planned maintenance or overload", "503 且带 Retry-After：计划维护或过载"),
    rule("status_504", Status(504, 504), Server, &[TF, PD], "a gateway or proxy of the provider timed out waiting for its upstream", "服务商的网关或代理等待上游超时"),
    rule("status_5xx", Status(500, 599), Server, &[TF], "server error", "服务器错误"),
    rule("status_invalid", Status(600, 999), Server, &[TF], "a status outside 1xx–5xx: not valid HTTP (RFC 9110 §15)", "状态码不在 1xx–5xx 范围内：不是有效的 HTTP（RFC 9110 §15）"),
];

/// Rules whose evidence is on this side of the path whatever the other targets look like:
/// our proxy is down or refuses us, or our source address is gone. Their scope is `local`.
pub const ON_THIS_SIDE: &[&str] = &[
    "source_address_unavailable",
    "proxy_refused",
    "proxy_auth_required",
    "proxy_error",
];

/// The verdict on one round.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundVerdict {
    pub ok: bool,
    pub cause: Cause,
    /// Id of the deciding rule: a row of [`RULES`], `"none"` or `"unmatched"`.
    pub rule: &'static str,
    pub symptoms: BTreeSet<Symptom>,
    pub reason: String,
    /// Passed, but slower than the target's `latency_slo`.
    pub slow: bool,
    /// Things that work now but will not for long (a certificate about to expire), as
    /// parts the catalogue says in each language.
    pub warnings: Vec<WarningParts>,
    pub check: Option<Check>,
    pub phase: Option<Phase>,
    /// What `reason` is made of, to render it in another language ([`super::reason`]).
    pub parts: Option<ReasonParts>,
}

fn layer(p: Phase) -> u8 {
    match p {
        Phase::Dns => 0,
        Phase::Connect => 1,
        Phase::Proxy => 2,
        Phase::Tls => 3,
        Phase::Processing => 4,
        Phase::Transfer => 5,
        Phase::Content => 6,
    }
}

/// Judges one round of a target.
pub fn judge_round(t: &Target, round: &[Checked]) -> RoundVerdict {
    // Lowest layer first, then check order, then table order: a total order, so the
    // verdict never depends on the order evidence arrived in.
    let decisive = round
        .iter()
        .filter_map(|e| {
            let f = e.failure.as_ref()?;
            let idx = RULES.iter().position(|r| matches(r.when, f, e));
            Some((e, f, idx))
        })
        .min_by(|a, b| {
            let key = |(e, f, idx): &(&Checked, &Failure, Option<usize>)| {
                (layer(f.phase), e.check(), idx.unwrap_or(RULES.len()))
            };
            key(a)
                .cmp(&key(b))
                .then_with(|| a.1.detail.cmp(&b.1.detail))
        });
    let Some((e, f, idx)) = decisive else {
        return passed(t, round);
    };
    let (cause, rule, symptoms, means) = match idx.map(|i| &RULES[i]) {
        Some(r) => (r.cause, r.id, r.symptoms, Text::new(r.means, r.means_zh)),
        None => (Unknown, "unmatched", &[TF][..], crate::lang::UNMATCHED),
    };
    // A provider code carries its own symptoms (a lagging chain node: balance_anomaly).
    let extra = e
        .readings
        .profile
        .as_ref()
        .filter(|_| f.kind == K::ProviderError)
        .map(|v| v.symptoms.clone())
        .unwrap_or_default();
    // Loss over the threshold delays payments whichever failure decided the round.
    let lossy = round
        .iter()
        .filter_map(|e| e.failure.as_ref())
        .any(|f| f.kind == K::PacketLoss)
        .then_some(PD);
    let parts = ReasonParts::Failure {
        check: e.check(),
        phase: f.phase,
        rule,
        means,
        detail: f.detail.clone(),
    };
    RoundVerdict {
        ok: false,
        cause,
        rule,
        symptoms: symptoms.iter().copied().chain(extra).chain(lossy).collect(),
        reason: say(&parts, Lang::En),
        slow: false,
        warnings: Vec::new(),
        check: Some(e.check()),
        phase: Some(f.phase),
        parts: Some(parts),
    }
}

fn matches(when: When, f: &Failure, e: &Checked) -> bool {
    let http = e.observed.http.as_ref();
    let profile = e.readings.profile.as_ref();
    let status = || {
        (f.kind == K::UnexpectedStatus)
            .then(|| http.and_then(|h| h.status))
            .flatten()
    };
    match when {
        Kind(k) => f.kind == k,
        Kinds(ks) => ks.contains(&f.kind),
        Status(lo, hi) => status().is_some_and(|s| (lo..=hi).contains(&s)),
        Statuses(codes) => status().is_some_and(|s| codes.contains(&s)),
        StatusWithHeader(lo, hi, name) => {
            status().is_some_and(|s| (lo..=hi).contains(&s))
                && http.is_some_and(|h| h.headers.contains_key(name))
        }
        When::Provider(cause) => {
            f.kind == K::ProviderError && profile.is_some_and(|v| v.cause == cause)
        }
        When::ProviderCodes(codes) => {
            f.kind == K::ProviderError && profile.is_some_and(|v| codes.contains(&v.code.as_str()))
        }
        When::Challenge(errors) => {
            status().is_some()
                && http
                    .and_then(|h| h.headers.get("www-authenticate"))
                    .is_some_and(|v| super::challenge::names_error(v, errors))
        }
        StatusOnVersionedPath(lo, hi) => {
            status().is_some_and(|s| (lo..=hi).contains(&s))
                && http.is_some_and(|h| versioned_path(&h.final_url))
        }
    }
}

/// True when a path segment looks like an API version: `v1`, `v3`, `v2.1`.
pub fn versioned_path(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    path.split('/').skip(1).any(|seg| {
        let Some(rest) = seg.strip_prefix(['v', 'V']) else {
            return false;
        };
        !rest.is_empty()
            && rest.starts_with(|c: char| c.is_ascii_digit())
            && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

fn passed(t: &Target, round: &[Checked]) -> RoundVerdict {
    let mut v = RoundVerdict {
        ok: true,
        cause: Cause::None,
        rule: "none",
        symptoms: BTreeSet::new(),
        reason: String::new(),
        slow: false,
        warnings: super::warnings::of_round(round),
        check: None,
        phase: None,
        parts: None,
    };
    let Some(slo) = t.latency_slo else { return v };
    // The user-facing latency is the HTTP exchange when there is one.
    let Some(e) = crate::checked::measured(round) else {
        return v;
    };
    if e.duration > slo {
        v.slow = true;
        v.symptoms.insert(Symptom::PaymentDelay);
        let parts = ReasonParts::Slow {
            check: e.check,
            took: e.duration,
            slo,
            worst: super::slow::slowest_phase(e),
        };
        v.reason = say(&parts, Lang::En);
        v.parts = Some(parts);
    }
    v
}
