//! The HTTP/1.1 server loop, and what keeps it serving under load and slow clients:
//! idle, header-read and body-read timeouts, a connection limit that first closes
//! connections that never made a request (as nginx reuses its waiting connections), and a
//! limit on requests in progress beyond which answers are an immediate 503. All are
//! `[behaviour]` settings.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::Behaviour;
use crate::console::helpers::Peer;
use crate::edge::admission::busy;
use crate::edge::faults::DropConnection;

const LIMIT_REACHED: &str = "connection limit reached";

/// The connection limits, from `[behaviour]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    idle: Option<Duration>,
    header_read: Option<Duration>,
    max_connections: usize,
}

impl Limits {
    pub(crate) fn new(b: &Behaviour) -> Self {
        let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        Self {
            idle: secs(b.idle_timeout_secs),
            header_read: secs(b.header_read_timeout_secs),
            max_connections: b.max_connections.max(1),
        }
    }

    /// How often a connection's timers are looked at: a quarter of the shortest timeout,
    /// between 10 ms and 1 s.
    fn tick(&self) -> Duration {
        let shortest = [self.idle, self.header_read].into_iter().flatten().min();
        shortest.map_or(Duration::from_secs(1), |d| {
            (d / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
        })
    }
}

/// What the server knows of one connection. Times are milliseconds since the server
/// started.
struct Activity {
    /// Last byte read or written.
    last_io: AtomicU64,
    /// When the first byte of the next request's head arrived (`u64::MAX`: not yet).
    head_started: AtomicU64,
    /// Requests being handled.
    busy: AtomicU32,
    /// Whether a request was ever made on it.
    used: AtomicBool,
    /// Asked to close for the connection limit.
    closing: AtomicBool,
    close: Notify,
}

impl Activity {
    /// Waiting for a request, with no byte of it yet: closing it loses nothing.
    fn waiting(&self) -> bool {
        self.busy.load(Ordering::Acquire) == 0
            && self.head_started.load(Ordering::Acquire) == u64::MAX
    }
}

struct Server {
    started: Instant,
    limits: Limits,
    next_id: AtomicU64,
    connections: Mutex<HashMap<u64, Arc<Activity>>>,
}

impl Server {
    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Registers a new connection, closing the one that has waited longest for a first
    /// request when the limit is reached; `None` when none can be taken.
    fn admit(&self) -> Option<(u64, Arc<Activity>)> {
        let mut conns = self
            .connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if conns.len() >= self.limits.max_connections {
            // Only a connection that never made a request and has been quiet for a second
            // is taken: a client's kept-alive connection, or a young one whose request may
            // be on its way, would lose that request.
            let quiet_since = self.now().saturating_sub(1000);
            let (&id, oldest) = conns
                .iter()
                .filter(|(_, a)| {
                    a.waiting()
                        && !a.used.load(Ordering::Acquire)
                        && !a.closing.load(Ordering::Acquire)
                        && a.last_io.load(Ordering::Relaxed) <= quiet_since
                })
                .min_by_key(|&(&id, a)| (a.last_io.load(Ordering::Relaxed), id))?;
            // It leaves the table when its task ends (it may turn out to hold a request).
            oldest.closing.store(true, Ordering::Release);
            oldest.close.notify_one();
            tracing::debug!(
                limit = self.limits.max_connections,
                id,
                "connection limit reached; closing the connection that waited longest for a request"
            );
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let a = Arc::new(Activity {
            last_io: AtomicU64::new(self.now()),
            head_started: AtomicU64::new(u64::MAX),
            busy: AtomicU32::new(0),
            used: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            close: Notify::new(),
        });
        conns.insert(id, a.clone());
        Some((id, a))
    }

    fn forget(&self, id: u64) {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
    }

    /// Resolves when the connection must close, with the reason.
    async fn watch(&self, a: &Activity) -> &'static str {
        let tick = self.limits.tick();
        loop {
            tokio::select! {
                () = a.close.notified() => return LIMIT_REACHED,
                () = tokio::time::sleep(tick) => {}
            }
            let now = self.now();
            let head = a.head_started.load(Ordering::Acquire);
            if let Some(limit) = self.limits.header_read
                && head != u64::MAX
                && now.saturating_sub(head) > millis(limit)
            {
                return "request head not complete within behaviour.header_read_timeout_secs";
            }
            if let Some(limit) = self.limits.idle
                && a.waiting()
                && now.saturating_sub(a.last_io.load(Ordering::Acquire)) > millis(limit)
            {
                return "idle for behaviour.idle_timeout_secs";
            }
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A socket that reports its reads and writes to its [`Activity`].
struct Watched<S> {
    inner: S,
    server: Arc<Server>,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            let now = self.server.now();
            let a = &self.activity;
            a.last_io.store(now, Ordering::Release);
            if a.busy.load(Ordering::Acquire) == 0 {
                let _ = a.head_started.compare_exchange(
                    u64::MAX,
                    now,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            let now = self.server.now();
            self.activity.last_io.store(now, Ordering::Release);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Marks the connection busy while its request is handled (the head has arrived).
struct Busy(Arc<Activity>);

impl Busy {
    fn new(a: &Arc<Activity>) -> Self {
        a.busy.fetch_add(1, Ordering::AcqRel);
        a.used.store(true, Ordering::Release);
        a.head_started.store(u64::MAX, Ordering::Release);
        Self(a.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves HTTP/1.1 until `stop`.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let server = Arc::new(Server {
        started: Instant::now(),
        limits,
        next_id: AtomicU64::new(0),
        connections: Mutex::new(HashMap::new()),
    });
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let Some((id, activity)) = server.admit() else {
            connections.spawn(refuse(stream, server.limits.max_connections));
            continue;
        };
        let peer = Peer(peer);
        let a = activity.clone();
        let service = tower::ServiceExt::map_request(
            app.clone(),
            move |r: http::Request<hyper::body::Incoming>| {
                let mut r = r.map(axum::body::Body::new);
                r.extensions_mut().insert(peer);
                r.extensions_mut().insert(Arc::new(Busy::new(&a)));
                r
            },
        );
        // A response marked DropConnection (a fault a test asked for) is not written: the
        // service fails, and the connection closes without an answer.
        let service = hyper_util::service::TowerToHyperService::new(tower::ServiceExt::map_result(
            service,
            |r: Result<axum::response::Response, std::convert::Infallible>| {
                let Ok(resp) = r;
                if resp.extensions().get::<DropConnection>().is_some() {
                    return Err(Dropped);
                }
                Ok(resp)
            },
        ));
        let io = Watched {
            inner: stream,
            server: server.clone(),
            activity: activity.clone(),
        };
        let mut stop = stop.clone();
        let server = server.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            // A request head larger than this is refused (431); it bounds what a slow
            // client can make the server hold.
            builder.max_buf_size(16 * 1024);
            let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(io), service);
            let mut conn = std::pin::pin!(conn);
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    reason = server.watch(&activity) => {
                        if reason == LIMIT_REACHED {
                            // Its request may be waiting unread (an overloaded server polls
                            // late): let the connection read once, and keep it if one came.
                            if tokio::time::timeout(Duration::ZERO, conn.as_mut()).await.is_ok() {
                                break;
                            }
                            if !activity.waiting() {
                                activity.closing.store(false, Ordering::Release);
                                continue;
                            }
                        }
                        tracing::debug!(reason, "closing connection");
                        break;
                    }
                    () = stopped(&mut stop) => {
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.await;
                        break;
                    }
                }
            }
            server.forget(id);
        });
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
}

/// Answers a connection over the limit with a 503 and closes it: once its request head
/// has arrived (an answer before the request confuses clients), then reading what else
/// it sends until it closes (closing with unread bytes would reset the connection and
/// could lose the answer). At most five seconds in all.
async fn refuse(mut stream: tokio::net::TcpStream, limit: usize) {
    let resp = busy(format!(
        "{limit} connections are open (behaviour.max_connections) and none has been waiting a second for its first request"
    ));
    let (parts, body) = resp.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return;
    };
    let mut head = format!("HTTP/1.1 {}\r\n", parts.status);
    for (k, v) in &parts.headers {
        if let Ok(v) = v.to_str() {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let answer = async {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < 16 * 1024 {
            match stream.read(&mut buf).await? {
                0 => return Ok(()),
                n => seen.extend_from_slice(&buf[..n]),
            }
        }
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.shutdown().await?;
        while stream.read(&mut buf).await? > 0 {}
        Ok::<_, io::Error>(())
    };
    // Long enough for an overloaded server to read the head; then closed either way.
    let _ = tokio::time::timeout(Duration::from_secs(5), answer).await;
}

/// Listens on `addr` with a backlog of 4096 connections waiting to be accepted (the
/// kernel caps it at `net.core.somaxconn`): under a burst, a full backlog drops
/// handshakes, and clients that already sent their request get it reset.
pub(crate) async fn listen(addr: &str) -> io::Result<tokio::net::TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(a).and_then(|()| socket.listen(4096)) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address")))
}

/// Resolves when `stop` turns true (or its sender is gone).
pub(crate) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The connection of a response marked [`DropConnection`] was closed on purpose.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed without an answer (a fault a test asked for)")
    }
}

impl std::error::Error for Dropped {}

impl From<std::convert::Infallible> for Dropped {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}
