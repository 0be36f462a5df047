//! Maintenance windows end to end, on loopback: a webhook receiver in the test, real
//! gateways broken on purpose, and weekly windows checked against Python's `zoneinfo`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use payprobe::app::Daemon;
use payprobe::demo::gateway::{Behavior, Gateway};

use crate::alerts::broken;
use crate::alerts::{Got, Receiver};
use crate::support::{get, metric, wait_for};

fn sink(name: &str, addr: SocketAddr, maintenance: bool) -> String {
    format!("[[alerts.sinks]]\nname = \"{name}\"\nkind = \"webhook\"\nurl = \"http://{addr}/hook\"\nmaintenance_notifications = {maintenance}\n")
}

fn target(name: &str, provider: &str, port: u16) -> String {
    format!(
        "[[targets]]\nname = \"{name}\"\nprovider = \"{provider}\"\nurl = \"http://127.0.0.1:{port}/v3/pay/transactions/out-trade-no/1\"\ninterval = \"300ms\"\ntimeout = \"200ms\"\nfailure_threshold = 2\nsuccess_threshold = 2\n"
    )
}

/// RFC 3339 of now plus `ms` (negative: in the past).
fn at(ms: i64) -> String {
    let now = jiff::Timestamp::now().as_millisecond() + ms;
    jiff::Timestamp::from_millisecond(now).unwrap().to_string()
}

async fn daemon(dir: &Path, body: &str) -> Daemon {
    let src = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"{}\"\n[alerts]\ngroup_wait = \"300ms\"\n{body}",
        dir.join("state").display()
    );
    crate::alerts::daemon(dir, &src).await
}

