//! The outputs a daemon starts with (see `Daemon::start`).

use std::sync::Arc;

use crate::availability::Availability;
use crate::config::Plan;
use crate::history::History;
use crate::incidents::Incidents;
use crate::metrics::Metrics;
use crate::pipeline::Output;
use crate::supervise;

/// The outputs a daemon feeds, built and started: each is also a reader's source (the API,
/// the page), so the daemon keeps them besides handing them to the pipeline.
pub(super) struct Outputs {
    pub(super) incidents: Arc<Incidents>,
    pub(super) history: Arc<History>,
    pub(super) maintenance: Arc<crate::maintenance::Live>,
    pub(super) availability: Arc<Availability>,
    pub(super) rollups: supervise::Supervised,
    /// The pipeline's list, in the order each round is offered.
    pub(super) outputs: Vec<Arc<dyn Output>>,
}

impl Outputs {
    /// Restores incidents and availability from `state_dir`, starts the rollup writer and
    /// the incident series; the metrics are the first output.
    pub(super) async fn start(plan: &Plan, metrics: &Arc<Metrics>) -> Outputs {
        let incidents = Arc::new(Incidents::new(
            &plan.server.state_dir,
            &plan.targets,
            metrics.clone(),
        ));
        let history = Arc::new(History::default());
        let maintenance = crate::maintenance::Live::new(&plan.maintenance, plan.target_providers());
        incidents.watch_maintenance(maintenance.clone());
        incidents.speak(plan.server.lang);
        let availability =
            Availability::open(&plan.server.state_dir, &plan.targets, maintenance.clone());
        metrics.expose(maintenance.clone());
        metrics.expose(availability.clone());
        let rollups = crate::availability::start_writer(
            availability.clone(),
            metrics.clone(),
            history.clone(),
        )
        .await;
        crate::metrics::IncidentSeries::follow(&incidents, metrics.clone());
        let outputs: Vec<Arc<dyn Output>> = vec![
            metrics.clone(),
            incidents.clone(),
            history.clone(),
            availability.clone(),
        ];
        Outputs {
            incidents,
            history,
            maintenance,
            availability,
            rollups,
            outputs,
        }
    }
}
