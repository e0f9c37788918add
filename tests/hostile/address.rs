//! The token never reaches a non-loopback address over plain http, whatever disguise the
//! address wears. Proven with a real non-loopback address: 192.0.2.2 given to the loopback
//! device of a private network namespace, so no packet can leave the machine.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use trunk_ci_analytics::{Conclusion, Config, EventBuilder};
use trunk_ci_analytics_testkit::{Scratch, clean_command, require};

use crate::hostile_support::{TOKEN, child_args, field, run};
use crate::recorder::Recorder;

const OUTSIDER: &str = "192.0.2.2";

/// Sets the namespace's network up: its loopback device, with the outside address on it.
const SETUP: &str = "ip link set lo up && ip addr add 192.0.2.2/32 dev lo";

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
    let namespace = clean_command("unshare")
        .args(["-rn", "sh", "-c", SETUP])
        .output()
        .is_ok_and(|o| o.status.success());
    if !require(
        "a private network namespace (`unshare -rn`, `ip`)",
        namespace,
    ) {
        return;
    }
    for which in 0..2 {
        run_in_namespace(which);
    }
}

fn run_in_namespace(which: usize) {
    let spool = Scratch::new("netns-spool");
    let exe = std::env::current_exe().unwrap();
    let script = format!("{SETUP} && exec \"$0\" \"$@\"");
    let mut cmd = clean_command("unshare");
    cmd.args(["-rn", "sh", "-c", &script])
        .arg(exe)
        .args(child_args())
        .env(crate::hostile_support::SCENARIO, "netns")
        .env("TCA_DISGUISE", which.to_string())
        .env("TRUNK_API_TOKEN", TOKEN)
        .env("TRUNK_REPO", "acme/widgets")
        .env("TRUNK_FLUSH_TIMEOUT_MS", "2000")
        .env("TRUNK_SPOOL_DIR", spool.path());
    let (out, stdout, stderr) = run(&mut cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The listener works: the child's own probe reached it.
    assert_eq!(
        field(&stdout, "NETNS", "probe").as_deref(),
        Some("true"),
        "{stdout}"
    );
    assert_eq!(
        field(&stdout, "NETNS", "requests").as_deref(),
        Some("0"),
        "the runtime connected to {OUTSIDER} (disguise {which}):\n{stdout}\n{stderr}"
    );
    assert_eq!(
        field(&stdout, "NETNS", "token").as_deref(),
        Some("false"),
        "the token reached {OUTSIDER} (disguise {which}):\n{stdout}\n{stderr}"
    );
    assert_eq!(
        field(&stdout, "NETNS", "delivered").as_deref(),
        Some("0"),
        "{stdout}\n{stderr}"
    );
}

/// Inside the namespace: listens on the outside address, points the runtime at it through
/// the disguise `TCA_DISGUISE` names, and says what arrived.
pub fn netns_child() {
    let listener = Recorder::start(
        (OUTSIDER, 0),
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    );
    let mut probe = TcpStream::connect(listener.addr()).unwrap();
    probe.write_all(b"PROBE\r\n\r\n").unwrap();
    drop(probe);

    let which = std::env::var("TCA_DISGUISE").unwrap().parse().unwrap();
    let config = Config::from_env()
        .api_address("http://127.0.0.1:9")
        .api_address(disguise(which, listener.addr().port()))
        .summary(false);
    let guard = trunk_ci_analytics::init(config);
    EventBuilder::new("step")
        .key("hostile::netns")
        .start()
        .finish(Conclusion::Success);
    let report = trunk_ci_analytics::flush(Duration::from_secs(2));
    drop(guard);

    // The probe came first; anything after it came from the runtime.
    let connections = listener.connections();
    let probe = connections.first().is_some_and(|c| c.starts_with(b"PROBE"));
    let runtime = connections.get(1..).unwrap_or_default();
    let token = runtime
        .iter()
        .any(|b| b.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
    println!(
        "NETNS probe={probe} token={token} requests={} delivered={}",
        runtime.len(),
        report.delivered
    );
}
