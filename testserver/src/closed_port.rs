//! An endpoint that is down: a loopback port that refuses every connection, and that nothing
//! else can take while a test relies on it being closed.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};

use socket2::{Domain, Socket, Type};

/// A loopback port where nothing listens, for as long as this lives: connections to it are
/// refused at once. A socket bound to it (but not listening) holds it, so no other process or
/// test can listen there meanwhile, and no outgoing connection is given it as its own port —
/// unlike a port that was bound, released and only assumed to stay closed.
/// [`Builder::start_on`](crate::Builder::start_on) brings the endpoint up on the very same
/// port later, with no moment in which another socket could take it.
///
/// ```
/// use std::io::ErrorKind;
/// use trunk_ci_analytics_testserver::{ClosedPort, TestServer};
///
/// let down = ClosedPort::new();
/// let err = std::net::TcpStream::connect(down.addr()).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
/// let url = down.url();
/// let server = TestServer::builder().start_on(down)?;
/// assert_eq!(server.url(), url);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ClosedPort {
    socket: Socket,
    addr: SocketAddr,
}

impl ClosedPort {
    /// Takes an ephemeral loopback port and proves it refuses connections.
    ///
    /// Panics if it cannot, as [`TestServer::start`](crate::TestServer::start) does: it is
    /// meant for tests.
    pub fn new() -> ClosedPort {
        let port = ClosedPort::bind().unwrap_or_else(|e| panic!("cannot hold a closed port: {e}"));
        match TcpStream::connect(port.addr) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => port,
            other => panic!("{} should refuse connections: {other:?}", port.addr),
        }
    }

    fn bind() -> io::Result<ClosedPort> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        // No SO_REUSEADDR: no other socket may bind the port while this one holds it.
        socket.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
        let addr = socket
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an IP socket"))?;
        Ok(ClosedPort { socket, addr })
    }

    /// The address, `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, for `TRUNK_PUBLIC_API_ADDRESS` or
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts listening on the held socket itself.
    pub(crate) fn listen(self) -> io::Result<TcpListener> {
        self.socket.listen(1024)?;
        Ok(self.socket.into())
    }
}

impl Default for ClosedPort {
    fn default() -> ClosedPort {
        ClosedPort::new()
    }
}
