//! The knowledge base's gauges, read from the live base at every scrape: how much is
//! served, whether the search index is built, and when the base was last (re)loaded;
//! and how its searches went.

use std::fmt;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use tenet_server::prometheus_client::collector::Collector;
use tenet_server::prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use tenet_server::prometheus_client::metrics::MetricType;
use tenet_server::prometheus_client::metrics::counter::ConstCounter;
use tenet_server::prometheus_client::metrics::gauge::ConstGauge;
use tenet_server::prometheus_client::registry::Unit;

use super::Knowledge;

/// `tenet_index_documents`, `tenet_index_sections`, `tenet_index_ready` and
/// `tenet_index_last_update_timestamp_seconds` (index age in PromQL:
/// `time() - tenet_index_last_update_timestamp_seconds`); `tenet_searches_total` by
/// `outcome` (`answered`, `weak`, `none`): the share of questions the standards leave
/// unanswered is `sum(rate(tenet_searches_total{outcome!="answered"}[1d])) /
/// sum(rate(tenet_searches_total[1d]))`.
pub struct IndexCollector(pub Arc<Knowledge>);

impl fmt::Debug for IndexCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IndexCollector")
    }
}

fn gauge<N>(encoder: &mut DescriptorEncoder, name: &str, help: &str, unit: Option<&Unit>, value: N) -> fmt::Result
where
    ConstGauge<N>: EncodeMetric,
{
    let gauge = ConstGauge::new(value);
    gauge.encode(encoder.encode_descriptor(name, help, unit, gauge.metric_type())?)
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Collector for IndexCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let base = self.0.base();
        let documents = base.documents();
        let sections: usize = documents.iter().map(|d| d.sections.len()).sum();
        let loaded = base.loaded_at().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        gauge(&mut encoder, "tenet_index_documents", "Documents served.", None, count(documents.len()))?;
        gauge(&mut encoder, "tenet_index_sections", "Sections of the documents served.", None, count(sections))?;
        let searches = &self.0.searches;
        let (answered, weak, none) = (searches.answered(), searches.weak(), searches.unanswered());
        let mut family = encoder.encode_descriptor(
            "tenet_searches",
            "Searches of the standards (the search_stdlib tool and the web page's search) by outcome: answered; weak, no hit says half of what was asked; none, no hits.",
            None,
            MetricType::Counter,
        )?;
        for (outcome, n) in [("answered", answered), ("weak", weak), ("none", none)] {
            ConstCounter::new(n).encode(family.encode_family(&[("outcome", outcome)])?)?;
        }
        let ready = i64::from(base.is_indexed());
        gauge(&mut encoder, "tenet_index_ready", "Whether the search index is built (1) or not yet (0).", None, ready)?;
        gauge(
            &mut encoder,
            "tenet_index_last_update_timestamp",
            "When the knowledge base was last loaded or reloaded, in Unix time.",
            Some(&Unit::Seconds),
            loaded,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::Limits;
    use tenet_kb::{KnowledgeBase, Root};
    use tenet_server::Metrics;

    #[test]
    fn the_gauges_read_the_live_base() {
        let base = KnowledgeBase::load(&[Root::Builtin]).unwrap();
        let documents = base.documents().len();
        let sections: usize = base.documents().iter().map(|d| d.sections.len()).sum();
        let knowledge =
            Arc::new(Knowledge::new(base, Limits { default_max_tokens: 100, max_tokens_cap: 100, cache_ttl: None }));
        let metrics = Metrics::new();
        metrics.register_collector(Box::new(IndexCollector(knowledge.clone())));
        let value = |text: &str, name: &str| -> f64 {
            text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap()
        };
        let text = metrics.encode();
        assert!(documents > 0 && sections > documents, "{documents} documents, {sections} sections");
        assert_eq!(value(&text, "tenet_index_documents"), documents as f64);
        assert_eq!(value(&text, "tenet_index_sections"), sections as f64);
        assert_eq!(value(&text, "tenet_index_ready"), 0.0);
        let now = std::time::SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
        let loaded = value(&text, "tenet_index_last_update_timestamp_seconds");
        assert!((now - 60.0..=now).contains(&loaded), "{loaded} vs {now}");
        knowledge.base().build_index().unwrap();
        assert_eq!(value(&metrics.encode(), "tenet_index_ready"), 1.0);
    }
}
