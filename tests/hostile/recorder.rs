//! A listener that records what each connection sends, for tests whose point is that nothing
//! (or only a tunnel request) reaches it. Whether something arrived is known without waiting
//! an arbitrary time: [`Recorder::connections`] connects once more itself, and the kernel
//! hands connections to `accept` in the order they were made, so once its own is accepted,
//! every connection made before it has been too.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Longest wait for the listener's thread to take the test's own closing connection.
const SETTLE_LIMIT: Duration = Duration::from_secs(30);

/// What one connection sent so far, filled by its reading thread.
type Bytes = Arc<Mutex<Vec<u8>>>;

#[derive(Default)]
struct Seen {
    /// Each accepted connection's peer, and its bytes as read so far, in accept order.
    connections: Vec<(Option<SocketAddr>, Bytes)>,
    /// Peers of the connections [`Recorder::connections`] made itself.
    markers: HashSet<SocketAddr>,
}

/// Listens on `addr`; each connection's bytes are recorded as they are read, and the first
/// request head (`\r\n\r\n`) on it is answered with `answer` — after it was recorded, so a
/// client that got its answer has left its bytes here.
pub struct Recorder {
    addr: SocketAddr,
    seen: Arc<(Mutex<Seen>, Condvar)>,
}

impl Recorder {
    pub fn start(addr: impl ToSocketAddrs, answer: &'static [u8]) -> Recorder {
        let listener = TcpListener::bind(addr).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new((Mutex::new(Seen::default()), Condvar::new()));
        let shared = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let buf = Arc::new(Mutex::new(Vec::new()));
                let (lock, changed) = &*shared;
                lock.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .connections
                    .push((stream.peer_addr().ok(), Arc::clone(&buf)));
                changed.notify_all();
                std::thread::spawn(move || record(stream, &buf, answer));
            }
        });
        Recorder { addr, seen }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bytes of every connection made before this call (but its own), each as read so
    /// far.
    pub fn connections(&self) -> Vec<Vec<u8>> {
        let marker = TcpStream::connect(self.addr).unwrap();
        let local = marker.local_addr().unwrap();
        let (lock, changed) = &*self.seen;
        let mut seen = lock.lock().unwrap_or_else(PoisonError::into_inner);
        seen.markers.insert(local);
        let (seen, timeout) = changed
            .wait_timeout_while(seen, SETTLE_LIMIT, |s| {
                !s.connections.iter().any(|(peer, _)| *peer == Some(local))
            })
            .unwrap_or_else(PoisonError::into_inner);
        assert!(
            !timeout.timed_out(),
            "the listener never took its own connection"
        );
        seen.connections
            .iter()
            .take_while(|(peer, _)| *peer != Some(local))
            .filter(|(peer, _)| !peer.is_some_and(|p| seen.markers.contains(&p)))
            .map(|(_, c)| c.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .collect()
    }
}

/// Reads `stream` to its end (or a pause of five seconds), recording into `buf`.
fn record(mut stream: TcpStream, buf: &Mutex<Vec<u8>>, answer: &[u8]) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut chunk = [0u8; 4096];
    let mut answered = false;
    while let Ok(n) = stream.read(&mut chunk) {
        if n == 0 {
            break;
        }
        let mut seen = buf.lock().unwrap_or_else(PoisonError::into_inner);
        seen.extend_from_slice(&chunk[..n]);
        let head_done = seen.windows(4).any(|w| w == b"\r\n\r\n");
        drop(seen);
        if head_done && !answered {
            answered = true;
            let _ = stream.write_all(answer);
        }
    }
}
