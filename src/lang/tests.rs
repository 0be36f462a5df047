//! Every entry of the catalogue is said in both languages, and differently: a phrase left in
//! English in the Chinese column (or empty) fails here, whatever output uses it.

use std::time::Duration;

use super::*;
use crate::vocab::{Cause, Check, Phase, Scope, Symptom};

/// Both non-empty, not the same, and the Chinese one is not plain ASCII (not left in English).
fn both(what: &str, en: &str, zh: &str) {
    assert!(!en.trim().is_empty(), "{what}: English is empty");
    assert!(!zh.trim().is_empty(), "{what}: Chinese is empty");
    assert_ne!(en, zh, "{what}: the same in both languages");
    assert!(!zh.is_ascii(), "{what}: the Chinese text is ASCII: {zh:?}");
}

fn in_both<F: Fn(Lang) -> String>(what: &str, f: F) {
    both(what, &f(Lang::En), &f(Lang::ZhCn));
}

#[test]
fn every_page_word_is_in_both_languages() {
    for (name, en, zh) in page::ALL_WORDS {
        if *name == "html_lang" {
            assert_eq!((*en, *zh), (Lang::En.as_str(), Lang::ZhCn.as_str()));
            continue;
        }
        both(name, en, zh);
    }
    for (i, t) in page::UPTIME.iter().enumerate() {
        both(&format!("uptime word {i}"), t.en, t.zh);
    }
}

#[test]
fn every_label_and_hint_is_in_both_languages() {
    for c in Cause::ALL {
        in_both(c.as_str(), |l| page::cause(c, l).to_string());
        for s in Scope::ALL {
            if c != Cause::None {
                in_both(&format!("hint {c}/{s}"), |l| hint(c, s, l));
            } else {
                assert_eq!(hint(c, s, Lang::ZhCn), "", "a healthy target has no hint");
            }
        }
    }
    for s in Scope::ALL {
        in_both(s.as_str(), |l| page::scope(s, l).to_string());
    }
    for s in Symptom::ALL {
        in_both(s.as_str(), |l| page::symptom(s, l).to_string());
    }
}

#[test]
fn every_reason_shape_is_in_both_languages() {
    for check in Check::ALL {
        for phase in Phase::EVERY {
            let p = ReasonParts::Failure {
                check,
                phase,
                rule: "r",
                means: UNMATCHED,
                detail: "connection refused".into(),
            };
            in_both(&format!("{check}/{phase}"), |l| say(&p, l));
            let zh = say(&p, Lang::ZhCn);
            assert!(
                zh.contains("connection refused"),
                "the detail stays verbatim"
            );
        }
        let slow = ReasonParts::Slow {
            check,
            took: Duration::from_millis(900),
            slo: Duration::from_millis(500),
            worst: Some((Phase::Processing, Duration::from_millis(800))),
        };
        in_both(&format!("slow {check}"), |l| say(&slow, l));
    }
}

#[test]
fn every_page_and_alert_phrase_is_in_both_languages() {
    in_both("local_detail", |l| page::local_detail(3, 10, 1, l));
    in_both("ways_out", |l| page::ways_out("proxy-a", l));
    in_both("counts", |l| page::counts(1, 2, 3, l));
    in_both("since", |l| page::since("02:31:05 UTC", "45 s", l));
    for secs in [5, 125, 7300] {
        in_both("duration", |l| page::duration(secs, l));
    }
    in_both("history_label", |l| {
        page::history_label(60, 4, 2.0, 640.0, l)
    });
    in_both("refresh", |l| page::refresh(2, l));
    in_both("pick_provider", |l| page::pick_provider(10_000, l));
    for check in Check::ALL {
        in_both("evidence_line", |l| {
            evidence_line(check, Some((Phase::Tls, "eof")), Some(503), "{}", l)
        });
    }
    both(
        "every target",
        page::UPTIME_EVERY_TARGET.en,
        page::UPTIME_EVERY_TARGET.zh,
    );
    for t in [alerts::PAYMENT_RULE, alerts::TEST_NOTIFICATION, UNMATCHED] {
        both(t.en, t.en, t.zh);
    }
    for control in [false, true] {
        in_both("endpoint_summary", |l| {
            alerts::endpoint_summary("t", "p", Cause::Server, control, l)
        });
    }
    in_both("provider_summary", |l| {
        alerts::provider_summary("p", 3, Cause::Network, l)
    });
    for (egress, controls) in [("", false), ("proxy-a", true)] {
        in_both("vantage_summary", |l| {
            alerts::vantage_summary("v", egress, 9, controls, l)
        });
    }
    for started in [false, true] {
        in_both("maintenance_summary", |l| {
            alerts::maintenance_summary("w", started, "p", "a", "b", l)
        });
    }
}

