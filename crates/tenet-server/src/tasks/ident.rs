//! What every kind of task is made with: an unguessable id and a timestamp.

use tenet_jsonrpc::ErrorObject;

/// A fresh task id: 128 random bits from the OS, in hex, so that nobody can guess or
/// enumerate another caller's tasks.
pub(crate) fn new_task_id() -> Result<String, ErrorObject> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| ErrorObject::internal(format!("no randomness for a task id: {e}")))?;
    Ok(id.iter().map(|b| format!("{b:02x}")).collect())
}

/// Now, as an RFC 3339 UTC timestamp with milliseconds.
pub fn now_iso() -> String {
    humantime::format_rfc3339_millis(crate::clock::now()).to_string()
}
