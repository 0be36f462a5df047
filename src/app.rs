//! The daemon: plan, scheduler, HTTP listener, and the signals that drive reload and stop.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tokio::sync::Semaphore;

use crate::alerts::Alerts;
use crate::config::{self, ConfigError, Plan, Shard};
use crate::http::{self, Shared};
use crate::judge::Judge;
use crate::metrics::{Metrics, MetricsError};
use crate::pipeline::Pipeline;
use crate::probe::Probers;
use crate::scheduler::{Runner, Scheduler, TaskEnv};
use crate::state::Store;
use crate::supervise::{self, Supervised};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A running daemon. Tests start one in-process; `payprobe run` adds signal handling.
pub struct Daemon {
    pub addr: std::net::SocketAddr,
    pub shared: Arc<Shared>,
    scheduler: Scheduler,
    server: Supervised,
    source: PathBuf,
    shard: Option<Shard>,
    /// Command-line settings that win over the file, on reloads too.
    pub overrides: Overrides,
    /// The alert engine and sinks (`None` without `[[alerts.sinks]]`).
    alerts: Option<Alerts>,
    /// The `max_concurrency` cap shared by scheduled rounds and `/probe`.
    limit: Arc<Semaphore>,
    /// Closes the incidents of removed targets once their grace period is over.
    sweeper: Supervised,
    /// The availability rollup writer (`src/availability/`).
    rollups: Supervised,
    /// The judge and the outputs' queues (flushed at a stop).
    pipeline: Arc<Pipeline>,
}

/// Settings given on the command line, applied over every plan loaded from the file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    pub listen: Option<std::net::SocketAddr>,
    pub lang: Option<crate::vocab::Lang>,
}

impl Overrides {
    pub fn apply(&self, plan: &mut Plan) {
        if let Some(l) = self.listen {
            plan.server.listen = l;
        }
        if let Some(l) = self.lang {
            plan.server.lang = l;
        }
    }
}

mod outputs;
use outputs::Outputs;

impl Daemon {
    /// Binds the listener and starts probing every target of `plan`.
    pub async fn start(
        plan: Plan,
        shard: Option<Shard>,
        runner: Arc<dyn Runner>,
    ) -> Result<Daemon, AppError> {
        let plan = Arc::new(plan.shard(shard));
        let metrics = Arc::new(Metrics::with_histograms(plan.server.latency_histograms)?);
        let judge = Arc::new(Judge::new(Arc::new(Store::new())));
        let listener = http::bind(plan.server.listen).await?;
        let addr = listener.local_addr()?;
        let outs = Outputs::start(&plan, &metrics).await;
        let limit = Arc::new(Semaphore::new(plan.server.max_concurrency));
        let shared = readers(&plan, &metrics, &judge, &runner, &limit, &outs);
        let pipeline = Arc::new(Pipeline::new(judge, metrics, outs.outputs));
        let ctx = Arc::new(TaskEnv {
            runner,
            rounds: pipeline.clone(),
            limit: limit.clone(),
        });
        let mut scheduler = Scheduler::new(ctx);
        let applied = scheduler.apply(&plan);
        let alerts = Alerts::start(
            &plan,
            addr,
            shared.incidents.clone(),
            shared.metrics.clone(),
            shared.rejected.clone(),
            outs.maintenance,
        );
        let server = serve(listener, &shared);
        let sweeper = sweep(&shared);
        let source = plan.source.clone();
        tracing::info!(%addr, targets = applied.added, config = %source.display(), "payprobe listening");
        Ok(Daemon {
            addr,
            shared,
            scheduler,
            server,
            source,
            shard,
            overrides: Overrides::default(),
            alerts,
            limit,
            sweeper,
            rollups: outs.rollups,
            pipeline,
        })
    }

