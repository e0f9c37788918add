//! Accepting connections and serving each with hyper, with a way for a request to kill its
//! connection (the `Reset` and `Stall` faults).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::control::Control;
use crate::handler::handle;
use crate::state::Shared;

/// Serves until the task running it is dropped (the server shutting down).
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connection = 0u64;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                // Small responses must not wait for delayed ACKs (benchmarks measure this path).
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, connection, Arc::clone(&shared)));
                connection += 1;
            }
            // Out of file descriptors and the like: pause instead of spinning, then go on.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn serve(stream: TcpStream, connection: u64, shared: Arc<Shared>) {
    let control = Arc::new(Control::default());
    let io = TokioIo::new(Socket {
        stream,
        control: Arc::clone(&control),
    });
    let service = {
        let control = Arc::clone(&control);
        service_fn(move |request| {
            handle(
                request,
                Arc::clone(&shared),
                Arc::clone(&control),
                connection,
            )
        })
    };
    // Keep-alive is hyper's default: the uploader sends every batch over one connection.
    let connection = http1::Builder::new().serve_connection(io, service);
    tokio::select! {
        // Client gone or protocol errors are the client's business; nothing to report here.
        _ = connection => {}
        // Dropping the connection drops the socket, which closes it (see `Socket::drop`).
        () = control.aborted() => {}
    }
}

/// The TCP stream, closed by a RST when its connection was aborted with `reset`.
struct Socket {
    stream: TcpStream,
    control: Arc<Control>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        if self.control.is_reset() {
            // With a zero linger, close() discards the socket and sends RST instead of FIN.
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
