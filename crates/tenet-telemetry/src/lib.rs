//! Tenet's request spans, exported to an OpenTelemetry collector over OTLP/HTTP
//! (protobuf, or JSON), through the maintained `opentelemetry` crates.
//!
//! [`OtlpSink`] is a [`SpanSink`] for a [`tenet_server::Server`]: the server makes one
//! span per request (continuing the caller's `traceparent`, or starting a trace) and
//! one per request made on its behalf (a gateway's upstream call); the sink samples
//! them ([`Sampler`], by OpenTelemetry's sampler names) and hands the sampled ones to
//! the SDK's batch processor, which sends them from its own thread. Recording never
//! waits: when the queue is full (a collector that is down or slow), spans are
//! dropped, and the SDK says so in a warning.
//!
//! The standard environment variables configure it, as the OpenTelemetry
//! specification says: the endpoint, headers, timeout and protocol
//! (`OTEL_EXPORTER_OTLP_*`), the batching (`OTEL_BSP_*`), the resource
//! (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`), the sampler
//! (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`). [`check_environment`] refuses
//! values the SDK would silently ignore.
//!
//! ```
//! use tenet_telemetry::Sampler;
//!
//! // OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.01
//! let sampler = Sampler::from_names("parentbased_traceidratio", Some("0.01")).unwrap();
//! assert_eq!(sampler, Sampler::ParentBased(Box::new(Sampler::TraceIdRatio(0.01))));
//! assert!(Sampler::from_names("sometimes", None).is_err());
//! assert!(Sampler::from_names("traceidratio", Some("1.5")).is_err());
//! ```

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::{SpanContext, SpanKind as OtelKind, Status, TraceFlags, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SpanData, SpanEvents, SpanLinks, SpanProcessor as _,
};
use tenet_server::protocol::{TraceContext, TraceId};
use tenet_server::spans::{AttributeValue, FinishedSpan, SpanKind, SpanSink};

/// A bad telemetry setting, named: the server refuses to start with it.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// A setting (an `OTEL_*` variable, or an option) that cannot be used.
    #[error("{name}: {message}")]
    Setting {
        /// The variable or option.
        name: String,
        /// What is wrong with its value.
        message: String,
    },
    /// The exporter could not be made.
    #[error("the OTLP exporter: {0}")]
    Exporter(String),
}

fn setting(name: &str, message: impl Into<String>) -> TelemetryError {
    TelemetryError::Setting { name: name.to_owned(), message: message.into() }
}

/// Which requests are recorded: OpenTelemetry's samplers, by their
/// `OTEL_TRACES_SAMPLER` names.
#[derive(Debug, Clone, PartialEq)]
pub enum Sampler {
    /// Every request (`always_on`).
    AlwaysOn,
    /// None (`always_off`).
    AlwaysOff,
    /// A share of traces, decided by the trace id so that every service of a trace
    /// decides alike (`traceidratio`, the share in `OTEL_TRACES_SAMPLER_ARG`).
    TraceIdRatio(f64),
    /// As the caller decided (its `traceparent`'s sampled flag), and by the inner
    /// sampler for requests that start a trace (`parentbased_*`).
    ParentBased(Box<Sampler>),
}

impl Default for Sampler {
    /// `parentbased_always_on`, the specification's default.
    fn default() -> Self {
        Sampler::ParentBased(Box::new(Sampler::AlwaysOn))
    }
}

impl Sampler {
    /// The names `OTEL_TRACES_SAMPLER` takes that this sampler understands.
    pub const NAMES: [&'static str; 6] = [
        "always_on",
        "always_off",
        "traceidratio",
        "parentbased_always_on",
        "parentbased_always_off",
        "parentbased_traceidratio",
    ];