#[test]
fn every_chat_word_is_in_both_languages() {
    for (name, t) in alerts::CHAT {
        both(name, t.en, t.zh);
        in_both(name, |l| alerts::chat_line(name, "v", l));
    }
    in_both("more_endpoints", |l| alerts::more_endpoints(3, l));
    for secs in [5, 90, 7300] {
        in_both("lasted", |l| alerts::lasted(secs, l));
    }
    // English as the chat messages always said it.
    assert_eq!(alerts::chat_line("reason", "x", Lang::En), "reason: x");
    assert_eq!(alerts::lasted(90, Lang::En), "1m 30s");
    assert_eq!(alerts::more_endpoints(3, Lang::En), " (+3 more)");
}

#[test]
fn every_warning_is_in_both_languages_with_its_figures_verbatim() {
    for w in warnings::examples() {
        in_both(&format!("{w:?}"), |l| warning(&w, l));
        let (en, zh) = (warning(&w, Lang::En), warning(&w, Lang::ZhCn));
        // The names, serials, dates and seconds quoted from evidence stay as they were.
        let quoted = [
            "CN=api.mch.weixin.qq.com",
            "apiclient_cert",
            "5157F09EFDC096DE15EBE81A47057A72",
            "app_cert",
            "0a1b",
            "2026-01-02T03:04:05Z",
            "2026-06-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
            "2026-07-01T00:00:00Z",
            "7A2B",
        ];
        for q in quoted.iter().filter(|q| en.contains(*q)) {
            assert!(zh.contains(q), "{q:?} kept in {zh:?}");
        }
    }
}

#[test]
fn warnings_in_english_are_the_sentences_users_have_always_read() {
    let en: Vec<String> = warnings::examples()
        .iter()
        .map(|w| warning(w, Lang::En))
        .collect();
    assert_eq!(
        en,
        [
            "the certificate for CN=api.mch.weixin.qq.com expires at 2026-01-02T03:04:05Z: renew it before then",
            "the apiclient_cert certificate 5157F09EFDC096DE15EBE81A47057A72 expires at 2026-01-02T03:04:05Z: renew it before then",
            "critical: the app_cert certificate 0a1b expires at 2026-01-02T03:04:05Z: renew it before then",
            "the API will be deprecated at 2026-06-01T00:00:00Z",
            "the API is deprecated since 2025-01-01T00:00:00Z: plan the upgrade",
            "the API is deprecated: plan the upgrade",
            "the API will be switched off at 2026-07-01T00:00:00Z (Sunset)",
            "WeChat Pay published a new platform certificate, serial 7A2B (a rotation; answers are verified with it)",
            "the provider's clock is -361s from this host's (WeChat Pay refuses more than 300s): check NTP",
            "this control fails while most other targets' paths work: check the control itself (its host, its firewall rule); this vantage point's network is not blamed",
        ]
    );
    // In JSON (the evidence's `api_version.warnings`) a warning is its English sentence.
    let json = serde_json::to_value(warnings::examples()).unwrap();
    assert_eq!(json, serde_json::json!(en));
}

/// A clock skew says which way in Chinese (快/慢 and the seconds), as a sign reads oddly.
#[test]
fn a_clock_skew_says_which_way() {
    let zh = |seconds| warning(&WarningParts::ClockSkew { seconds }, Lang::ZhCn);
    assert!(zh(-361).contains("比本机慢 361 秒"), "{}", zh(-361));
    assert!(zh(400).contains("比本机快 400 秒"), "{}", zh(400));
    let en = warning(&WarningParts::ClockSkew { seconds: 400 }, Lang::En);
    assert!(en.contains("+400s"), "{en}");
}
