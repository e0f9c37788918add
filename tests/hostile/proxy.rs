//! `HTTPS_PROXY` is honoured for https, through a CONNECT tunnel the proxy cannot read;
//! plain http (loopback only) never goes through a proxy. The proxy is a loopback listener
//! of the test that records what it is sent and forwards nothing.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use trunk_ci_analytics::{Conclusion, Config, EventBuilder};
use trunk_ci_analytics_testserver::TestServer;

use crate::hostile_support::{TOKEN, child_command, run};

/// A loopback proxy: answers a CONNECT with 200, records every byte each connection sends.
struct Proxy {
    url: String,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Proxy {
    fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let sink = Arc::clone(&sink);
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let mut answered = false;
                    while let Ok(n) = stream.read(&mut chunk) {
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if !answered && buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            answered = true;
                            // Then the client starts TLS, which nobody here can answer.
                            let _ =
                                stream.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                        }
                    }
                    sink.lock().unwrap().push(buf);
                });
            }
        });
        Proxy { url, seen }
    }

    fn seen(&self) -> Vec<Vec<u8>> {
        self.seen.lock().unwrap().clone()
    }

    /// What the proxy saw once at least one connection ended (a connection is recorded
    /// when it closes, which may come just after the child exits), or after five seconds.
    fn wait_seen(&self) -> Vec<Vec<u8>> {
        let until = std::time::Instant::now() + Duration::from_secs(5);
        while self.seen().is_empty() && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.seen()
    }
}

fn spool(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("tca-hostile-{name}-{}", std::process::id()))
}

#[test]
fn https_goes_through_the_proxy_as_a_tunnel_the_proxy_cannot_read() {
    let proxy = Proxy::start();
    let mut cmd = child_command("one_event");
    cmd.env("TRUNK_API_TOKEN", TOKEN)
        .env("TRUNK_PUBLIC_API_ADDRESS", "https://tca-proxy-test.invalid")
        .env("TRUNK_REPO", "acme/widgets")
        .env("TRUNK_SPOOL_DIR", spool("proxy-https"))
        .env("HTTPS_PROXY", &proxy.url)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let seen = proxy.wait_seen();
    assert!(!seen.is_empty(), "the proxy saw nothing:\n{stderr}");
    for connection in &seen {
        let text = String::from_utf8_lossy(connection);
        assert!(
            text.starts_with("CONNECT tca-proxy-test.invalid:443 "),
            "not a tunnel: {text:?}"
        );
        assert!(
            !text.contains(TOKEN),
            "the token reached the proxy in clear"
        );
        assert!(!text.contains("x-api-token"), "{text:?}");
    }
    let _ = std::fs::remove_dir_all(spool("proxy-https"));
}

#[test]
fn plain_http_to_loopback_never_uses_a_proxy() {
    let proxy = Proxy::start();
    let server = TestServer::start_with_token(TOKEN);
    let mut cmd = child_command("one_event");
    cmd.env("TRUNK_API_TOKEN", TOKEN)
        .env("TRUNK_PUBLIC_API_ADDRESS", server.url())
        .env("TRUNK_REPO", "acme/widgets")
        .env("TRUNK_SPOOL_DIR", spool("proxy-http"));
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env(var, &proxy.url);
    }
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        server.wait_for_events(1, Duration::from_secs(5)),
        "{stderr}"
    );
    assert!(
        proxy.seen().is_empty(),
        "the proxy was used for loopback http"
    );
    let _ = std::fs::remove_dir_all(spool("proxy-http"));
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