    /// The sampler `OTEL_TRACES_SAMPLER` names, with `OTEL_TRACES_SAMPLER_ARG` (the
    /// ratio, 0 to 1; 1 when absent).
    ///
    /// # Errors
    /// An unknown name, or a ratio that is not a number from 0 to 1.
    pub fn from_names(name: &str, arg: Option<&str>) -> Result<Self, TelemetryError> {
        let ratio = || match arg.map(str::trim).filter(|a| !a.is_empty()) {
            None => Ok(1.0),
            Some(text) => match text.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
                _ => Err(setting("OTEL_TRACES_SAMPLER_ARG", format!("{text:?} is not a ratio from 0 to 1"))),
            },
        };
        Ok(match name.trim() {
            "always_on" => Sampler::AlwaysOn,
            "always_off" => Sampler::AlwaysOff,
            "traceidratio" => Sampler::TraceIdRatio(ratio()?),
            "parentbased_always_on" => Sampler::default(),
            "parentbased_always_off" => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
            "parentbased_traceidratio" => Sampler::ParentBased(Box::new(Sampler::TraceIdRatio(ratio()?))),
            other => {
                return Err(setting(
                    "OTEL_TRACES_SAMPLER",
                    format!("{other:?} is not a sampler; one of: {}", Self::NAMES.join(", ")),
                ));
            }
        })
    }

    /// Whether a request of `trace_id`, whose caller sent `caller`, is recorded.
    pub fn decide(&self, trace_id: TraceId, caller: Option<&TraceContext>) -> bool {
        match self {
            Sampler::AlwaysOn => true,
            Sampler::AlwaysOff => false,
            Sampler::TraceIdRatio(ratio) if *ratio >= 1.0 => true,
            Sampler::TraceIdRatio(ratio) => {
                // The trace id's last 8 bytes as a number, against the ratio of 2^63
                // (what OpenTelemetry's SDKs compare), so that all decide alike. (At
                // 1.0 the bound, 2^63 as a float, would leave out the largest ids.)
                let bytes = trace_id.to_bytes();
                let mut low = [0u8; 8];
                low.copy_from_slice(&bytes[8..]);
                let value = u64::from_be_bytes(low) >> 1;
                (value as f64) < ratio * (1u64 << 63) as f64
            }
            Sampler::ParentBased(root) => match caller {
                Some(caller) => caller.sampled(),
                None => root.decide(trace_id, None),
            },
        }
    }
}

/// How spans travel to the collector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/HTTP with protobuf bodies (`http/protobuf`), the default.
    #[default]
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies (`http/json`).
    HttpJson,
}

/// What the exporter needs to start.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// The collector's base URL (`http://collector:4318`); `/v1/traces` is added.
    /// `None`: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is, else
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` plus `/v1/traces`, else `http://localhost:4318/v1/traces`.
    pub endpoint: Option<String>,
    /// Protobuf or JSON.
    pub protocol: Protocol,
    /// Which requests are recorded.
    pub sampler: Sampler,
    /// `service.name` (unless `OTEL_SERVICE_NAME` sets it).
    pub service_name: String,
    /// `service.version`.
    pub service_version: String,
}

/// The variables the SDK reads as numbers (milliseconds or counts), and ignores when
/// they are not.
const NUMERIC: [&str; 7] = [
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_MAX_CONCURRENT_EXPORTS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
];

