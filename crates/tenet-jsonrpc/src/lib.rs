//! JSON-RPC 2.0 for the Model Context Protocol, and nothing else.
//!
//! This crate knows ids, requests, notifications, responses and error objects, how to
//! tell a parse error (-32700) from an invalid request (-32600), and how to write a
//! response without re-serializing its result. It knows nothing of MCP methods.
//!
//! ```
//! use tenet_jsonrpc::{parse, Incoming, Message, Id};
//!
//! let incoming = parse(br#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#).unwrap();
//! let Incoming::Single(Message::Request(request)) = incoming else { panic!() };
//! assert_eq!(request.id, Id::Number(7));
//! assert_eq!(request.method, "ping");
//!
//! // Unparseable input is a -32700 error with a null id.
//! let error = parse(b"{\"jsonrpc\":").unwrap_err();
//! assert_eq!(error.error.code, tenet_jsonrpc::ErrorCode::PARSE_ERROR);
//! assert!(error.id.is_none());
//! ```

mod envelope;
mod error;
mod id;
mod members;
mod message;
mod object;
mod parse;
mod quick;
mod text;

pub use error::{ErrorCode, ErrorObject};
pub use id::Id;
pub use members::{Member, Members, every_object, fold_case, members, string_value, unambiguous, unambiguous_below};
pub use message::{
    Message, Notification, Outcome, Request, Response, UnknownId, one_line, write_error_response, write_notification,
    write_request, write_request_with, write_response, write_result_response,
};
pub use object::RawObject;
pub use parse::{Incoming, MAX_DEPTH, Rejection, parse, parse_from_server, parse_thoroughly};
pub use text::{JsonText, Span};

/// The only value of the `jsonrpc` member this crate accepts or writes.
pub const VERSION: &str = "2.0";

/// Raw JSON, kept as text until someone needs its structure.
pub type RawJson = serde_json::value::RawValue;
