//! Reading a `WWW-Authenticate` challenge (RFC 9110 §11.6.1) for the error RFC 6750 §3
//! defines: `Bearer realm="api", error="invalid_token", error_description="..."`. The
//! documented error says what the status class cannot (a 400 with `invalid_token` is a
//! refused token, not a malformed request).

/// Whether an `error` auth-param of the challenge is one of `errors`. Parameter names are
/// case-insensitive and values may be quoted or bare (RFC 9110 §11.2); a header may carry
/// several challenges, each is read.
pub(super) fn names_error(header: &str, errors: &[&str]) -> bool {
    let lower = header.to_ascii_lowercase();
    let mut rest = lower.as_str();
    // Bounded by the header's length: each turn consumes at least one byte.
    while let Some(i) = rest.find("error") {
        let before = rest[..i].chars().next_back();
        let after = rest[i + "error".len()..].trim_start();
        rest = &rest[i + "error".len()..];
        // `error=`, not `error_description=` nor `myerror=`.
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let Some(value) = after.strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let value = value.strip_prefix('"').unwrap_or(value);
        let end = value
            .find(|c: char| c == '"' || c == ',' || c.is_whitespace())
            .unwrap_or(value.len());
        if errors.contains(&&value[..end]) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::names_error;

    #[test]
    fn the_error_param_is_found_in_its_forms() {
        let want = &["invalid_token", "insufficient_scope"];
        for yes in [
            r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#,
            r#"Bearer error=insufficient_scope, scope="payments:read""#,
            r#"Basic realm="x", Bearer ERROR = "Invalid_Token""#,
        ] {
            assert!(names_error(yes, want), "{yes}");
        }
        for no in [
            r#"Bearer realm="example""#,
            r#"Bearer error="invalid_request", error_description="invalid_token is missing""#,
            r#"Basic realm="Auth failure, invalid project id""#,
            r#"Bearer myerror="invalid_token""#,
        ] {
            assert!(!names_error(no, want), "{no}");
        }
    }
}
