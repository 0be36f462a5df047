//! Hints and reasons in both languages.

use super::*;

#[test]
fn hints_exist_for_every_cause_in_both_languages() {
    for c in Cause::ALL {
        for s in Scope::ALL {
            for l in [Lang::En, Lang::ZhCn] {
                let h = hint(c, s, l);
                assert_eq!(h.is_empty(), c == Cause::None, "{c:?} {s:?} {l:?}");
            }
        }
    }
    assert!(hint(Cause::Server, Scope::Endpoint, Lang::En).contains("never resubmit a payment"));
    assert!(hint(Cause::Server, Scope::Endpoint, Lang::ZhCn).contains("切勿重复提交"));
    assert!(hint(Cause::ApiVersion, Scope::Endpoint, Lang::En).contains("Upgrade"));
    assert!(hint(Cause::Security, Scope::Endpoint, Lang::En).contains("re-login"));
    assert!(hint(Cause::Network, Scope::Local, Lang::En).contains("switch networks"));
    assert!(hint(Cause::Server, Scope::Provider, Lang::En).contains("status page"));
    assert_eq!(Lang::parse("zh_CN"), Some(Lang::ZhCn));
    assert_eq!(Lang::parse("fr"), None);
}

#[test]
fn the_reason_is_rendered_in_chinese_from_its_parts() {
    let t = target("latency_slo = \"100ms\"");
    let mut w = Window::new(1, 1);
    w.push(judge_round(
        &t,
        &[status(511, "https://gw.example/pay", &[])],
    ));
    let d = classify(&w, &PeerView::default(), SystemTime::UNIX_EPOCH);
    assert_eq!(
        reason(&d, Lang::En),
        d.reason,
        "English is the reason field itself"
    );
    let zh = reason(&d, Lang::ZhCn);
    assert!(zh.starts_with("HTTP 检查，服务器处理阶段："), "{zh}");
    assert!(zh.contains("强制门户") && zh.contains("（detail）"), "{zh}");
    // Every rule says what it means in both languages.
    for r in RULES {
        assert!(!r.means_zh.is_empty() && !r.means_zh.is_ascii(), "{}", r.id);
    }
    // A slow but passing round, too.
    let mut w = Window::new(1, 1);
    w.push(judge_round(&t, &[passing(Check::Http, 250)]));
    let d = classify(&w, &PeerView::default(), SystemTime::UNIX_EPOCH);
    let zh = reason(&d, Lang::ZhCn);
    assert!(zh.contains("250 毫秒") && zh.contains("100 毫秒"), "{zh}");
}
