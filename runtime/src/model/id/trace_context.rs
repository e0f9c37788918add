//! The W3C trace context header `traceparent` (<https://www.w3.org/TR/trace-context/>), as
//! the `TRACEPARENT` environment variable that OpenTelemetry-instrumented tools (otel-cli,
//! CI agents, SDKs) pass to the processes they start.

use crate::model::id::otel::{hex, to_hex};

/// The variable a child process reads its parent span from (pinned).
pub(crate) const ENV_TRACEPARENT: &str = "TRACEPARENT";
/// Vendor data that belongs to the trace in `TRACEPARENT`: never parsed, only kept or dropped.
pub(crate) const ENV_TRACESTATE: &str = "TRACESTATE";

/// `00-{trace id}-{span id}-01`: version 00, sampled.
pub(crate) fn format(trace_id: &[u8; 16], span_id: &[u8; 8]) -> String {
    format!("00-{}-{}-01", to_hex(trace_id), to_hex(span_id))
}

/// The trace id and parent span id of a `traceparent` value, or why it is not one.
///
/// Version 00 must be exactly `00-{32 hex}-{16 hex}-{2 hex}`; a later version is read the
/// way the specification asks of a version-00 parser (its first four fields, followed by
/// `-` or nothing), and `ff` is invalid. Hex is lowercase; all-zero ids are invalid.
pub(crate) fn parse(value: &str) -> Result<([u8; 16], [u8; 8]), &'static str> {
    const LEN_00: usize = 55;
    let b = value.as_bytes();
    if b.len() < LEN_00 {
        return Err("shorter than `00-{32 hex}-{16 hex}-{2 hex}`");
    }
    let version = lower_hex::<1>(&b[..2]).ok_or("the version is not two lowercase hex digits")?;
    if version == [0xff] {
        return Err("version ff is invalid");
    }
    if version == [0] && b.len() != LEN_00 {
        return Err("version 00 has exactly 55 characters");
    }
    if b[2] != b'-' || b[35] != b'-' || b[52] != b'-' || (b.len() > LEN_00 && b[LEN_00] != b'-') {
        return Err("the fields are not separated by `-`");
    }
    let trace = lower_hex::<16>(&b[3..35]).ok_or("the trace id is not 32 lowercase hex digits")?;
    let span = lower_hex::<8>(&b[36..52]).ok_or("the parent id is not 16 lowercase hex digits")?;
    lower_hex::<1>(&b[53..55]).ok_or("the flags are not two lowercase hex digits")?;
    if trace == [0; 16] {
        return Err("the trace id is all zeros");
    }
    if span == [0; 8] {
        return Err("the parent id is all zeros");
    }
    Ok((trace, span))
}

/// Whether a chain id is a W3C trace id: the chain of a process that joined a `TRACEPARENT`
/// (our own chain ids have 16 digits).
pub(crate) fn is_trace_id(chain_id: &str) -> bool {
    lower_hex::<16>(chain_id.as_bytes()).is_some_and(|t| t != [0; 16])
}

fn lower_hex<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    let lower = s.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    lower
        .then(|| hex::<N>(std::str::from_utf8(s).ok()?))
        .flatten()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    const SPEC_EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn the_specification_example_round_trips() {
        let (trace, span) = parse(SPEC_EXAMPLE).unwrap();
        assert_eq!(to_hex(&trace), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(to_hex(&span), "00f067aa0ba902b7");
        assert_eq!(format(&trace, &span), SPEC_EXAMPLE);
        // Not sampled upstream: still a parent.
        assert!(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").is_ok());
    }

    #[test]
    fn later_versions_are_read_by_their_first_four_fields() {
        let v1 = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(parse(v1).is_ok());
        assert!(parse(&format!("{v1}-what-comes-next")).is_ok());
        assert!(parse(&format!("{v1}x")).is_err());
    }

    #[test]
    fn malformed_values_are_rejected_with_a_reason() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47é-00f067aa0ba902b7-01",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
