//! `Mcp-Param-*` headers (2026-07-28): a tool input property annotated with
//! `"x-mcp-header": "Name"` is mirrored by clients into `Mcp-Param-Name`, and the
//! server checks that the header repeats the argument.

use axum::http::HeaderMap;
use serde_json::Value;
use tenet_server::jsonrpc::{ErrorCode, ErrorObject};
use tenet_server::protocol::header::{HeaderParam, decode_value};

use crate::headers;

/// Checks each annotated argument against its header.
///
/// # Errors
/// -32020 when a header is missing for a value the body has, is present for one it
/// lacks, cannot be decoded, or differs.
pub(crate) fn check(params: &[HeaderParam], headers: &HeaderMap, arguments: &Value) -> Result<(), ErrorObject> {
    for param in params {
        let body = param.path.iter().try_fold(arguments, |v, key| v.get(key)).filter(|v| !v.is_null());
        let header = headers::text(headers, &param.header);
        let agrees = match (body, header) {
            (None, None) => true,
            (Some(_), None) | (None, Some(_)) => false,
            (Some(body), Some(header)) => decode_value(header).is_some_and(|decoded| same(body, &decoded)),
        };
        if !agrees {
            return Err(ErrorObject::new(
                ErrorCode::HEADER_MISMATCH,
                format!("Header mismatch: {} does not repeat arguments.{}", param.header, param.path.join(".")),
            ));
        }
    }
    Ok(())
}

/// Whether a header value repeats a body value (integers compare numerically).
fn same(body: &Value, header: &str) -> bool {
    match body {
        Value::String(s) => s == header,
        Value::Bool(b) => header == if *b { "true" } else { "false" },
        Value::Number(n) => match (n.as_i64(), header.parse::<i64>()) {
            (Some(a), Ok(b)) => a == b,
            _ => n.as_f64().zip(header.parse::<f64>().ok()).is_some_and(|(a, b)| a == b),
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "count": {"type": "integer", "x-mcp-header": "Count"},
            "nested": {"type": "object", "properties": {"flag": {"type": "boolean", "x-mcp-header": "Flag"}}}
        }})
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn headers_must_repeat_the_arguments() {
        let params = tenet_server::protocol::header::valid_header_params(&schema());
        let args = json!({"region": "Hello", "count": 7, "nested": {"flag": true}});
        let ok = headers(&[
            ("mcp-param-region", "=?base64?SGVsbG8=?="),
            ("mcp-param-count", "7"),
            ("mcp-param-flag", "true"),
        ]);
        assert!(check(&params, &ok, &args).is_ok());
        let bad_padding = headers(&[
            ("mcp-param-region", "=?base64?SGVsbG8?="),
            ("mcp-param-count", "7"),
            ("mcp-param-flag", "true"),
        ]);
        assert_eq!(check(&params, &bad_padding, &args).unwrap_err().code, ErrorCode::HEADER_MISMATCH);
        let missing = headers(&[("mcp-param-count", "7"), ("mcp-param-flag", "true")]);
        assert!(check(&params, &missing, &args).is_err());
        let extra = headers(&[("mcp-param-region", "x")]);
        assert!(check(&params, &extra, &json!({})).is_err(), "a header for an argument not given");
        assert!(check(&params, &HeaderMap::new(), &json!({})).is_ok());
    }
}
