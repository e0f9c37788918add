//! What a server answers cannot hurt: its text is printed without control characters, and a
//! redirect is not followed (the token would go with it) but stops uploading, with the events
//! kept in the spool.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use trunk_ci_analytics_testkit::Scratch;

use crate::hostile_support::{run, uploading};

/// A loopback server that gives every request the same answer; counts the requests.
fn canned(answer: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                while let Ok(n) = stream.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            seen.fetch_add(1, Ordering::SeqCst);
                            let _ = stream.write_all(answer.as_bytes());
                            buf.drain(..end + 4 + length);
                        }
                    }
                }
            });
        }
    });
    (url, count)
}

#[test]
fn server_text_is_printed_without_control_characters() {
    let (url, count) = canned(
        "HTTP/1.1 404 Not Found\r\ncontent-length: 48\r\n\r\n\x1b[2J\x1b[31mgone\r\ntrunk-ci-analytics: forged\x07\x1b]0;x\x07",
    );
    let spool = Scratch::new("answers-control");
    let (out, stdout, stderr) = run(&mut uploading("one_event", &url, spool.path()));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(count.load(Ordering::SeqCst) >= 1);
    assert!(stderr.contains("gone"), "the reason is shown:\n{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("trunk-ci-analytics:"))
        .collect();
    for line in &lines {
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(
            line.starts_with("trunk-ci-analytics: "),
            "forged line: {line:?}"
        );
    }
}

#[test]
fn a_redirect_is_not_followed_and_stops_uploading() {
    let (target, followed) = canned("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    let answer: &'static str = Box::leak(
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: {target}/v1/metrics/trackEvents\r\ncontent-length: 0\r\n\r\n"
        )
        .into_boxed_str(),
    );
    let (url, asked) = canned(answer);
    let spool = Scratch::new("answers-redirect");
    let (out, stdout, stderr) = run(&mut uploading("one_event", &url, spool.path()));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        asked.load(Ordering::SeqCst),
        1,
        "asked once, then stopped:\n{stderr}"
    );
    assert_eq!(
        followed.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
    assert!(stderr.contains("HTTP 307"), "{stderr}");
    assert!(stderr.contains("TRUNK_PUBLIC_API_ADDRESS"), "{stderr}");
    assert!(stdout.contains("1 spooled"), "{stdout}");
}
