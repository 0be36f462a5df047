//! The demo providers' refusals and rotations.

use super::*;

fn seen(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Seen {
    Seen {
        method: method.into(),
        path_and_query: path.into(),
        version: "HTTP/1.1".into(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: Bytes::copy_from_slice(body),
    }
}

fn signing(side: Side, twist: Twist) -> Signing {
    Signing {
        keys: Arc::new(Keys::new().unwrap()),
        side,
        twist,
    }
}

#[test]
fn refusals_are_the_documented_ones_and_unsigned() {
    let body = Bytes::from_static(b"{}");
    let ali = signing(Side::Alipay, Twist::None);
    let r = ali.answer(&seen("POST", "/gateway.do", &[], b"app_id=1"), 200, &body);
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        text.contains("isv.missing-signature") && !text.contains("\"sign\""),
        "{text}"
    );
    let r = ali.answer(
        &seen("POST", "/gateway.do", &[], b"app_id=1&sign=AAAA"),
        200,
        &body,
    );
    assert!(String::from_utf8_lossy(&r.body).contains("isv.invalid-signature"));

    // Hostile Authorization values are refused, never a panic.
    let wx = signing(Side::Wechat, Twist::ClockOffset(i64::MAX));
    for auth in [
        "",
        "WECHATPAY2-SHA256-RSA2048 ",
        "WECHATPAY2-SHA256-RSA2048 timestamp=\"-9223372036854775808\",signature=\"%%%\"",
    ] {
        let r = wx.answer(
            &seen("GET", "/v3/certificates", &[("authorization", auth)], b""),
            200,
            &body,
        );
        assert_eq!(r.status, 401, "{auth}");
        assert!(r.headers.iter().all(|(k, _)| k != "wechatpay-signature"));
    }
}

#[test]
fn a_rotation_publishes_a_new_serial_and_keeps_the_previous_one() {
    let keys = Keys::new().unwrap();
    let first = keys.platform_serial();
    let second = keys.rotate().unwrap();
    let third = keys.rotate().unwrap();
    assert_eq!(first.len(), 40);
    assert!(first != second && second != third);
    let listed = platform::certificates(&keys);
    assert!(listed.contains(&second) && listed.contains(&third) && !listed.contains(&first));
}
