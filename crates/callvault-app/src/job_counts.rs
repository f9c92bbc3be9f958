//! The jobs a process runs, by kind: how many are running now and how many finished, by
//! outcome. Counted here, shown by whichever process serves `/metrics` (a web replica or a
//! worker).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    kind: String,
    outcome: String,
}

/// One running job in the gauge, until dropped (however the job ends, a shutdown included).
pub struct Running(Gauge);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[derive(Clone, Default)]
pub struct JobCounts {
    running: Family<KindLabels, Gauge>,
    finished: Family<OutcomeLabels, Counter>,
}

impl JobCounts {
    /// A job starts here; it counts as running until the value returned is dropped.
    #[must_use]
    pub fn started(&self, kind: &str) -> Running {
        let gauge = self
            .running
            .get_or_create(&KindLabels { kind: kind.into() })
            .clone();
        gauge.inc();
        Running(gauge)
    }

    /// A job this process ran has ended: `done`, `retry` or `dead`.
    pub fn finished(&self, kind: &str, outcome: &str) {
        self.finished
            .get_or_create(&OutcomeLabels {
                kind: kind.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Adds the counts to a registry (they stay shared with this value).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "jobs_running",
            "Background jobs running in this process",
            self.running.clone(),
        );
        registry.register(
            "jobs",
            "Background jobs finished, by outcome",
            self.finished.clone(),
        );
    }
}
