//! `HTTPS_PROXY` is honoured for https, through a CONNECT tunnel the proxy cannot read, and
//! `NO_PROXY` takes a host out of it; plain http (loopback only) never goes through a proxy.
//! The proxy is a loopback listener of the test that records what it is sent and forwards
//! nothing.

use std::time::Duration;

use trunk_ci_analytics::{Conclusion, Config, EventBuilder};
use trunk_ci_analytics_testkit::Scratch;
use trunk_ci_analytics_testserver::TestServer;

use crate::hostile_support::{run, uploading};
use crate::recorder::Recorder;

/// A host the child can never reach directly: `.invalid` never resolves.
const HOST: &str = "tca-proxy-test.invalid";

/// Answers a CONNECT; then the client starts TLS, which nobody here can answer.
fn proxy() -> Recorder {
    Recorder::start(
        "127.0.0.1:0",
        b"HTTP/1.1 200 Connection established\r\n\r\n",
    )
}

#[test]
fn https_goes_through_the_proxy_as_a_tunnel_the_proxy_cannot_read() {
    let proxy = proxy();
    let spool = Scratch::new("proxy-https");
    let mut cmd = uploading("one_event", &format!("https://{HOST}"), spool.path());
    cmd.env("HTTPS_PROXY", proxy.url());
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let seen = proxy.connections();
    assert!(!seen.is_empty(), "the proxy saw nothing:\n{stderr}");
    for connection in &seen {
        let text = String::from_utf8_lossy(connection);
        assert!(
            text.starts_with(&format!("CONNECT {HOST}:443 ")),
            "not a tunnel: {text:?}"
        );
        assert!(
            !text.contains(crate::hostile_support::TOKEN),
            "the token reached the proxy in clear"
        );
        assert!(!text.contains("x-api-token"), "{text:?}");
    }
}

#[test]
fn no_proxy_takes_a_host_out_of_the_proxy() {
    for var in ["NO_PROXY", "no_proxy"] {
        let proxy = proxy();
        let spool = Scratch::new("proxy-none");
        let mut cmd = uploading("one_event", &format!("https://{HOST}"), spool.path());
        cmd.env("HTTPS_PROXY", proxy.url())
            .env(var, format!("example.com,{HOST}"));
        let (out, stdout, stderr) = run(&mut cmd);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        // Straight to a host that does not resolve: nothing delivered, kept for later.
        assert!(stdout.contains("1 spooled"), "{var}: {stdout}\n{stderr}");
        let seen = proxy.connections();
        let first_lines: Vec<String> = seen
            .iter()
            .map(|c| {
                String::from_utf8_lossy(c)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        assert!(seen.is_empty(), "{var} was ignored: {first_lines:?}");
    }
}

#[test]
fn plain_http_to_loopback_never_uses_a_proxy() {
    let proxy = proxy();
    let server = TestServer::start_with_token(crate::hostile_support::TOKEN);
    let spool = Scratch::new("proxy-http");
    let mut cmd = uploading("one_event", &server.url(), spool.path());
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env(var, proxy.url());
    }
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        server.wait_for_events(1, Duration::from_secs(5)),
        "{stderr}"
    );
    assert!(
        proxy.connections().is_empty(),
        "the proxy was used for loopback http"
    );
}

/// One event, flushed within a second.
pub fn one_event_child() {
    let guard = trunk_ci_analytics::init(
        Config::from_env()
            .flush_timeout(Duration::from_secs(1))
            .summary(false),
    );
    EventBuilder::new("step")
        .key("hostile::one")
        .start()
        .finish(Conclusion::Success);
    let report = trunk_ci_analytics::flush(Duration::from_secs(1));
    println!("ONE {report}");
    drop(guard);
}
