//! `tenet serve` traces (the `[telemetry]` table of the config file): request spans
//! exported over OTLP, configured by OpenTelemetry's standard environment variables or
//! the same options by name. Off unless an exporter or an endpoint is given.

use std::sync::Arc;

use tenet_telemetry::{OtlpSink, Protocol, Sampler, TelemetryConfig};

/// Where spans go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Exporter {
    /// OTLP over HTTP, to `--otlp-endpoint`.
    Otlp,
    /// Nowhere: traces off.
    None,
}

/// How spans travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OtlpProtocol {
    /// Protobuf bodies (the default; collectors listen on port 4318).
    #[value(name = "http/protobuf")]
    HttpProtobuf,
    /// JSON bodies.
    #[value(name = "http/json")]
    HttpJson,
}

// Request traces, exported over OTLP.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Telemetry")]
pub struct TelemetryArgs {
    /// Export request spans: `otlp` (the endpoint below, or OpenTelemetry's default
    /// http://localhost:4318) or `none`. An endpoint alone turns it on too.
    #[arg(long, value_enum, value_name = "EXPORTER", env = "OTEL_TRACES_EXPORTER")]
    pub traces_exporter: Option<Exporter>,
    /// The collector's OTLP/HTTP base URL (`/v1/traces` is added), e.g.
    /// http://127.0.0.1:4318. `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, the full URL,
    /// is honoured too.
    #[arg(long, value_name = "URL", env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_parser = http_url)]
    pub otlp_endpoint: Option<String>,
    /// `http/protobuf` or `http/json`.
    #[arg(
        long,
        value_enum,
        value_name = "PROTOCOL",
        default_value = "http/protobuf",
        env = "OTEL_EXPORTER_OTLP_PROTOCOL"
    )]
    pub otlp_protocol: OtlpProtocol,
    /// Which requests are recorded, by OpenTelemetry's sampler names; `parentbased_*`
    /// follow the caller's `traceparent` when there is one.
    #[arg(long, value_name = "SAMPLER", default_value = "parentbased_always_on", env = "OTEL_TRACES_SAMPLER", value_parser = clap::builder::PossibleValuesParser::new(Sampler::NAMES))]
    pub traces_sampler: String,
    /// The ratio of the `traceidratio` samplers, from 0 to 1 (0.01: one trace in a hundred).
    #[arg(long, value_name = "RATIO", env = "OTEL_TRACES_SAMPLER_ARG", value_parser = ratio)]
    pub traces_sampler_arg: Option<f64>,
    /// `service.name` on every span.
    #[arg(long, value_name = "NAME", default_value = "tenet", env = "OTEL_SERVICE_NAME")]
    pub service_name: String,
}

fn http_url(s: &str) -> Result<String, String> {
    if (s.starts_with("http://") || s.starts_with("https://")) && !s.contains(char::is_whitespace) {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?} is not an http:// or https:// URL"))
    }
}

fn ratio(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("{s:?} is not a ratio from 0 to 1")),
    }
}

impl TelemetryArgs {
    /// Whether spans are exported: `--traces-exporter otlp`, or an endpoint without
    /// `--traces-exporter none`; never with `OTEL_SDK_DISABLED=true`.
    pub fn enabled(&self) -> bool {
        let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let endpoint = self.otlp_endpoint.is_some() || std::env::var_os("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some();
        !disabled
            && match self.traces_exporter {
                Some(Exporter::Otlp) => true,
                Some(Exporter::None) => false,
                None => endpoint,
            }
    }

    /// Starts the exporter when traces are on.
    ///
    /// # Errors
    /// A bad `OTEL_*` variable, named.
    pub fn start(&self) -> Result<Option<Arc<OtlpSink>>, String> {
        if !self.enabled() {
            return Ok(None);
        }
        let arg = self.traces_sampler_arg.map(|r| r.to_string());
        let sampler = Sampler::from_names(&self.traces_sampler, arg.as_deref()).map_err(|e| e.to_string())?;
        let config = TelemetryConfig {
            endpoint: self.otlp_endpoint.clone(),
            protocol: match self.otlp_protocol {
                OtlpProtocol::HttpProtobuf => Protocol::HttpProtobuf,
                OtlpProtocol::HttpJson => Protocol::HttpJson,
            },
            sampler,
            service_name: self.service_name.clone(),
            service_version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        let sink = OtlpSink::start(config).map_err(|e| e.to_string())?;
        tracing::info!(
            endpoint = self.otlp_endpoint.as_deref().unwrap_or("from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or the default"),
            sampler = %self.traces_sampler,
            "exporting request spans over OTLP"
        );
        Ok(Some(sink))
    }
}
