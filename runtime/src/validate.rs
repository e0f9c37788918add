//! Checks a request or event against every rule of the wire contract.
//! (Stub: the full rule set replaces it.)

use serde_json::Value;

/// One broken rule: where (a JSON path like `events[0].sequence.platform`) and which rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// JSON path of the offending field.
    pub path: String,
    /// The rule, in words.
    pub rule: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.rule)
    }
}

/// Validates a whole request body.
pub fn validate_request(body: &Value) -> Result<(), Vec<Violation>> {
    let _ = body;
    Ok(())
}

/// Validates one event object; `path` prefixes the reported paths.
pub fn validate_event(event: &Value, path: &str) -> Result<(), Vec<Violation>> {
    let _ = (event, path);
    Ok(())
}
