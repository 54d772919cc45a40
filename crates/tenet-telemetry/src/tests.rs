use super::*;

fn trace(last: u64) -> TraceId {
    let mut bytes = [0u8; 16];
    bytes[0] = 1;
    bytes[8..].copy_from_slice(&last.to_be_bytes());
    TraceId::from_bytes(bytes).expect("not all zero")
}

#[test]
fn the_ratio_sampler_keeps_its_share_and_decides_alike_for_a_trace() {
    let sampler = Sampler::TraceIdRatio(0.25);
    let kept = (0..10_000u64).filter(|i| sampler.decide(trace(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)), None)).count();
    assert!((2_300..=2_700).contains(&kept), "kept {kept} of 10000 at 25 %");
    // The rule every OpenTelemetry SDK applies, so that all services decide alike for
    // one trace: kept when the id's last 8 bytes, as a big-endian number, are below
    // ratio × 2^64, here 2^62; its first 8 bytes play no part. (The ids just below are
    // 4096 below: the comparison is made in f64, exact at the bound itself but not for
    // every id next to it.)
    let quarter = 1u64 << 62;
    assert!(sampler.decide(trace(0), None), "0 is below 2^62");
    assert!(sampler.decide(trace(quarter - 4096), None), "2^62 - 4096 is below 2^62");
    assert!(!sampler.decide(trace(quarter), None), "2^62 is not below 2^62");
    assert!(!sampler.decide(trace(u64::MAX), None), "2^64 - 1 is not below 2^62");
    let first_half_set = |last: u64| {
        let mut bytes = [0xffu8; 16];
        bytes[8..].copy_from_slice(&last.to_be_bytes());
        TraceId::from_bytes(bytes).expect("not all zero")
    };
    assert!(sampler.decide(first_half_set(quarter - 4096), None), "the first 8 bytes play no part");
    assert!(!sampler.decide(first_half_set(quarter), None), "the first 8 bytes play no part");
    assert!(!Sampler::TraceIdRatio(0.0).decide(trace(0), None));
    assert!(Sampler::TraceIdRatio(1.0).decide(trace(u64::MAX), None));
}

#[test]
fn parent_based_samplers_follow_the_callers_flag() {
    let sampled = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").expect("valid");
    let unsampled = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").expect("valid");
    let sampler = Sampler::from_names("parentbased_always_off", None).expect("a sampler");
    assert!(sampler.decide(sampled.trace_id(), Some(&sampled)));
    assert!(!sampler.decide(unsampled.trace_id(), Some(&unsampled)));
    assert!(!sampler.decide(trace(1), None), "a root is decided by always_off");
    assert!(Sampler::default().decide(trace(1), None));
    assert!(Sampler::AlwaysOn.decide(unsampled.trace_id(), Some(&unsampled)), "always_on ignores the caller");
}

#[test]
fn bad_variables_are_named_with_what_they_may_be() {
    let error = |name: &str, value: &str| check_environment([(name, value)]).expect_err(value).to_string();
    assert!(
        error("OTEL_BSP_SCHEDULE_DELAY", "soon").starts_with("OTEL_BSP_SCHEDULE_DELAY: \"soon\" is not a whole number")
    );
    assert!(error("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc").contains("use http/protobuf"));
    assert!(error("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip").contains("uncompressed"));
    assert!(error("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318").contains("not an http:// or https:// URL"));
    check_environment([
        ("OTEL_BSP_SCHEDULE_DELAY", "500"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
        ("OTEL_SERVICE_NAME", "anything"),
    ])
    .expect("good values pass");
    let sampler = Sampler::from_names("traceidratio", Some("often")).expect_err("not a number").to_string();
    assert!(sampler.starts_with("OTEL_TRACES_SAMPLER_ARG"), "{sampler}");
}