/// Checks the `OTEL_*` variables of `env` (name, value) that the SDK would read
/// without complaint and then ignore or misread: numbers that are not numbers,
/// protocols and compressions this build cannot speak.
///
/// # Errors
/// The first such variable, named, with what it may be.
pub fn check_environment<'a>(env: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<(), TelemetryError> {
    for (name, value) in env {
        let value = value.trim();
        if NUMERIC.contains(&name) && value.parse::<u64>().is_err() {
            return Err(setting(name, format!("{value:?} is not a whole number (milliseconds, or a count)")));
        }
        if matches!(name, "OTEL_EXPORTER_OTLP_PROTOCOL" | "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            && !matches!(value, "http/protobuf" | "http/json")
        {
            return Err(setting(
                name,
                format!("{value:?} is not spoken by this build; use http/protobuf (the default) or http/json"),
            ));
        }
        if matches!(name, "OTEL_EXPORTER_OTLP_COMPRESSION" | "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION")
            && !value.is_empty()
            && value != "none"
        {
            return Err(setting(name, format!("{value:?}: this build sends spans uncompressed; unset it or say none")));
        }
        if matches!(name, "OTEL_EXPORTER_OTLP_ENDPOINT" | "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            && !(value.starts_with("http://") || value.starts_with("https://"))
        {
            return Err(setting(name, format!("{value:?} is not an http:// or https:// URL")));
        }
    }
    Ok(())
}

/// Request spans, sampled, batched and sent over OTLP/HTTP.
#[derive(Debug)]
pub struct OtlpSink {
    processor: BatchSpanProcessor,
    sampler: Sampler,
    scope: InstrumentationScope,
}

impl OtlpSink {
    /// Starts the exporter (its batching thread). No connection is made until the
    /// first batch is sent: a collector that is not up yet is no error.
    ///
    /// # Errors
    /// A bad `OTEL_*` variable or endpoint.
    pub fn start(config: TelemetryConfig) -> Result<Arc<Self>, TelemetryError> {
        check_environment(
            std::env::vars()
                .filter(|(k, _)| k.starts_with("OTEL_"))
                .collect::<Vec<_>>()
                .iter()
                .map(|(k, v)| (&**k, &**v)),
        )?;
        let protocol = match config.protocol {
            Protocol::HttpProtobuf => opentelemetry_otlp::Protocol::HttpBinary,
            Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
        };
        let mut builder = opentelemetry_otlp::SpanExporter::builder().with_http().with_protocol(protocol);
        if let Some(base) = &config.endpoint {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err(setting("endpoint", format!("{base:?} is not an http:// or https:// URL")));
            }
            builder = builder.with_endpoint(format!("{}/v1/traces", base.trim_end_matches('/')));
        }
        // The exporter's own client: a blocking one, run on the batch thread; TLS (for
        // https:// collectors) through rustls on ring, as the rest of Tenet.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let exporter =
            builder.with_timeout(export_timeout()).build().map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        let batching = BatchConfigBuilder::default().build();
        let mut processor = BatchSpanProcessor::builder(exporter).with_batch_config(batching).build();
        let resource = Resource::builder()
            .with_service_name(std::env::var("OTEL_SERVICE_NAME").unwrap_or(config.service_name))
            .with_attribute(KeyValue::new("service.version", config.service_version))
            .build();
        processor.set_resource(&resource);
        let scope = InstrumentationScope::builder("tenet").with_version(env!("CARGO_PKG_VERSION")).build();
        Ok(Arc::new(Self { processor, sampler: config.sampler, scope }))
    }

    /// Sends what is queued and stops the batching thread: call it when the server has
    /// answered its last request.
    pub fn shutdown(&self) {
        if let Err(e) = self.processor.shutdown_with_timeout(Duration::from_secs(5)) {
            tracing::warn!("traces: not every span was sent at shutdown: {e}");
        }
    }

    fn data(&self, span: FinishedSpan) -> SpanData {
        let trace_id = opentelemetry::trace::TraceId::from_bytes(span.trace_id.to_bytes());
        let span_id = opentelemetry::trace::SpanId::from_bytes(span.span_id.to_bytes());
        let state = span.trace_state.as_deref().and_then(|s| s.parse::<TraceState>().ok()).unwrap_or_default();
        let context = SpanContext::new(trace_id, span_id, TraceFlags::SAMPLED, false, state);
        let attributes = span
            .attributes
            .into_iter()
            .map(|(key, value)| match value {
                AttributeValue::Text(text) => KeyValue::new(key, text),
                AttributeValue::Int(n) => KeyValue::new(key, n),
            })
            .collect();
        SpanData {
            span_context: context,
            parent_span_id: span.parent.map_or(opentelemetry::trace::SpanId::INVALID, |p| {
                opentelemetry::trace::SpanId::from_bytes(p.to_bytes())
            }),
            parent_span_is_remote: span.remote_parent,
            span_kind: match span.kind {
                SpanKind::Server => OtelKind::Server,
                SpanKind::Client => OtelKind::Client,
            },
            name: Cow::Owned(span.name),
            start_time: span.start,
            end_time: span.start + span.duration,
            attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: span.error.map_or(Status::Unset, Status::error),
            instrumentation_scope: self.scope.clone(),
        }
    }
}

/// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` or `OTEL_EXPORTER_OTLP_TIMEOUT` (ms), else 10 s.
fn export_timeout() -> Duration {
    ["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.trim().parse().ok())
        .map_or(Duration::from_secs(10), Duration::from_millis)
}

impl SpanSink for OtlpSink {
    fn sampled(&self, trace_id: TraceId, caller: Option<&TraceContext>) -> bool {
        self.sampler.decide(trace_id, caller)
    }

    fn record(&self, span: FinishedSpan) {
        // A bounded queue: when it is full the span is dropped (and counted by the SDK).
        self.processor.on_end(self.data(span));
    }
}

#[cfg(test)]
mod tests;
