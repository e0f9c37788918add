//! The token never reaches a non-loopback address over plain http, whatever disguise the
//! address wears. Proven with a real non-loopback address: 192.0.2.2 given to the loopback
//! device of a private network namespace, so no packet can leave the machine.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use trunk_ci_analytics::{Conclusion, Config, EventBuilder};

use crate::hostile_support::{TOKEN, child_args, field, run, scrub};

const OUTSIDER: &str = "192.0.2.2";

/// Disguises of `http://192.0.2.2:{port}` that a hand-written host split reads as loopback
/// while the client's URL parser connects to 192.0.2.2 (the unit tests in `address.rs` cover
/// more forms without a network).
fn disguise(which: usize, port: u16) -> String {
    match which {
        0 => format!(r"http://{OUTSIDER}:{port}\@127.0.0.1"),
        _ => format!(r"http://{OUTSIDER}:{port}\\@localhost/"),
    }
}

#[test]
fn the_token_never_reaches_a_disguised_outside_address() {
    let probe = Command::new("unshare")
        .args([
            "-rn",
            "sh",
            "-c",
            "ip link set lo up && ip addr add 192.0.2.2/32 dev lo",
        ])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!("skipped: `unshare -rn` (a private network namespace) is not permitted here");
        return;
    }
    for which in 0..2 {
        run_in_namespace(which);
    }
}

fn run_in_namespace(which: usize) {
    let exe = std::env::current_exe().unwrap();
    let script =
        format!("ip link set lo up && ip addr add {OUTSIDER}/32 dev lo && exec \"$0\" \"$@\"");
    let mut cmd = Command::new("unshare");
    cmd.args(["-rn", "sh", "-c", &script])
        .arg(exe)
        .args(child_args());
    scrub(&mut cmd);
    cmd.env(crate::hostile_support::SCENARIO, "netns")
        .env("TCA_DISGUISE", which.to_string())
        .env("TRUNK_API_TOKEN", TOKEN)
        .env("TRUNK_REPO", "acme/widgets")
        .env("TRUNK_FLUSH_TIMEOUT_MS", "2000")
        .env(
            "TRUNK_SPOOL_DIR",
            std::env::temp_dir().join("tca-hostile-netns"),
        );
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The listener works: the child's own probe reached it.
    assert_eq!(
        field(&stdout, "NETNS", "probe").as_deref(),
        Some("true"),
        "{stdout}"
    );
    assert_eq!(
        field(&stdout, "NETNS", "token").as_deref(),
        Some("false"),
        "the token reached {OUTSIDER} (disguise {which}):\n{stdout}\n{stderr}"
    );
    assert_eq!(
        field(&stdout, "NETNS", "requests").as_deref(),
        Some("0"),
        "{stdout}\n{stderr}"
    );
}

/// Inside the namespace: listens on the outside address, points the runtime at it through
/// the disguise `TCA_DISGUISE` names, and says what arrived.
pub fn netns_child() {
    let listener = TcpListener::bind((OUTSIDER, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let sink = Arc::clone(&received);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let sink = Arc::clone(&sink);
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(n) = stream.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    // Answer so a client that got through finishes its request.
                    if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        let _ = stream.write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        );
                    }
                }
                sink.lock().unwrap().push(buf);
            });
        }
    });
    let mut probe = TcpStream::connect((OUTSIDER, port)).unwrap();
    probe.write_all(b"PROBE").unwrap();
    drop(probe);

    let which = std::env::var("TCA_DISGUISE").unwrap().parse().unwrap();
    let config = Config::from_env()
        .api_address("http://127.0.0.1:9")
        .api_address(disguise(which, port))
        .summary(false);
    let guard = trunk_ci_analytics::init(config);
    EventBuilder::new("step")
        .key("hostile::netns")
        .start()
        .finish(Conclusion::Success);
    let _ = trunk_ci_analytics::flush(Duration::from_secs(2));
    drop(guard);
    std::thread::sleep(Duration::from_millis(700));

    let received = received.lock().unwrap();
    let probe = received.iter().any(|b| b == b"PROBE");
    let requests = received.iter().filter(|b| b.as_slice() != b"PROBE").count();
    let token = received
        .iter()
        .any(|b| b.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
    println!("NETNS probe={probe} token={token} requests={requests}");
}
