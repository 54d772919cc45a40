//! The corpus compiled into the binary, so the server is useful with no arguments.

include!(concat!(env!("OUT_DIR"), "/builtin_corpus.rs"));
