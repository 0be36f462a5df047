//! Authentication refused in forms other than 401/403 (issue 19, point 3; the table in
//! docs/diagnosis.md, "Authentication in all its forms"): a redirect to a login page or an
//! OAuth authorization endpoint instead of an answer, and nginx's own answer that a client
//! certificate is missing or refused (which it sends as a plain 400). Both say more than the
//! bare status does, so they are read before the status rules.

use crate::probe::{Failure, FailureKind, HttpEvidence, Phase};

/// nginx's pages for its errors 496 and 495, which it answers with status 400
/// (`ngx_http_error_496_page`, `ngx_http_error_495_page` in
/// src/http/ngx_http_special_response.c; nginx.org, ngx_http_ssl_module, "Error processing").
const NGINX_CLIENT_CERT: &[&str] = &[
    "No required SSL certificate was sent",
    "The SSL certificate error",
];

/// Path segments of a login or authorization page. A segment containing one of the first
/// list matches (`login.htm`, `publicAppAuthorize.htm`); the second must be the whole
/// segment, less any extension (`/sso/`, `/signin`, but not `/v1/signing-keys`).
const LOGIN_PARTS: &[&str] = &["login", "authorize"];
const LOGIN_SEGMENTS: &[&str] = &[
    "signin", "sign-in", "sign_in", "logon", "log-in", "oauth", "oauth2", "sso", "saml",
];

/// A failure when the answer refuses authentication in one of these forms; `target` is the
/// URL the target asks for (monitoring a login page itself is not a refusal).
pub(super) fn refused(h: &HttpEvidence, target: &url::Url) -> Result<(), Failure> {
    let status = h.status.unwrap_or(0);
    let nginx = status == 400
        && NGINX_CLIENT_CERT
            .iter()
            .any(|m| contains(&h.body, m.as_bytes()) || h.body_excerpt.contains(m));
    if nginx || matches!(status, 495 | 496) {
        return Err(Failure::new(
            Phase::Processing,
            FailureKind::TlsClientAuth,
            format!("HTTP {status}: the server (nginx) requires a client certificate this host does not present"),
        ));
    }
    if login_url(target) {
        return Ok(());
    }
    let location = h
        .headers
        .get("location")
        .filter(|_| (300..400).contains(&status));
    let sent_to = location.and_then(|l| url::Url::parse(&h.final_url).ok()?.join(l).ok());
    if let Some(to) = sent_to.filter(login_url) {
        return Err(Failure::new(
            Phase::Processing,
            FailureKind::LoginRedirect,
            format!(
                "HTTP {status} to {}: a login page, not an answer",
                shown(&to)
            ),
        ));
    }
    let landed = url::Url::parse(&h.final_url).ok().filter(login_url);
    if let Some(at) = landed.filter(|_| h.redirects > 0) {
        return Err(Failure::new(
            Phase::Processing,
            FailureKind::LoginRedirect,
            format!(
                "redirected ({} hops) to {}: a login page, HTTP {status}",
                h.redirects,
                shown(&at)
            ),
        ));
    }
    Ok(())
}

/// A login page or an OAuth 2.0 authorization request (RFC 6749 §4.1.1: `response_type`
/// and `client_id` in the query).
fn login_url(u: &url::Url) -> bool {
    let by_path = u.path_segments().into_iter().flatten().any(|seg| {
        let seg = seg.to_ascii_lowercase();
        let stem = seg.split('.').next().unwrap_or("");
        LOGIN_PARTS.iter().any(|p| stem.contains(p)) || LOGIN_SEGMENTS.contains(&stem)
    });
    let query = |k: &str| u.query_pairs().any(|(n, _)| n == k);
    by_path || (query("response_type") && query("client_id"))
}

/// The URL without its query (it may carry a session or state token).
fn shown(u: &url::Url) -> String {
    let mut u = u.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::login_url;

    #[test]
    fn login_pages_and_authorization_requests_are_recognised() {
        for yes in [
            "https://example.com/login?next=/v1/pay",
            "https://example.com/users/sign_in",
            "https://openauth.alipay.com/oauth2/publicAppAuthorize.htm?app_id=1",
            "https://idp.example/realms/x/protocol/openid-connect/auth?client_id=a&response_type=code",
            "https://idp.example/sso/saml",
            "https://idp.example/o?response_type=code&client_id=a",
            "https://example.com/cas/login",
        ] {
            assert!(login_url(&url::Url::parse(yes).unwrap()), "{yes}");
        }
        for no in [
            "https://example.com/v1/pay",
            "https://example.com/v3/pay/transactions/out-trade-no/x",
            "https://example.com/maintenance.html",
            "https://example.com/v1/authors",
            "https://example.com/v1/signing-keys",
            "https://example.com/api/v2/auth/tokens",
            "https://example.com/?client_id=a",
        ] {
            assert!(!login_url(&url::Url::parse(no).unwrap()), "{no}");
        }
    }
}