fn label<'a>(g: &'a Got, k: &str) -> &'a str {
    g.body["alerts"][0]["labels"][k].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_window_over_a_failing_provider_pages_nobody_while_a_target_outside_it_pages() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::up().await;
    let (ali, stripe) = (
        Gateway::http(broken()).await.unwrap(),
        Gateway::http(broken()).await.unwrap(),
    );
    let body = format!(
        "{}{}{}[[maintenance]]\nname = \"alipay-night\"\nproviders = [\"alipay\"]\nstart = \"{}\"\nend = \"{}\"\n",
        sink("hook", rx.addr, true),
        target("alipay-cn", "alipay", ali.port()),
        target("stripe-us", "stripe", stripe.port()),
        at(-60_000),
        at(3_600_000),
    );
    let d = daemon(dir.path(), &body).await;
    let got = &rx;
    wait_for(
        20,
        "the page for the target outside the window",
        || async move {
            got.got()
                .iter()
                .any(|g| label(g, "target") == "stripe-us")
                .then_some(())
        },
    )
    .await;
    let addr = d.addr;
    // Both incidents are open by now; give the engine several passes to (wrongly) page.
    let incidents = wait_for(20, "both incidents open", || async move {
        let v: serde_json::Value =
            serde_json::from_str(&get(addr, "/api/v1/incidents").await.ok()?.1).ok()?;
        (v["open"] == 2).then_some(v)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let all = rx.got();
    assert!(
        all.iter()
            .all(|g| label(g, "target") != "alipay-cn" && label(g, "provider") != "alipay"),
        "nothing pages for the provider in maintenance: {all:#?}"
    );
    let list = incidents["incidents"].as_array().unwrap();
    let mark = |t: &str| {
        list.iter()
            .find(|i| i["target"] == t)
            .map(|i| i["maintenance"].clone())
    };
    assert_eq!(mark("alipay-cn"), Some(serde_json::json!("alipay-night")));
    assert_eq!(mark("stripe-us"), Some(serde_json::Value::Null));
    let text = get(addr, "/metrics").await.unwrap().1;
    assert_eq!(
        metric(
            &text,
            r#"payprobe_maintenance_active{provider="alipay",target="alipay-cn"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains(r#"payprobe_maintenance_active{provider="stripe""#));
    let (_, m) = get(addr, "/api/v1/maintenance").await.unwrap();
    let m: serde_json::Value = serde_json::from_str(&m).unwrap();
    assert_eq!(m["windows"][0]["name"], "alipay-night");
    assert_eq!(m["windows"][0]["active"], true);
    let (_, page) = get(addr, "/").await.unwrap();
    let section = |id: &str| {
        page.split(&format!("<section id=\"{id}\">"))
            .nth(1)
            .map(|s| s.split("</section>").next().unwrap_or("").to_string())
    };
    let windows = section("maintenance").expect("the page lists the window");
    assert!(
        windows.contains("alipay-night") && windows.contains("alipay"),
        "{windows}"
    );
    let incidents = section("incidents").expect("the page lists incidents");
    assert!(
        incidents.contains("🔧 alipay-night"),
        "the incident is marked: {incidents}"
    );
    let uptime = section("uptime").expect("the page shows uptime");
    assert!(
        uptime.contains("stripe-us") && uptime.contains("<svg class=\"days\""),
        "{uptime}"
    );
    d.stop();
}

#[tokio::test]
async fn a_window_announces_its_start_and_end_and_a_failure_outlasting_it_pages_at_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let (rx, quiet) = (Receiver::up().await, Receiver::up().await);
    let gw = Gateway::http(Behavior::ok("{}")).await.unwrap();
    let body = format!(
        "{}{}{}[[maintenance]]\nname = \"upgrade\"\ntargets = [\"pay\"]\nstart = \"{}\"\nend = \"{}\"\n",
        sink("hook", rx.addr, true),
        sink("quiet", quiet.addr, false),
        target("pay", "acme", gw.port()),
        at(1_500),
        at(6_000),
    );
    let d = daemon(dir.path(), &body).await;
    let got = &rx;
    wait_for(20, "the window's start", || async move {
        got.got()
            .iter()
            .any(|g| label(g, "maintenance") == "upgrade")
            .then_some(())
    })
    .await;
    // It breaks inside the window: an incident opens, marked, and pages nobody yet.
    gw.set(broken());
    let addr = d.addr;
    wait_for(20, "an incident opened in the window", || async move {
        let v: serde_json::Value =
            serde_json::from_str(&get(addr, "/api/v1/incidents").await.ok()?.1).ok()?;
        (v["incidents"][0]["maintenance"] == "upgrade").then_some(())
    })
    .await;
    wait_for(30, "the page after the window's end", || async move {
        got.got()
            .iter()
            .any(|g| label(g, "target") == "pay")
            .then_some(())
    })
    .await;
    let all = rx.got();
    let pos = |f: &dyn Fn(&Got) -> bool| all.iter().position(f).unwrap();
    let started = pos(&|g| label(g, "maintenance") == "upgrade" && g.body["status"] == "firing");
    let ended = pos(&|g| label(g, "maintenance") == "upgrade" && g.body["status"] == "resolved");
    let page = pos(&|g| label(g, "target") == "pay");
    assert!(
        started < ended && ended < page,
        "start, end, then the page: {all:#?}"
    );
    let notes = all
        .iter()
        .filter(|g| label(g, "maintenance") == "upgrade")
        .count();
    assert_eq!(notes, 2, "one start and one end: {all:#?}");
    assert_eq!(label(&all[page], "alertname"), "PaymentEndpointFailing");
    let q = &quiet;
    wait_for(10, "the page on the other sink", || async move {
        (!q.got().is_empty()).then_some(())
    })
    .await;
    assert!(
        quiet
            .got()
            .iter()
            .all(|g| label(g, "maintenance").is_empty()),
        "maintenance notifications are off by default: {:#?}",
        quiet.got()
    );
    d.stop();
}

/// Weekly windows in zones with and without DST, at instants all around their edges, against
/// Python's `zoneinfo` (the system tz database; payprobe uses its own compiled-in copy): the
/// same answer to "is this instant inside the window" every time.
#[test]
fn weekly_windows_match_python_zoneinfo_across_dst_and_midnight() {
    use payprobe::maintenance::{parse_weekly, Weekly, When, Window};
    let zones = [
        "Asia/Shanghai",
        "America/New_York",
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "UTC",
    ];
    let specs = [
        "Sun 01:00-03:00",
        "Sat 23:30-01:30",
        "Sun 02:30-03:30",
        "Mon 00:00-23:59",
        "Sun 03:00-01:00",
    ];
    // A small LCG: deterministic, so a failure reproduces.
    let mut seed: u64 = 0x5eed_1234;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        seed >> 33
    };
    // Half the instants anywhere in 2026-2027, half within two days of a DST change
    // (New York, Berlin, Lord Howe's half-hour shift), where a fixed offset would be wrong.
    let (from, to) = (1_767_225_600_000i64, 1_830_297_600_000i64);
    let changes = [
        "2026-03-08T07:00:00Z",
        "2026-11-01T06:00:00Z",
        "2026-03-29T01:00:00Z",
        "2026-10-25T01:00:00Z",
        "2026-04-04T15:00:00Z",
        "2026-10-03T15:30:00Z",
    ];
    let mut cases = Vec::new();
    for i in 0..4000 {
        let z = zones[next() as usize % zones.len()];
        let s = specs[next() as usize % specs.len()];
        let ms = if i % 2 == 0 {
            from + (next() as i64 % ((to - from) / 60_000)) * 60_000
        } else {
            let c: jiff::Timestamp = changes[next() as usize % changes.len()].parse().unwrap();
            c.as_millisecond() + (next() as i64 % (4 * 1440) - 2 * 1440) * 60_000
        };
        cases.push((z, s, ms));
    }
    let input: String = cases
        .iter()
        .map(|(z, s, ms)| format!("{z} {s} {ms}\n"))
        .collect();
    let py = r#"
import sys, datetime as dt
from zoneinfo import ZoneInfo
DAYS = {"Mon":0,"Tue":1,"Wed":2,"Thu":3,"Fri":4,"Sat":5,"Sun":6}
def inst(d, hm, tz):
    h, m = map(int, hm.split(":"))
    return dt.datetime(d.year, d.month, d.day, h, m, tzinfo=tz).timestamp()
for line in sys.stdin:
    zone, day, rng, ms = line.split()
    tz = ZoneInfo(zone); t = int(ms) / 1000
    a, b = rng.split("-")
    local = dt.datetime.fromtimestamp(t, tz).date()
    inside = False
    for back in range(0, 3):
        d = local - dt.timedelta(days=back)
        if d.weekday() != DAYS[day]:
            continue
        end_day = d + dt.timedelta(days=1) if b <= a else d
        s, e = inst(d, a, tz), inst(end_day, b, tz)
        if s <= t < e:
            inside = True
    print(1 if inside else 0)
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", py])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let answers: Vec<bool> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l == "1")
        .collect();
    assert_eq!(answers.len(), cases.len());
    let mut inside = 0;
    for ((z, s, ms), want) in cases.iter().zip(answers) {
        let (day, start, end) = parse_weekly(s).unwrap();
        let w = Window {
            name: "w".into(),
            providers: vec![],
            targets: vec![],
            when: When::Weekly(Weekly {
                day,
                start,
                end,
                tz: jiff::tz::TimeZone::get(z).unwrap(),
                tz_name: z.to_string(),
                spec: s.to_string(),
            }),
        };
        assert_eq!(
            w.active_at(*ms).is_some(),
            want,
            "{z} {s} at {}",
            jiff::Timestamp::from_millisecond(*ms).unwrap()
        );
        inside += usize::from(want);
    }
    assert!(
        inside > 100,
        "the cases must exercise windows, not only their absence: {inside}"
    );
}
