//! The `payprobe` command line. Errors are reported here, once, with their context.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use payprobe::app::Overrides;
use payprobe::classify::Lang;
use payprobe::config::{self, Shard};

fn parse_act(s: &str) -> Result<&'static payprobe::demo::story::Act, String> {
    use payprobe::demo::story;
    story::act(s).ok_or_else(|| format!("no act {s:?}; acts: {}", story::keys().join(", ")))
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    Lang::parse(s)
        .ok_or_else(|| format!("unknown language {s:?}; use {}", Lang::alternatives(false)))
}

#[derive(Parser)]
#[command(
    name = "payprobe",
    version,
    about = "Watches payment gateways from the outside and says why they fail"
)]
struct Cli {
    /// Log format on stderr (the level comes from RUST_LOG, default "info").
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the daemon: probe every target, serve /metrics and the API.
    Run {
        #[arg(long, short)]
        config: PathBuf,
        /// Probe only the targets of shard K of N (stable hash of the name), e.g. 0/3.
        #[arg(long)]
        shard: Option<Shard>,
        /// Listen address, overriding [server] listen.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Language of remediation hints (en, zh-CN), overriding [server] lang.
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
    },
    /// Validate a config file: a line per target, or every error with its line and column.
    CheckConfig { file: PathBuf },
    /// Probe once and print the evidence (exit 0 all passed, 2 some failed).
    ProbeOnce {
        file: PathBuf,
        #[arg(long)]
        target: Option<String>,
        /// Print the evidence as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Start simulated gateways on loopback and probe them (no config, no internet).
    Demo {
        #[arg(long, default_value = config::DEFAULT_LISTEN)]
        listen: String,
        /// Language of remediation hints (en, zh-CN).
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
        /// Also send the demo's alerts to this URL (Alertmanager webhook payload v4).
        #[arg(long)]
        webhook: Option<url::Url>,
        /// Stop after this long (e.g. "5m"); by default the story repeats until SIGTERM.
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: Option<std::time::Duration>,
        /// Hold one act instead of playing the story (an act's key, or "showcase": several
        /// failures at once, for alert rules and dashboards).
        #[arg(long, value_parser = parse_act)]
        hold: Option<&'static payprobe::demo::story::Act>,
    },
    /// Alert sinks.
    Alerts {
        #[command(subcommand)]
        cmd: AlertsCmd,
    },
}

#[derive(Subcommand)]
enum AlertsCmd {
    /// Send a test notification to each sink (or one) and print what each answered
    /// (exit 0 all delivered, 2 some failed).
    Test {
        #[arg(long, short)]
        config: PathBuf,
        /// Only this sink.
        #[arg(long)]
        sink: Option<String>,
    },
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: journald and log files get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// glibc gives threads that allocate at once arenas of their own (up to eight per core) and
/// never moves free memory between them; tokio's blocking-pool threads (renders, lists, file
/// writes) each took one, and a 10,000-target outage peaked about 40 MiB higher for it
/// (docs/benchmarks.md). An operator's `MALLOC_ARENA_MAX` still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; called before any other thread
        // exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, payprobe::limits::MALLOC_ARENAS);
        }
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    init_logs(cli.log_format);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("payprobe: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = rt.block_on(dispatch(cli.cmd));
    // In-flight probes are dropped, not awaited: stop promptly on SIGTERM.
    rt.shutdown_timeout(payprobe::limits::SHUTDOWN_GRACE);
    code
}

async fn dispatch(cmd: Cmd) -> ExitCode {
    match cmd {
        Cmd::Run {
            config,
            shard,
            listen,
            lang,
        } => match payprobe::app::run(config, shard, Overrides { listen, lang }).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        },
        Cmd::CheckConfig { file } => check_config(&file),
        Cmd::ProbeOnce { file, target, json } => probe_once(&file, target.as_deref(), json).await,
        Cmd::Demo {
            listen,
            lang,
            webhook,
            duration,
            hold,
        } => demo(&listen, lang, webhook, duration, hold).await,
        Cmd::Alerts {
            cmd: AlertsCmd::Test { config, sink },
        } => alerts_test(&config, sink.as_deref()).await,
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("payprobe: {e}");
    ExitCode::FAILURE
}

/// Prints every config problem on its own `file:line:column: message` line (the format
/// editors and CI annotate), then a one-line summary.
fn config_failed(e: config::ConfigError, file: &std::path::Path) -> ExitCode {
    eprintln!("{e}");
    let n = e.problems().len();
    if n > 0 {
        eprintln!(
            "payprobe: {}: {n} problem{}",
            file.display(),
            if n == 1 { "" } else { "s" }
        );
    }
    ExitCode::FAILURE
}

/// `payprobe check-config`: the config's problems, or its warnings and what it would run, one line
/// each, so a reviewer sees what a change does before a reload.
fn check_config(file: &std::path::Path) -> ExitCode {
    let plan = match config::load(file) {
        Ok(p) => p,
        Err(e) => return config_failed(e, file),
    };
    for w in &plan.warnings {
        eprintln!(
            "{}:{}:{}: warning: {}",
            file.display(),
            w.line,
            w.column,
            w.message
        );
    }
    print_targets(&plan);
    print_sinks_and_windows(&plan);
    let n = plan.targets.len();
    println!(
        "{}: ok, {n} target{}",
        file.display(),
        if n == 1 { "" } else { "s" }
    );
    ExitCode::SUCCESS
}

/// One line per target: what it probes, how often, and its way out when not the default.
fn print_targets(plan: &config::Plan) {
    for t in &plan.targets {
        let checks: Vec<&str> = t.checks.iter().map(|c| c.as_str()).collect();
        // The way out, when it is not the default (never the proxy's credentials).
        let egress = if t.egress_label == "direct" {
            String::new()
        } else {
            format!(" egress={}", t.egress_label)
        };
        println!(
            "{}{} provider={} url={} checks={} interval={} timeout={}{egress}",
            t.name,
            if t.control { " (control)" } else { "" },
            t.provider,
            t.url,
            checks.join(","),
            humantime::format_duration(t.interval),
            humantime::format_duration(t.timeout),
        );
    }
}

/// One line per alert sink (its URL as shown, never its secret) and per maintenance
/// window, with its current or next occurrence, soonest first.
fn print_sinks_and_windows(plan: &config::Plan) {
    for s in &plan.alerts.sinks {
        println!(
            "sink {} kind={} url={} signed={} timeout={}",
            s.name,
            s.kind.as_str(),
            s.shown_url(),
            if s.secret.is_some() { "yes" } else { "no" },
            humantime::format_duration(s.timeout),
        );
    }
    let now = payprobe::maintenance::now_ms();
    for m in plan.maintenance.upcoming(now) {
        println!(
            "maintenance {} {}{} next={}..{}",
            m.name,
            m.recurrence,
            m.timezone.map_or(String::new(), |z| format!(" {z}")),
            m.start,
            m.end,
        );
    }
}

async fn probe_once(file: &std::path::Path, target: Option<&str>, json: bool) -> ExitCode {
    let plan = match config::load(file) {
        Ok(p) => p,
        Err(e) => return config_failed(e, file),
    };
    let evidence = match payprobe::app::probe_once(&plan, target).await {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    if json {
        match serde_json::to_string_pretty(&evidence) {
            Ok(s) => println!("{s}"),
            Err(e) => return fail(format!("cannot encode evidence: {e}")),
        }
    } else {
        for c in &evidence {
            let e = &c.observed;
            let what = match &c.failure {
                None => "ok".to_string(),
                Some(f) => format!("FAIL {:?} ({}): {}", f.kind, f.phase.as_str(), f.detail),
            };
            println!(
                "{} {} {:.3}s {}",
                e.target,
                e.check.as_str(),
                e.duration.as_secs_f64(),
                what
            );
            if let Some(s) = e.http.as_ref().and_then(|h| h.signature.as_ref()) {
                println!("  {}", signed_line(s));
            }
        }
    }
    if evidence.iter().all(|c| c.success()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// A signed probe's evidence on one line: request signed, answer verified, key serial,
/// clock skew.
fn signed_line(s: &payprobe::sign::SignEvidence) -> String {
    let mut out = format!(
        "signed {}: request signed={} by {}; answer {}, verification {}",
        s.kind.as_str(),
        if s.request_signed { "yes" } else { "no" },
        s.request_key,
        s.answer.as_str(),
        s.verification_mode.as_str()
    );
    if let Some(serial) = &s.answer_serial {
        out.push_str(&format!(", answer key serial {serial}"));
    }
    if let Some(skew) = s.clock_skew_seconds {
        out.push_str(&format!(", clock skew {skew:+}s"));
    }
    if let Some(p) = &s.problem {
        out.push_str(&format!(" ({p})"));
    }
    out
}

/// `payprobe alerts test`: one test notification per sink, straight (not through the
/// outbox), with each sink's answer.
async fn alerts_test(file: &std::path::Path, only: Option<&str>) -> ExitCode {
    let plan = match config::load(file) {
        Ok(p) => p,
        Err(e) => return config_failed(e, file),
    };
    let sinks: Vec<_> = plan
        .alerts
        .sinks
        .iter()
        .filter(|s| only.is_none_or(|n| s.name == n))
        .collect();
    if sinks.is_empty() {
        let names: Vec<&str> = plan.alerts.sinks.iter().map(|s| s.name.as_str()).collect();
        return fail(format!(
            "no sink to test{}; sinks: {}",
            only.map(|n| format!(" named {n:?}")).unwrap_or_default(),
            if names.is_empty() {
                "(none in [[alerts.sinks]])".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    let settings = payprobe::alerts::settings(&plan, plan.server.listen);
    let n = payprobe::alerts::test_notification(&plan, plan.server.listen);
    let mut all_ok = true;
    for s in sinks {
        let r =
            payprobe::alerts::deliver(s, &n, plan.alerts.resend_interval, &settings.external).await;
        match r {
            Ok(a) => println!(
                "{} ({}) {}: delivered, HTTP {} {}",
                s.name,
                s.kind.as_str(),
                s.shown_url(),
                a.status,
                a.body
                    .chars()
                    .take(payprobe::limits::SINK_ANSWER_EXCERPT_CHARS)
                    .collect::<String>()
                    .trim()
            ),
            Err(e) => {
                all_ok = false;
                println!("{} ({}): FAILED: {e}", s.name, s.kind.as_str());
            }
        }
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

async fn demo(
    listen: &str,
    lang: Option<Lang>,
    webhook: Option<url::Url>,
    duration: Option<std::time::Duration>,
    hold: Option<&'static payprobe::demo::story::Act>,
) -> ExitCode {
    let mut demo = match payprobe::demo::start(listen).await {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    if let Some(url) = webhook {
        // The demo's config gains a second webhook sink, after its own receiver's.
        let sink = format!(
            "\n[[alerts.sinks]]\nname = \"demo-webhook\"\nkind = \"webhook\"\nurl = {:?}\n",
            url.as_str()
        );
        let appended = std::fs::OpenOptions::new()
            .append(true)
            .open(&demo.config_path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, sink.as_bytes()));
        if let Err(e) = appended {
            return fail(format!("demo: cannot add the webhook sink: {e}"));
        }
        tracing::info!(url = %payprobe::config::redact(&url), "the demo's alerts also go to this webhook");
    }
    tracing::info!(url = %demo.receiver.url(), "the demo's alerts go to its own receiver, which logs one line per notification");
    tracing::info!(config = %demo.config_path.display(), "demo gateways started; open http://{listen}/ and /metrics");
    demo.play(hold);
    let overrides = Overrides { listen: None, lang };
    let daemon = payprobe::app::run(demo.config_path.clone(), None, overrides);
    let ended = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let code = tokio::select! {
        r = daemon => match r {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        },
        () = ended => {
            tracing::info!("demo: --duration is over, stopping");
            ExitCode::SUCCESS
        }
    };
    drop(demo);
    code
}
