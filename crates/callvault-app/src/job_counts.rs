//! How many jobs finished, by kind and outcome: counted here, shown by whichever process
//! serves `/metrics` (a web replica or a worker).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    outcome: String,
}

#[derive(Clone, Default)]
pub struct JobCounts(Family<JobLabels, Counter>);

impl JobCounts {
    pub fn finished(&self, kind: &str, outcome: &str) {
        self.0
            .get_or_create(&JobLabels {
                kind: kind.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Adds the counts to a registry (they stay shared with this value).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "jobs",
            "Background jobs finished, by outcome",
            self.0.clone(),
        );
    }
}
