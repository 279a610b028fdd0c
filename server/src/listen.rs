//! The connection layer of `evl serve`: accepting TCP connections and serving HTTP/1.1 on each,
//! with the limits that keep the server available under abuse (docs/http-api.md, "Limits"):
//!
//! - **Header-read and idle timeout** (`server.header_read_timeout_ms`): a connection must send
//!   a request's whole header within it, and an idle keep-alive connection is closed after it.
//!   So idle, half-sent and abandoned keep-alive connections are all closed: none holds a file
//!   descriptor for ever.
//! - **Connection limit** (`server.max_connections`): one more connection is answered
//!   `503 TOO_MANY_CONNECTIONS` (JSON) and closed at once, so the process never runs out of
//!   file descriptors and keeps accepting, and a health check gets an answer under any load.
//! - **Open-file limit**: at start the soft `RLIMIT_NOFILE` is raised to the hard limit
//!   ([`raise_open_file_limit`]).
//! - **Protocol errors carry the JSON body**: a request hyper rejects before it reaches the
//!   router (bad framing, a header or URL too large) gets hyper's status with the API's
//!   `{"code","message"}` body ([`JsonErrors`]).

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Largest request header block hyper accepts, in bytes. Rationale: the API's headers are a
/// bearer token and a few standard fields; 64 KiB leaves room for proxies' additions and is
/// far below the memory a connection may hold. Larger gets `431 HEADER_TOO_LARGE`.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// File descriptors kept free beside the connection limit (the store, logs, exports, the
/// listener). Rationale: a few files per concurrent export or backup stream plus the fixed
/// ones; 64 is generous.
const RESERVED_FDS: u64 = 64;

/// Connection limits and timeouts.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// See the module doc.
    pub header_read_timeout: Duration,
    /// See the module doc.
    pub max_connections: usize,
}

/// Raises the soft open-file limit to the hard limit; returns the soft limit now in force
/// (`None` if it cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    if let (Some(cur), Some(max)) = (lim.current, lim.maximum)
        && cur < max
    {
        match setrlimit(
            Resource::Nofile,
            rustix::process::Rlimit {
                current: Some(max),
                maximum: Some(max),
            },
        ) {
            Ok(()) => tracing::info!(from = cur, to = max, "raised the open-file limit"),
            Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
        }
    }
    let now = getrlimit(Resource::Nofile);
    // No limit (unlimited) reads as None: treat it as large.
    Some(now.current.unwrap_or(u64::MAX))
}

/// The connection limit that fits `open_files` (the soft limit): at most `configured`.
pub fn fitting_connections(configured: usize, open_files: Option<u64>) -> usize {
    match open_files {
        Some(n) => {
            let room = usize::try_from(n.saturating_sub(RESERVED_FDS))
                .unwrap_or(usize::MAX)
                .max(1);
            if room < configured {
                tracing::warn!(
                    configured,
                    open_file_limit = n,
                    using = room,
                    "server.max_connections does not fit the open-file limit; lowered"
                );
            }
            configured.min(room)
        }
        None => configured,
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and waits (at most
/// `grace`, enforced by the caller) for open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let open = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut stop = stop_rx.clone();
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning; nothing is lost.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        if open.load(Ordering::Relaxed) >= limits.max_connections {
            tokio::spawn(refuse(stream));
            continue;
        }
        open.fetch_add(1, Ordering::Relaxed);
        let guard = Open(open.clone());
        let svc = TowerToHyperService::new(app.clone());
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _guard = guard;
            let io = TokioIo::new(JsonErrors::new(stream));
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .keep_alive(true)
                .max_buf_size(MAX_HEADER_BYTES.max(8192));
            let conn = builder.serve_connection(io, svc);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => log_conn_error(r),
                _ = stop.changed() => {
                    // Finish the request in flight, then close.
                    conn.as_mut().graceful_shutdown();
                    log_conn_error(conn.await);
                }
            }
        });
    }
    // Wait for open connections to finish (the caller's grace timer bounds this).
    while open.load(Ordering::Relaxed) > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

