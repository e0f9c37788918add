//! A hand-written HTTP/1.1 client over `std::net::TcpStream`, so the server is tested by
//! something that shares no code with it, and bodies that satisfy the wire contract.

#![allow(dead_code)] // each test binary uses a different part

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::{Value, json};
use trunk_ci_analytics_testserver::{TRACK_EVENTS_PATH, TestServer};

/// Bounds every read in the tests: a server bug fails the test instead of hanging it.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy: protobuf answers are in `raw`).
    pub body: String,
    pub raw: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// One TCP connection; requests on it are kept alive unless they say otherwise.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(server: &TestServer) -> Client {
        Client::connect_to(server.addr())
    }

    pub fn connect_to(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send_raw(&mut self, request: &[u8]) {
        self.stream.write_all(request).unwrap();
    }

    /// Sends a contract-shaped POST with the usual headers; `token: None` leaves it out.
    pub fn send_post(&mut self, token: Option<&str>, body: &str) {
        let request = post_request(token, body);
        self.send_raw(request.as_bytes());
    }

    /// Sends any request: `headers` as given, then `Content-Length` and the body.
    pub fn send_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        self.send_raw(&bytes);
    }

    /// [`send_request`](Self::send_request), then reads the answer.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        self.send_request(method, path, headers, body);
        self.read_reply().unwrap()
    }

    pub fn post(&mut self, token: Option<&str>, body: &str) -> Reply {
        self.send_post(token, body);
        self.read_reply().unwrap()
    }

    /// Reads one response (status line, headers, `Content-Length` body).
    pub fn read_reply(&mut self) -> io::Result<Reply> {
        let head_end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at;
            }
            self.fill()?;
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
        let status = status_line[9..12].parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.trim().to_owned(), value.trim().to_owned())
            })
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().unwrap())
            .expect("the server always sends Content-Length");
        let body_start = head_end + 4;
        while self.buf.len() < body_start + len {
            self.fill()?;
        }
        let raw = self.buf[body_start..body_start + len].to_vec();
        let body = String::from_utf8_lossy(&raw).into_owned();
        self.buf.drain(..body_start + len);
        Ok(Reply {
            status,
            headers,
            body,
            raw,
        })
    }

    /// Reads whatever arrives next: `Ok(0)` is EOF.
    pub fn read_some(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    fn fill(&mut self) -> io::Result<()> {
        match self.read_some()? {
            0 => Err(io::ErrorKind::UnexpectedEof.into()),
            _ => Ok(()),
        }
    }
}

pub fn post_request(token: Option<&str>, body: &str) -> String {
    let token = token.map_or(String::new(), |t| format!("x-api-token: {t}\r\n"));
    format!(
        "POST {TRACK_EVENTS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         x-source: trunk-ci-analytics-rust\r\nUser-Agent: trunk-ci-analytics/0.1.0\r\n{token}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// An event that satisfies every rule of the wire contract.
pub fn event(id: &str) -> Value {
    json!({
        "id": id,
        "chainId": id,
        "createdAt": 1_700_000_000_000u64,
        "finishedAt": 1_700_000_000_250u64,
        "conclusion": "SUCCESS",
        "payload": {
            "metrics": [{"k": "duration_ms", "v": 250.5}],
            "tags": [{"k": "branch", "v": "main"}, {"k": "attempt", "v": 1}]
        },
        "sequence": {
            "platform": "local",
            "kind": "function",
            "key": "testserver::tests::step",
            "name": "step",
            "payload": {"metrics": [], "tags": []}
        }
    })
}

/// A request body that satisfies the wire contract, with one event per id.
pub fn batch(ids: &[&str]) -> String {
    json!({
        "repo": {"host": "github.com", "owner": "trunk-io", "name": "trunk-ci-analytics-rust"},
        "events": ids.iter().map(|id| event(id)).collect::<Vec<_>>()
    })
    .to_string()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The server binary, running until dropped (killed however the test ends, so no server
/// outlives it), and its stdout as lines.
pub struct Binary {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Binary {
    pub fn start(args: &[&str]) -> Binary {
        use std::io::{BufRead, BufReader};
        let mut child = trunk_ci_analytics_testkit::clean_command(env!(
            "CARGO_BIN_EXE_trunk-ci-analytics-testserver"
        ))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if lines_tx.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        Binary { child, lines }
    }

    /// The next line it prints (waiting up to 10 s).
    pub fn next_line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(10)).unwrap()
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
