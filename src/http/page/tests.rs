use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use super::{render, Shown};
use crate::config::{self, Check, Plan, Target};
use crate::history::History;
use crate::judge::Judge;
use crate::lang::Lang;
use crate::probe::{Evidence, Failure, FailureKind, Phase};
use crate::state::Store;

/// `n` targets in each of three providers, and a control.
fn plan(n: usize) -> Plan {
    let mut src = String::new();
    for p in 0..3 {
        for i in 0..n {
            let _ = write!(
                src,
                "[[targets]]\nname = \"p{p}-{i}\"\nprovider = \"p{p}\"\nurl = \"tcp://127.0.0.1:{}\"\n",
                1000 + i
            );
        }
    }
    src.push_str("[[controls]]\nname = \"ctl\"\nurl = \"tcp://127.0.0.1:53\"\n");
    config::parse(Path::new("t.toml"), &src, Path::new(".")).unwrap()
}

fn round(judge: &Judge, t: &Arc<Target>, kind: Option<FailureKind>) {
    let mut e = Evidence::new(&t.name, Check::Tcp);
    e.failure = kind.map(|k| Failure::new(Phase::Connect, k, "detail"));
    judge.round(t, vec![e], SystemTime::now());
}

fn find<'a>(plan: &'a Plan, name: &str) -> &'a Arc<Target> {
    plan.targets.iter().find(|t| t.name == name).unwrap()
}

#[test]
fn a_large_plan_shows_the_summary_and_the_failing_targets_only() {
    let plan = plan(100);
    let judge = Judge::default();
    let store = judge.store().clone();
    for t in &plan.targets {
        round(&judge, t, None);
    }
    for _ in 0..3 {
        round(
            &judge,
            find(&plan, "p1-7"),
            Some(FailureKind::ConnectRefused),
        );
    }
    let html = render(&plan, &store, &History::default(), &Shown::default(), "");
    assert_eq!(
        html.matches("data-target=").count(),
        1,
        "only the failing target"
    );
    assert!(html.contains("data-target=\"p1-7\" data-cause=\"server\""));
    for p in ["p0", "p1", "p2"] {
        assert!(
            html.contains(&format!("?lang=en&amp;provider={p}")),
            "{p} links to its details"
        );
    }
    assert!(html.contains("299 healthy · 1 failing · 300 targets"));
    assert!(html.contains("Not on this side"));

    let p2 = render(
        &plan,
        &store,
        &History::default(),
        &Shown::default(),
        "provider=p2",
    );
    assert_eq!(p2.matches("data-target=").count(), 100);
    assert!(p2.contains("data-target=\"p2-99\""));
    assert!(!p2.contains("data-target=\"p1-7\""));
}

#[test]
fn a_failing_control_puts_the_local_banner_first_in_either_language() {
    let plan = plan(2);
    let judge = Judge::default();
    let store = judge.store().clone();
    for t in &plan.targets {
        for _ in 0..3 {
            round(&judge, t, Some(FailureKind::ConnectTimeout));
        }
    }
    let html = render(&plan, &store, &History::default(), &Shown::default(), "");
    let banner = html.find("The problem is on this side: check your network.");
    let table = html.find("<table");
    assert!(
        banner.is_some() && banner < table,
        "the banner comes before any table"
    );
    assert!(html.contains("6 of 6 targets and 1 control fail at the same time"));
    let zh = render(
        &plan,
        &store,
        &History::default(),
        &Shown::default(),
        "lang=zh-CN",
    );
    assert!(zh.contains("<html lang=\"zh-CN\">"));
    assert!(zh.contains("问题在本端：请检查本机网络。"));
    assert!(zh.contains(">网络<") && zh.contains(">本端<") && zh.contains("网络中断"));
    assert!(html.contains("connect phase"), "the reason, in English");
    for en in [
        ">failing<",
        ">network<",
        "what to do",
        "healthy",
        "connect phase",
    ] {
        assert!(!zh.contains(en), "{en:?} left in English");
    }
}

#[test]
fn open_incidents_say_since_when_and_resolved_ones_how_long() {
    use crate::classify::{Cause, Diagnosis, Scope};
    use crate::incidents::Incident;
    let plan = plan(1);
    let t = find(&plan, "p0-0");
    let mut d = Diagnosis::pending();
    (d.healthy, d.cause, d.scope) = (false, Cause::Server, Scope::Provider);
    let now = crate::history::epoch_ms(SystemTime::now());
    let open = Incident::open(t, &d, Lang::En, now - 95_000, None, None);
    let mut closed = Incident::open(find(&plan, "p1-0"), &d, Lang::En, now - 600_000, None, None);
    closed.closed_ms = Some(now - 600_000 + 42_000);
    let shown = Shown {
        open: vec![open],
        open_total: 1,
        resolved: vec![closed],
    };
    let html = render(&plan, &Store::new(), &History::default(), &shown, "");
    let open_row = html.split("data-incident=\"p0-0@").nth(1).unwrap();
    assert!(open_row.contains("1 min 35 s"), "open for: {open_row}");
    let resolved = html.split("Recently resolved").nth(1).unwrap();
    assert!(
        resolved.contains("p1-0") && resolved.contains("42 s"),
        "{resolved}"
    );
    let zh = render(
        &plan,
        &Store::new(),
        &History::default(),
        &shown,
        "lang=zh-CN",
    );
    assert!(zh.contains("进行中的事件") && zh.contains("最近已恢复") && zh.contains("42 秒"));
    let none = render(
        &plan,
        &Store::new(),
        &History::default(),
        &Shown::default(),
        "",
    );
    assert!(none.contains("No open incident."));
}

/// Every kind of warning, in the row of a healthy target and in the JSON API: said by the
/// catalogue in the asked language, the English sentences unchanged.
#[test]
fn warnings_follow_the_page_and_api_language() {
    use super::esc;
    use crate::classify::Diagnosis;
    use crate::lang::warning;
    use crate::state::Entry;
    let plan = plan(1);
    let t = find(&plan, "p0-0");
    let mut d = Diagnosis::pending();
    d.warnings = crate::lang::warnings::examples();
    let store = Store::new();
    store.put(Entry {
        target: t,
        evidence: &[],
        rounds: 1,
        consecutive_failures: 0,
        diagnosis: &Arc::new(d.clone()),
        since: SystemTime::now(),
    });
    let page = |q: &str| render(&plan, &store, &History::default(), &Shown::default(), q);
    let api = |l: Lang| serde_json::to_value(super::super::api::view(t, &store, l)).unwrap();
    let (en_page, zh_page) = (page(""), page("lang=zh-CN"));
    let (en_api, zh_api) = (api(Lang::En), api(Lang::ZhCn));
    for (i, w) in d.warnings.iter().enumerate() {
        let (en, zh) = (warning(w, Lang::En), warning(w, Lang::ZhCn));
        assert!(
            zh.contains(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{zh}"
        );
        assert!(en_page.contains(&esc(&en)), "English page: {en}");
        assert!(
            zh_page.contains(&esc(&zh)) && !zh_page.contains(&esc(&en)),
            "{zh}"
        );
        assert_eq!(en_api["diagnosis"]["warnings"][i], en.as_str());
        assert_eq!(zh_api["diagnosis"]["warnings"][i], zh.as_str());
    }
    assert!(zh_page.contains("警告: "), "the label is the page's word");
}