    /// Re-reads the config file. A bad file changes nothing but the reload gauge.
    pub fn reload(&mut self) -> Result<(), ConfigError> {
        let result = config::load(&self.source).map(|p| p.shard(self.shard));
        let mut plan = match result {
            Ok(p) => p,
            Err(e) => {
                self.shared.metrics.config_reload_ok.set(0.0);
                tracing::error!(error = %e, "reload failed; the previous configuration keeps running");
                return Err(e);
            }
        };
        self.overrides.apply(&mut plan);
        log_warnings(&plan);
        let old_plan = self.shared.plan();
        config::carry_over(old_plan.as_deref(), &mut plan);
        if old_plan.as_ref().is_some_and(|o| o.alerts != plan.alerts) {
            tracing::warn!("a change of [alerts] takes effect only after a restart");
        }
        let old = old_plan.map(|p| p.server.clone());
        if old.as_ref().map(|s| s.listen) != Some(plan.server.listen) {
            tracing::warn!(listen = %plan.server.listen, "a new `listen` address takes effect only after a restart");
        }
        if old.as_ref().map(|s| s.latency_histograms) != Some(plan.server.latency_histograms) {
            tracing::warn!("a change of `latency_histograms` takes effect only after a restart");
        }
        if let Some(old) = old
            .map(|s| s.max_concurrency)
            .filter(|o| *o != plan.server.max_concurrency)
        {
            resize(&self.limit, old, plan.server.max_concurrency);
        }
        self.shared
            .guards
            .probe_rate
            .set(plan.server.probe_rate, plan.server.probe_burst);
        let applied = self.scheduler.apply(&plan);
        // Targets a previous reload removed and this one brings back continue their incidents.
        self.shared.incidents.adopt(&plan.targets);
        self.shared.incidents.speak(plan.server.lang);
        self.shared
            .maintenance
            .apply(&plan.maintenance, plan.target_providers());
        self.shared.availability.set_targets(&plan.targets);
        // The plan is one `Arc`: a writer that panicked cannot have left it half-written, so
        // a poisoned lock is taken over, and said, rather than keeping the old plan while
        // reporting success (issue 15).
        let mut slot = crate::sync::write(&self.shared.plan, "plan_lock");
        *slot = Arc::new(plan);
        drop(slot);
        self.shared.metrics.config_reload_ok.set(1.0);
        tracing::info!(
            added = applied.added,
            removed = applied.removed,
            changed = applied.changed,
            kept = applied.kept,
            "configuration reloaded"
        );
        Ok(())
    }

    /// Stops probing and serving.
    pub fn stop(mut self) {
        self.scheduler.stop();
        self.rollups.stop();
        self.shared.availability.flush(&self.shared.metrics);
        self.server.stop();
        self.sweeper.stop();
        self.alerts.take();
    }

    /// Runs until SIGTERM or SIGINT; SIGHUP reloads.
    pub async fn run_until_signal(mut self) -> Result<(), AppError> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = signal(SignalKind::hangup())?;
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        loop {
            // The scheduler's supervisor runs here too: a target task that ended is
            // restarted by `supervise` itself.
            let reload = tokio::select! {
                _ = hup.recv() => true,
                _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
                _ = int.recv() => { tracing::info!("SIGINT: stopping"); break; }
                () = self.scheduler.supervise() => false,
            };
            if reload {
                // A stop signal while the file settles stops at once.
                tokio::select! {
                    () = settle(&self.source) => { let _ = self.reload(); }
                    _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
                    _ = int.recv() => { tracing::info!("SIGINT: stopping"); break; }
                }
            }
        }
        self.scheduler.stop();
        // What was judged reaches every output (availability's last rounds) before they stop.
        let flushed = self.pipeline.flush();
        if tokio::time::timeout(crate::limits::OUTPUT_FLUSH_AT_STOP, flushed)
            .await
            .is_err()
        {
            tracing::warn!("outputs still busy at stop; their last rounds are not kept");
        }
        self.stop();
        Ok(())
    }
}

/// Waits until the config file has stopped changing (same bytes for
/// [`crate::limits::RELOAD_SETTLE`]), at most [`crate::limits::RELOAD_SETTLE_MAX`]: a file
/// still being written, even one that is valid TOML when cut short, must not be applied.
async fn settle(path: &std::path::Path) {
    use crate::limits::{RELOAD_SETTLE, RELOAD_SETTLE_MAX};
    let read = || async { tokio::fs::read(path).await.ok() };
    let started = tokio::time::Instant::now();
    let mut last = read().await;
    loop {
        tokio::time::sleep(RELOAD_SETTLE).await;
        let now = read().await;
        if now == last {
            return;
        }
        if started.elapsed() >= RELOAD_SETTLE_MAX {
            tracing::warn!(path = %path.display(), "the config file is still changing; reloading what it holds now");
            return;
        }
        tracing::info!(path = %path.display(), "the config file is being written; reload waits until it is stable");
        last = now;
    }
}

/// Applies a new `max_concurrency` to the running cap. Growing is immediate; shrinking
/// forgets the free permits now and takes the rest as the probes holding them finish (a
/// probe in flight is never cut short for it).
fn resize(limit: &Arc<Semaphore>, old: usize, new: usize) {
    if new > old {
        limit.add_permits(new - old);
    } else {
        let want = old - new;
        let now = limit.forget_permits(want);
        if let Some(rest) = u32::try_from(want - now).ok().filter(|r| *r > 0) {
            let limit = limit.clone();
            tokio::spawn(async move {
                if let Ok(p) = limit.acquire_many_owned(rest).await {
                    p.forget();
                }
            });
        }
    }
    tracing::info!(old, new, "max_concurrency changed");
}