fn log_conn_error(r: Result<(), hyper::Error>) {
    if let Err(e) = r
        && !e.is_incomplete_message()
    {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Counts an open connection until dropped.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Answers a connection over the limit with `503 TOO_MANY_CONNECTIONS` and closes it.
async fn refuse(mut stream: tokio::net::TcpStream) {
    let body = r#"{"code":"TOO_MANY_CONNECTIONS","message":"the server has reached its connection limit (server.max_connections); retry shortly"}"#;
    let resp = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(resp.as_bytes())).await;
    let _ = stream.shutdown().await;
}

/// The JSON body of a response hyper writes itself, for a request that never reached the
/// router: its status and the API's error code for it.
fn protocol_error(status: &[u8]) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match status {
        b"400" => (
            "400 Bad Request",
            "BAD_REQUEST",
            "the request is not valid HTTP/1.1 (framing, header syntax or encoding)",
        ),
        b"414" => ("414 URI Too Long", "URI_TOO_LONG", "the request URI is too long"),
        b"431" => (
            "431 Request Header Fields Too Large",
            "HEADER_TOO_LARGE",
            "the request header is larger than the server accepts (64 KiB)",
        ),
        b"505" => (
            "505 HTTP Version Not Supported",
            "HTTP_VERSION_NOT_SUPPORTED",
            "only HTTP/1.1 and HTTP/1.0 are served",
        ),
        _ => return None,
    })
}

/// The connection's stream, with one rewrite on the way out: hyper answers a request it cannot
/// parse with a bodiless error response of its own; that response is replaced by the same status
/// with the API's `{"code","message"}` JSON body. Every response of the router has a body or is
/// not an error, so only hyper's own are rewritten: a write that is one whole response head with
/// status 400, 414, 431 or 505, `content-length: 0` and nothing after the head.
struct JsonErrors<T> {
    inner: T,
    /// A replacement response still to be written, and how much of it was written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> JsonErrors<T> {
    fn new(inner: T) -> Self {
        Self { inner, pending: None }
    }
}

/// The JSON replacement for `buf` if it is hyper's own bodiless protocol-error response.
fn replacement(buf: &[u8]) -> Option<Vec<u8>> {
    let rest = buf.strip_prefix(b"HTTP/1.1 ")?;
    let (status, code, message) = protocol_error(rest.get(..3)?)?;
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    if head_end != buf.len() {
        return None;
    }
    let head = std::str::from_utf8(buf).ok()?.to_ascii_lowercase();
    if !head.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let body = serde_json::json!({"code": code, "message": message}).to_string();
    Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> JsonErrors<T> {
    /// Writes what is left of a replacement; ready once it is all written.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, done)) = &mut self.pending {
            if *done == bytes.len() {
                self.pending = None;
                break;
            }
            let n = std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *done += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrors<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        std::task::ready!(self.poll_pending(cx))?;
        if let Some(r) = replacement(buf) {
            // The caller's bytes count as written once the replacement is queued.
            self.pending = Some((r, 0));
            std::task::ready!(self.poll_pending(cx))?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bodiless_protocol_errors_are_rewritten() {
        let r = replacement(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n",
        )
        .map(|b| String::from_utf8(b).unwrap_or_default());
        let r = r.unwrap_or_default();
        assert!(r.starts_with("HTTP/1.1 431 "), "{r}");
        let body = r.split("\r\n\r\n").nth(1).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(v["code"], "HEADER_TOO_LARGE");
        // A router response (it has a body) and a success are left alone.
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 40\r\n\r\n").is_none());
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}").is_none());
        assert!(replacement(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").is_some());
    }

    #[test]
    fn the_connection_limit_fits_the_open_file_limit() {
        assert_eq!(
            fitting_connections(4096, Some(1024)),
            1024 - RESERVED_FDS as usize
        );
        assert_eq!(fitting_connections(100, Some(1_048_576)), 100);
        assert_eq!(fitting_connections(100, None), 100);
        assert_eq!(fitting_connections(100, Some(10)), 1);
    }
}
