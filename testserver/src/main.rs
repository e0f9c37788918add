//! `trunk-ci-analytics-testserver`: run the loopback contract server by hand and watch what a
//! program uploads. Prints the URL and token to use, then one line per accepted event or span
//! and one per rejected request, until killed (Ctrl-C).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;
use trunk_ci_analytics_testserver::{DEFAULT_TOKEN, ReceivedSpan, RequestRecord, TestServer};

const USAGE: &str = "\
usage: trunk-ci-analytics-testserver [--port PORT] [--token TOKEN] [--json]

Serves POST /v1/metrics/trackEvents on 127.0.0.1 like Trunk CI Analytics does, and POST
/v1/traces like an OTLP/HTTP collector; prints each accepted event (a summary, or its wire JSON
with --json), each accepted span and each rejected request.
  --port PORT    port to listen on (default: any free port)
  --token TOKEN  x-api-token to expect (default: test-token)
  --json         print accepted events as JSON lines";

struct Args {
    port: u16,
    token: String,
    json: bool,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("trunk-ci-analytics-testserver: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let json = args.json;
    let server = TestServer::builder()
        .port(args.port)
        .token(&args.token)
        .observe(move |record, events| print_answer(record, events, json))
        .observe_spans(|_, spans| print_spans(spans))
        .start();
    let server = match server {
        Ok(server) => server,
        Err(e) => {
            eprintln!(
                "trunk-ci-analytics-testserver: cannot listen on 127.0.0.1:{}: {e}",
                args.port
            );
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {}", server.url());
    println!("  export TRUNK_PUBLIC_API_ADDRESS={}", server.url());
    println!("  export TRUNK_API_TOKEN={}", server.token());
    println!("  export OTEL_EXPORTER_OTLP_ENDPOINT={}", server.url());
    let _ = std::io::stdout().flush();
    // Serves on its own thread; this one only keeps the process alive until it is killed.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        port: 0,
        token: DEFAULT_TOKEN.to_owned(),
        json: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let value = args.next().ok_or("--port needs a value")?;
                parsed.port = value
                    .parse()
                    .map_err(|_| format!("--port {value}: not a port number"))?;
            }
            "--token" => {
                parsed.token = args.next().ok_or("--token needs a value")?;
                if parsed.token.is_empty() {
                    return Err("--token must not be empty".to_owned());
                }
            }
            "--json" => parsed.json = true,
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Some(parsed))
}

fn print_answer(record: &RequestRecord, events: &[Value], json: bool) {
    let mut out = std::io::stdout().lock();
    if record.status != Some(200) {
        let status = record.status.map_or("-".to_owned(), |s| s.to_string());
        let error = record.error.as_deref().unwrap_or("");
        let _ = writeln!(
            out,
            "rejected {} {} -> {status} {error}",
            record.method, record.path
        );
        for violation in &record.violations {
            let _ = writeln!(out, "  {violation}");
        }
    }
    for event in events {
        let _ = if json {
            writeln!(out, "{event}")
        } else {
            writeln!(out, "{}", summary(event))
        };
    }
    let _ = out.flush();
}

/// `span <trace id> <span id> <name> <duration> (parent <span id>)`, one line per span.
fn print_spans(spans: &[ReceivedSpan]) {
    let mut out = std::io::stdout().lock();
    for span in spans {
        let nanos = span
            .span
            .end_time_unix_nano
            .saturating_sub(span.span.start_time_unix_nano);
        let mut line = format!(
            "span {} {} {} {}ns",
            span.trace_id_hex(),
            span.span_id_hex(),
            span.span.name,
            nanos
        );
        if let Some(parent) = span.parent_span_id_hex() {
            line.push_str(&format!(" (parent {parent})"));
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}

/// `event <id> <name> <conclusion> <duration> (parent <id>)`, from whatever fields are there.
fn summary(event: &Value) -> String {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("-").to_owned();
    let id = text(event.get("id"));
    let name = text(event.pointer("/sequence/name"));
    let conclusion = text(event.get("conclusion"));
    let duration = event
        .pointer("/payload/metrics")
        .and_then(Value::as_array)
        .and_then(|metrics| {
            metrics
                .iter()
                .find(|m| m.get("k").and_then(Value::as_str) == Some("duration_ms"))
        })
        .and_then(|m| m.get("v"))
        .filter(|v| v.is_number())
        // The number as sent: rounding here would hide what the client computed.
        .map_or("-".to_owned(), |ms| format!("{ms}ms"));
    let mut line = format!("event {id} {name} {conclusion} {duration}");
    if let Some(parent) = event.pointer("/parent/eventId").and_then(Value::as_str) {
        line.push_str(&format!(" (parent {parent})"));
    }
    line
}
