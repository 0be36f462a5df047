//! The real servers of the auth_forms cases: what each one answers, byte for byte, and the
//! TLS servers that require a client certificate. Every server binds 127.0.0.1:0.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use payprobe::demo::pki::{Ca, Validity};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::support::{closed_port, raw_server};

/// The CA the TLS servers' certificates chain to, written to `ca.pem` for `ca_file`, a leaf
/// for OpenSSL's server in `leaf.pem`/`leaf.key`, and the server processes started (killed
/// when the test ends).
pub struct Pki {
    ca: Ca,
    dir: std::path::PathBuf,
    children: std::sync::Mutex<Vec<std::process::Child>>,
}

impl Pki {
    pub fn new(dir: &Path) -> Pki {
        let ca = Ca::new("auth forms CA").unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        let leaf = ca.leaf(&["127.0.0.1"], Validity::Current).unwrap();
        let chain: String = leaf.chain.iter().map(|c| pem("CERTIFICATE", c)).collect();
        std::fs::write(dir.join("leaf.pem"), chain).unwrap();
        std::fs::write(
            dir.join("leaf.key"),
            pem("PRIVATE KEY", leaf.key.secret_der()),
        )
        .unwrap();
        Pki {
            ca,
            dir: dir.to_path_buf(),
            children: std::sync::Mutex::new(Vec::new()),
        }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        for c in self.children.lock().unwrap().iter_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// OpenSSL's own test server requiring a client certificate (`s_server -Verify 1`) at this
/// TLS version: a TLS 1.2 one answers the empty certificate with `handshake_failure`, a
/// TLS 1.3 one with `certificate_required`.
fn openssl(pki: &Pki, version: &str) -> Result<String, String> {
    // A port picked free may be taken before s_server binds it: retry on another.
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let mut child = std::process::Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-Verify", "1", version])
            .args(["-accept", &format!("127.0.0.1:{port}")])
            .arg("-cert")
            .arg(pki.dir.join("leaf.pem"))
            .arg("-key")
            .arg(pki.dir.join("leaf.key"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("openssl (tests/run.sh installs it): {e}"))?;
        // Bounded: 200 tries 50 ms apart.
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                pki.children.lock().unwrap().push(child);
                return Ok(format!("url = \"https://127.0.0.1:{port}/v1/pay\"\nchecks = [\"http\"]\nca_file = \"ca.pem\""));
            }
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    Err("openssl s_server did not listen".into())
}

/// An HTTP/1.1 answer, closed after it.
fn reply(status: &str, headers: &[(&str, &str)], body: &str) -> &'static [u8] {
    let mut s = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    Box::leak(s.into_bytes().into_boxed_slice())
}

const JSON: (&str, &str) = ("Content-Type", "application/json");
const LOGIN_PAGE: &str = r#"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form method="post" action="/session"><input name="login"><input type="password" name="password"></form></body></html>"#;
/// nginx's page for its error 496, sent with status 400 (ngx_http_special_response.c).
const NGINX_496: &str = "<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>No required SSL certificate was sent</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// A server answering every request with `r`; the target keys for `path` on it.
async fn http(r: &'static [u8], path: &str, extra: &str) -> String {
    let port = raw_server(r).await;
    format!("url = \"http://127.0.0.1:{port}{path}\"\nchecks = [\"http\"]\n{extra}")
}

async fn alipay(body: &str) -> String {
    let r = reply("200 OK", &[JSON], body);
    http(r, "/gateway.do", "profile = \"alipay\"").await
}

async fn profiled(status: &str, body: &str, path: &str, profile: &str) -> String {
    let r = reply(status, &[JSON], body);
    http(r, path, &format!("profile = \"{profile}\"")).await
}

async fn evm(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let r = reply(status, headers, body);
    http(r, "/v3/key", "profile = \"evm_jsonrpc\"").await
}

/// A TLS server that writes one alert record (RFC 8446 §5.1 plaintext, §6 alert) in answer
/// to the ClientHello.
async fn alert(code: u8) -> String {
    let r: &'static [u8] = Box::leak(Box::new([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, code]));
    let port = raw_server(r).await;
    format!("url = \"https://127.0.0.1:{port}/v1/pay\"\nchecks = [\"http\"]\nca_file = \"ca.pem\"")
}

/// The target keys for `name`'s server, started here.
pub async fn serve(name: &str, pki: &Pki) -> Result<String, String> {
    let moved = |to: &str| reply("302 Found", &[("Location", to)], "");
    Ok(match name {
        "redirect_302_login" => http(moved("/login?next=%2Fv1%2Fpay"), "/v1/pay", "").await,
        "redirect_303_oauth_authorize" => {
            let to = "https://auth.example.com/oauth2/authorize?response_type=code&client_id=payprobe&redirect_uri=https%3A%2F%2Fapp.example%2Fcb";
            http(reply("303 See Other", &[("Location", to)], ""), "/v1/pay", "").await
        }
        "redirect_followed_to_login_page" => {
            let page = raw_server(reply("200 OK", &[("Content-Type", "text/html")], LOGIN_PAGE)).await;
            let to = format!("http://127.0.0.1:{page}/users/sign_in");
            let follow = "[targets.http]\nfollow_redirects = true";
            http(moved(Box::leak(to.into_boxed_str())), "/v1/pay", follow).await
        }
        "redirect_302_maintenance" => http(moved("/maintenance.html"), "/v1/pay", "").await,
        "tls13_client_certificate_required" => mutual_tls(pki, &rustls::version::TLS13),
        "tls12_client_certificate_required" => mutual_tls(pki, &rustls::version::TLS12),
        "openssl_tls12_client_certificate_required" => openssl(pki, "-tls1_2")?,
        "openssl_tls13_client_certificate_required" => openssl(pki, "-tls1_3")?,
        "tls_alert_access_denied" => alert(49).await,
        "tls_alert_handshake_failure" => alert(40).await,
        "nginx_400_no_client_certificate" => {
            let r = reply("400 Bad Request", &[("Server", "nginx"), ("Content-Type", "text/html")], NGINX_496);
            http(r, "/v1/pay", "").await
        }
        "nginx_496_no_client_certificate" => {
            http(reply("496 SSL Certificate Required", &[], ""), "/v1/pay", "").await
        }
        "http_401_basic_challenge" => {
            let r = reply("401 Unauthorized", &[("WWW-Authenticate", "Basic realm=\"api\"")], "");
            http(r, "/v1/pay", "").await
        }
        "http_401_bearer_invalid_token" => challenge("401 Unauthorized", r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#).await,
        "http_403_bearer_insufficient_scope" => challenge("403 Forbidden", r#"Bearer realm="example", error="insufficient_scope", scope="payments:read""#).await,
        "http_400_bearer_invalid_token" => challenge("400 Bad Request", r#"Bearer error="invalid_token""#).await,
        "http_400_bearer_invalid_request" => challenge("400 Bad Request", r#"Bearer realm="example", error="invalid_request""#).await,
        "http_403_forbidden" => http(reply("403 Forbidden", &[], ""), "/v1/pay", "").await,
        "http_407_from_the_target" => {
            let r = reply("407 Proxy Authentication Required", &[("Proxy-Authenticate", "Basic realm=\"corp\"")], "");
            http(r, "/v1/pay", "").await
        }
        "proxy_407_to_connect" => {
            let r = reply("407 Proxy Authentication Required", &[("Proxy-Authenticate", "Basic realm=\"corp\"")], "");
            let proxy = raw_server(r).await;
            format!("url = \"http://127.0.0.1:{}/v1/pay\"\nchecks = [\"http\"]\nproxy = \"http://127.0.0.1:{proxy}\"", closed_port())
        }
        "http_511_network_login" => {
            let r = reply("511 Network Authentication Required", &[("Content-Type", "text/html")], "<html><head><title>Network login</title></head></html>");
            http(r, "/v1/pay", "").await
        }
        "http_429_rate_limited" => http(reply("429 Too Many Requests", &[("Retry-After", "30")], ""), "/v1/pay", "").await,
        "http_200_login_page" => {
            let r = reply("200 OK", &[("Content-Type", "text/html")], LOGIN_PAGE);
            http(r, "/v1/charges/ch_x", "profile = \"stripe\"").await
        }
        "http_200_login_page_generic" => {
            http(reply("200 OK", &[("Content-Type", "text/html")], LOGIN_PAGE), "/v1/pay", "").await
        }
        "alipay_missing_signature" => alipay(r#"{"error_response":{"code":"40001","msg":"Missing Required Arguments","sub_code":"isv.missing-signature","sub_msg":"缺少签名参数"}}"#).await,
        "alipay_missing_app_id" => alipay(r#"{"error_response":{"code":"40001","msg":"Missing Required Arguments","sub_code":"isv.missing-app-id","sub_msg":"缺少appId参数"}}"#).await,
        "alipay_invalid_signature" => alipay(r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}}"#).await,
        "alipay_invalid_app_id" => alipay(r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id","sub_msg":"无效的AppID参数"}}"#).await,
        "alipay_invalid_auth_token" => alipay(r#"{"alipay_trade_query_response":{"code":"20001","msg":"Insufficient Token Permissions","sub_code":"aop.invalid-auth-token","sub_msg":"无效的访问令牌"}}"#).await,
        "alipay_insufficient_isv_permissions" => alipay(r#"{"alipay_trade_query_response":{"code":"40006","msg":"Insufficient Permissions","sub_code":"isv.insufficient-isv-permissions","sub_msg":"ISV权限不足"}}"#).await,
        "alipay_access_forbidden" => alipay(r#"{"alipay_trade_query_response":{"code":"40004","msg":"Business Failed","sub_code":"ACQ.ACCESS_FORBIDDEN","sub_msg":"无权限使用接口"}}"#).await,
        "wechatpay_401_sign_error" => profiled("401 Unauthorized", r#"{"code":"SIGN_ERROR","message":"签名错误"}"#, "/v3/pay/transactions/out-trade-no/x?mchid=1", "wechatpay_v3").await,
        "wechatpay_403_no_auth" => profiled("403 Forbidden", r#"{"code":"NO_AUTH","message":"商户无权限"}"#, "/v3/pay/transactions/out-trade-no/x?mchid=1", "wechatpay_v3").await,
        "stripe_401_invalid_api_key" => profiled("401 Unauthorized", r#"{"error":{"message":"Invalid API Key provided: rk_test_****","type":"invalid_request_error"}}"#, "/v1/charges/ch_x", "stripe").await,
        "stripe_403_restricted_key" => profiled("403 Forbidden", r#"{"error":{"message":"The provided key 'rk_test_****' does not have the required permissions for this endpoint.","type":"invalid_request_error"}}"#, "/v1/charges/ch_x", "stripe").await,
        "alchemy_401_must_be_authenticated" => evm("401 Unauthorized", &[JSON], r#"{"error": "Must be authenticated!"}"#).await,
        "rpc_origin_not_on_whitelist" => evm("200 OK", &[JSON], r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"Unspecified origin not on whitelist."}}"#).await,
        "infura_401_invalid_project_id" => {
            let h = [("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", "Basic realm=\"Auth failure, invalid project id\"")];
            evm("401 Unauthorized", &h, "invalid project id\n").await
        }
        "eip1193_4100_unauthorized" => evm("200 OK", &[JSON], r#"{"jsonrpc":"2.0","id":1,"error":{"code":4100,"message":"The requested account and/or method has not been authorized by the user."}}"#).await,
        "jsonrpc_undocumented_code_on_403" => evm("403 Forbidden", &[JSON], r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32099,"message":"forbidden"}}"#).await,
        other => return Err(format!("no server for case {other}")),
    })
}

async fn challenge(status: &str, www: &str) -> String {
    http(
        reply(status, &[("WWW-Authenticate", www)], ""),
        "/v1/pay",
        "",
    )
    .await
}

/// A TLS server of this `version` that requires a client certificate (rustls, as a mutual
/// TLS gateway is configured): it refuses a client without one with its alert, then
/// drains what the client sent before closing, so the alert is read and not lost to a reset.
fn mutual_tls(pki: &Pki, version: &'static rustls::SupportedProtocolVersion) -> String {
    let leaf = pki.ca.leaf(&["127.0.0.1"], Validity::Current).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(pki.ca.pem().as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(leaf.chain, leaf.key)
        .unwrap();
    let cfg = Arc::new(cfg);
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let cfg = cfg.clone();
            std::thread::spawn(move || refuse(s, cfg));
        }
    });
    format!("url = \"https://127.0.0.1:{port}/v1/pay\"\nchecks = [\"http\"]\nca_file = \"ca.pem\"")
}

/// Runs the handshake until rustls refuses it (its alert is written by `complete_io`).
fn refuse(mut s: std::net::TcpStream, cfg: Arc<rustls::ServerConfig>) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let Ok(mut conn) = rustls::ServerConnection::new(cfg) else {
        return;
    };
    // Bounded: each turn reads or fails, and the read times out.
    for _ in 0..32 {
        if conn.complete_io(&mut s).is_err() {
            break;
        }
        if !conn.is_handshaking() {
            break;
        }
    }
    let _ = s.flush();
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut sink = [0u8; 4096];
    for _ in 0..64 {
        match s.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}
