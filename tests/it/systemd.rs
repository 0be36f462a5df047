//! deploy/payprobe.service through systemd's own tools: the exposure score
//! (`systemd-analyze security --offline=yes`), `systemd-analyze verify`, and the
//! SystemCallFilter= against the syscalls payprobe makes (strace), since no systemd runs as
//! PID 1 here to enforce it.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::ops::{root, run};

fn exposure(unit: &Path) -> f64 {
    let (_, text) = run(
        "systemd-analyze",
        &["security", "--offline=yes", unit.to_str().unwrap()],
    );
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    let score = line
        .rsplit(':')
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    score.parse().unwrap_or_else(|_| panic!("score in {line}"))
}

#[test]
fn systemd_unit_scores_at_most_2_verifies_and_reloads_with_sighup() {
    let unit = root("deploy/payprobe.service");
    let score = exposure(&unit);
    assert!(
        score <= 2.0,
        "systemd-analyze security: exposure {score} > 2.0"
    );
    let text = std::fs::read_to_string(&unit).unwrap();
    let keys: Vec<(&str, &str)> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect();
    let get = |k: &str| {
        keys.iter()
            .filter(|(key, _)| *key == k)
            .map(|(_, v)| *v)
            .collect::<Vec<_>>()
    };
    assert_eq!(get("ExecReload"), ["/bin/kill -HUP $MAINPID"]);
    assert_eq!(
        get("AmbientCapabilities"),
        ["CAP_NET_RAW"],
        "ping needs CAP_NET_RAW"
    );
    assert_eq!(get("CapabilityBoundingSet"), ["CAP_NET_RAW"]);
    // A weaker unit scores worse: the measurement can fail.
    let weak = tempfile::tempdir().unwrap();
    let weak_unit = weak.path().join("payprobe.service");
    let stripped: String = text
        .lines()
        .filter(|l| !l.starts_with("SystemCallFilter") && !l.starts_with("Protect"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&weak_unit, stripped).unwrap();
    assert!(
        exposure(&weak_unit) > 2.0,
        "the score does not react to hardening"
    );

    // `verify` needs the binaries to exist: point the unit at the one cargo built.
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("payprobe.service");
    std::fs::write(
        &local,
        text.replace("/usr/bin/payprobe", env!("CARGO_BIN_EXE_payprobe")),
    )
    .unwrap();
    let (ok, out) = run("systemd-analyze", &["verify", local.to_str().unwrap()]);
    assert!(
        ok && out.trim().is_empty(),
        "systemd-analyze verify:\n{out}"
    );
}

/// The syscalls of a systemd syscall group, nested groups expanded (as systemd-analyze
/// lists them for this systemd version).
fn syscall_group(name: &str, depth: u32) -> BTreeSet<String> {
    assert!(depth < 5, "syscall groups nest too deep at {name}");
    let (ok, text) = run("systemd-analyze", &["syscall-filter", name]);
    assert!(ok, "systemd-analyze syscall-filter {name}:\n{text}");
    let mut out = BTreeSet::new();
    for l in text.lines().skip(1).map(str::trim) {
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if l.starts_with('@') {
            out.extend(syscall_group(l, depth + 1));
        } else {
            out.insert(l.to_string());
        }
    }
    out
}

/// What the unit's SystemCallFilter= lines allow: the allow-list minus every `~` deny-list.
fn unit_allowed_syscalls(unit: &str) -> BTreeSet<String> {
    let mut allowed = BTreeSet::new();
    for v in unit
        .lines()
        .filter_map(|l| l.strip_prefix("SystemCallFilter="))
    {
        match v.strip_prefix('~') {
            Some(deny) => {
                for g in deny.split_whitespace() {
                    for s in syscall_group(g, 0) {
                        allowed.remove(&s);
                    }
                }
            }
            None => {
                for g in v.split_whitespace() {
                    allowed.extend(syscall_group(g, 0));
                }
            }
        }
    }
    allowed
}

/// Runs payprobe under `strace -f -c` and returns the names of the syscalls it made.
fn traced_syscalls(args: &[&str], secs: u64, dir: &Path) -> BTreeSet<String> {
    let summary = dir.join(format!("strace-{}.txt", args[0]));
    let mut child = Command::new("strace")
        .args(["-f", "-qq", "-c", "-U", "name", "-o"])
        .arg(&summary)
        .arg(env!("CARGO_BIN_EXE_payprobe"))
        .args(args)
        .env("STATE_DIRECTORY", dir.join("state"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("strace not runnable ({e}); tests/run.sh installs strace"));
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end && child.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if child.try_wait().unwrap().is_none() {
        // SIGHUP (a reload) then SIGTERM: both paths are part of the service's life.
        for sig in ["-HUP", "-TERM"] {
            let pid = std::fs::read_dir("/proc")
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .find(|p| {
                    std::fs::read_to_string(format!("/proc/{p}/stat"))
                        .is_ok_and(|s| s.split_whitespace().nth(3) == Some(&child.id().to_string()))
                });
            if let Some(pid) = pid {
                let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    let _ = child.wait();
    let text = std::fs::read_to_string(&summary).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| {
            w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .filter(|w| !w.is_empty() && *w != "total" && *w != "syscall")
        .map(str::to_string)
        .collect()
}

/// The unit's SystemCallFilter= allows every syscall payprobe makes: the daemon (the demo,
/// scraped, reloaded by SIGHUP, stopped by SIGTERM) and a round of every check (pings too).
/// There is no systemd as PID 1 here to enforce the filter, so it is checked against the
/// syscalls strace sees.
#[test]
fn systemd_syscall_filter_allows_every_syscall_payprobe_makes() {
    let unit = std::fs::read_to_string(root("deploy/payprobe.service")).unwrap();
    let allowed = unit_allowed_syscalls(&unit);
    assert!(
        allowed.contains("read") && !allowed.contains("setrlimit") && !allowed.contains("mount")
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("all-checks.toml");
    std::fs::write(
        &cfg,
        "[[targets]]\nname = \"local\"\nurl = \"http://localhost:1/\"\nchecks = [\"dns\", \"tcp\", \"ping\", \"http\"]\n[targets.ping]\ncount = 2\nspacing = \"50ms\"\n",
    )
    .unwrap();
    let mut used = traced_syscalls(&["probe-once", cfg.to_str().unwrap()], 20, dir.path());
    let daemon = traced_syscalls(&["demo", "--listen", "127.0.0.1:0"], 8, dir.path());
    assert!(
        daemon.contains("accept4") || daemon.contains("epoll_wait"),
        "{daemon:?}"
    );
    used.extend(daemon);
    assert!(used.len() > 20, "strace saw too little: {used:?}");
    let denied: Vec<&String> = used.iter().filter(|s| !allowed.contains(*s)).collect();
    assert!(
        denied.is_empty(),
        "deploy/payprobe.service's SystemCallFilter= would refuse (EPERM) payprobe's {denied:?}"
    );
}
