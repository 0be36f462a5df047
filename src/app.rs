//! The daemon: plan, scheduler, HTTP listener, and the signals that drive reload and stop.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::alerts::Alerts;
use crate::config::{self, ConfigError, Plan, Shard};
use crate::http::{self, Shared};
use crate::incidents::Incidents;
use crate::metrics::{Metrics, MetricsError};
use crate::pipeline::{Output, Pipeline};
use crate::probe::Probers;
use crate::scheduler::{Context, Runner, Scheduler};
use crate::state::Store;

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
    server: JoinHandle<()>,
    source: PathBuf,
    shard: Option<Shard>,
    /// Command-line settings that win over the file, on reloads too.
    pub overrides: Overrides,
    /// The alert engine and sinks (`None` without `[[alerts.sinks]]`).
    alerts: Option<Alerts>,
}

/// Settings given on the command line, applied over every plan loaded from the file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    pub listen: Option<std::net::SocketAddr>,
    pub lang: Option<crate::classify::Lang>,
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

impl Daemon {
    /// Binds the listener and starts probing every target of `plan`.
    pub async fn start(
        plan: Plan,
        shard: Option<Shard>,
        runner: Arc<dyn Runner>,
    ) -> Result<Daemon, AppError> {
        let plan = plan.shard(shard);
        let metrics = Arc::new(Metrics::with_histograms(plan.server.latency_histograms)?);
        let store = Arc::new(Store::new());
        let listener = http::bind(plan.server.listen).await?;
        let addr = listener.local_addr()?;
        let incidents = Arc::new(Incidents::new(
            &plan.server.state_dir,
            &plan.targets,
            metrics.clone(),
        ));
        let outputs: Vec<Arc<dyn Output>> = vec![incidents.clone()];
        let pipeline = Arc::new(Pipeline::new(store.clone(), metrics.clone(), outputs));
        let ctx = Arc::new(Context {
            runner: runner.clone(),
            rounds: pipeline,
            limit: Arc::new(Semaphore::new(plan.server.max_concurrency)),
        });
        let mut scheduler = Scheduler::new(ctx);
        let applied = scheduler.apply(&plan);
        let source = plan.source.clone();
        let plan_ref = Arc::new(plan);
        let shared = Arc::new(Shared {
            metrics,
            store,
            incidents,
            plan: RwLock::new(plan_ref.clone()),
            runner,
        });
        let alerts = Alerts::start(
            &plan_ref,
            addr,
            shared.incidents.clone(),
            shared.metrics.clone(),
        );
        let server = tokio::spawn(http::serve(listener, shared.clone()));
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
        let old_plan = self.shared.plan();
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
        let applied = self.scheduler.apply(&plan);
        if let Ok(mut p) = self.shared.plan.write() {
            *p = Arc::new(plan);
        }
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
        self.server.abort();
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
                let _ = self.reload();
            }
        }
        self.stop();
        Ok(())
    }
}

/// `payprobe run`: the daemon from a config file.
pub async fn run(
    path: PathBuf,
    shard: Option<Shard>,
    overrides: Overrides,
) -> Result<(), AppError> {
    let mut plan = config::load(&path)?;
    overrides.apply(&mut plan);
    let mut daemon = Daemon::start(plan, shard, Arc::new(Probers::system())).await?;
    daemon.overrides = overrides;
    daemon.run_until_signal().await
}

/// `payprobe probe-once`: one round of every (or one) target, concurrently under the cap.
pub async fn probe_once(
    plan: &Plan,
    only: Option<&str>,
) -> Result<Vec<crate::probe::Evidence>, String> {
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
    let limit = Arc::new(Semaphore::new(plan.server.max_concurrency));
    let rounds = targets.iter().map(|t| {
        let (probers, limit) = (probers.clone(), limit.clone());
        async move {
            let _permit = limit.acquire_owned().await.ok();
            let deadline = tokio::time::Instant::now() + t.timeout;
            probers.round(t, deadline).await
        }
    });
    Ok(futures_util::future::join_all(rounds)
        .await
        .into_iter()
        .flatten()
        .collect())
}