/// `payprobe run`: the daemon from a config file.
pub async fn run(
    path: PathBuf,
    shard: Option<Shard>,
    overrides: Overrides,
) -> Result<(), AppError> {
    let mut plan = config::load(&path)?;
    overrides.apply(&mut plan);
    log_warnings(&plan);
    // Probes and the listener share the file budget: ask for room before either starts.
    if let Some(n) = http::conns::raise_nofile() {
        tracing::info!(
            open_files = n,
            listener_connections = http::conns::budget(),
            "file limits"
        );
    }
    let mut daemon = Daemon::start(plan, shard, Arc::new(Probers::system())).await?;
    daemon.overrides = overrides;
    daemon.run_until_signal().await
}

/// `payprobe probe-once`: one round of every (or one) target, concurrently under the cap.
/// Config warnings (a key file others can read), at each load.
fn log_warnings(plan: &Plan) {
    for w in &plan.warnings {
        let place = format!("{}:{}:{}", plan.source.display(), w.line, w.column);
        tracing::warn!(place = %place, "{}", w.message);
    }
}

pub async fn probe_once(
    plan: &Plan,
    only: Option<&str>,
) -> Result<Vec<crate::checked::Checked>, String> {
    let targets: Vec<_> = plan
        .targets
        .iter()
        .filter(|t| only.is_none_or(|n| t.name == n))
        .cloned()
        .collect();
    if let (Some(n), true) = (only, targets.is_empty()) {
        let names: Vec<&str> = plan.targets.iter().map(|t| t.name.as_str()).collect();
        return Err(format!(
            "no target named {n:?}; targets: {}",
            names.join(", ")
        ));
    }
    let probers = Probers::system();
    // The scheduled rounds' judging stage, so `probe-once` says what the daemon would.
    let judge = Judge::default();
    let limit = Arc::new(Semaphore::new(plan.server.max_concurrency));
    let rounds = targets.iter().map(|t| {
        let (probers, limit, judge) = (probers.clone(), limit.clone(), &judge);
        async move {
            let _permit = limit.acquire_owned().await.ok();
            let started = tokio::time::Instant::now();
            let deadline = started + t.timeout;
            // Like a scheduled round (src/scheduler.rs): a panic is payprobe's failure,
            // reported as evidence, never a crash of the command.
            let round = std::panic::AssertUnwindSafe(probers.round(t, deadline));
            let observed = match futures_util::FutureExt::catch_unwind(round).await {
                Ok(r) => r,
                Err(p) => crate::scheduler::panicked_round(t, started.elapsed(), p.as_ref()),
            };
            judge.conditions(t, observed, std::time::SystemTime::now())
        }
    });
    Ok(futures_util::future::join_all(rounds)
        .await
        .into_iter()
        .flatten()
        .collect())
}

/// What the listener's readers share (`src/http`): the plan in force, the metrics, the
/// store and the outputs they read, and what `/probe` needs to run and judge a round as
/// the scheduler does, under the same `max_concurrency` cap.
fn readers(
    plan: &Arc<Plan>,
    metrics: &Arc<Metrics>,
    judge: &Arc<Judge>,
    runner: &Arc<dyn Runner>,
    limit: &Arc<Semaphore>,
    outs: &Outputs,
) -> Arc<Shared> {
    Arc::new(Shared {
        metrics: metrics.clone(),
        store: judge.store().clone(),
        incidents: outs.incidents.clone(),
        history: outs.history.clone(),
        maintenance: outs.maintenance.clone(),
        availability: outs.availability.clone(),
        plan: RwLock::new(plan.clone()),
        runner: runner.clone(),
        judge: judge.clone(),
        limit: limit.clone(),
        guards: http::Guards::new(&plan.server),
        rejected: Arc::new(crate::alerts::Rejected::default()),
    })
}

/// The listener's accept loop, supervised.
fn serve(listener: tokio::net::TcpListener, shared: &Arc<Shared>) -> supervise::Supervised {
    let (listener, sh) = (Arc::new(listener), shared.clone());
    let conns = http::conns::Conns::new(http::conns::budget());
    supervise::spawn("listener", shared.metrics.clone(), move || {
        http::serve(listener.clone(), sh.clone(), conns.clone())
    })
}

/// Closes removed targets' incidents once their grace is over, and flushes summed log
/// lines, every `limits::INCIDENT_SWEEP_EVERY`; supervised.
fn sweep(shared: &Arc<Shared>) -> supervise::Supervised {
    let inc = shared.incidents.clone();
    supervise::spawn("incident_sweeper", shared.metrics.clone(), move || {
        let inc = inc.clone();
        async move {
            loop {
                tokio::time::sleep(crate::limits::INCIDENT_SWEEP_EVERY).await;
                inc.sweep(crate::timefmt::unix_ms(std::time::SystemTime::now()));
                crate::incidents::flush_logs();
                crate::judge::flush_logs();
                crate::pipeline::flush_logs();
            }
        }
    })
}
