//! Slow and greedy clients (issue 13): the `[behaviour]` timeouts and limits cut them off
//! with clear answers, and well-behaved clients keep being served. The full trial, with
//! numbers, is `scripts/overload.sh` (docs/reliability.md).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Env, env_with, unique};

const DIRECT_COMPLETE: &str = "/v3/payscore/partner/serviceorder/direct-complete";

async fn connect(env: &Env) -> TcpStream {
    TcpStream::connect(env.sandbox.addr()).await.unwrap()
}

/// A request head for `DIRECT_COMPLETE` announcing `len` body bytes.
fn head(len: usize) -> String {
    format!(
        "POST {DIRECT_COMPLETE} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nUser-Agent: t\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
    )
}

/// Everything the server sends until it closes (or 10 s pass, which fails the test).
async fn read_to_close(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .ok();
    String::from_utf8_lossy(&out).into_owned()
}

/// A connection that has sent its head and part of its body: its request is in progress.
async fn busy(env: &Env) -> TcpStream {
    let mut s = connect(env).await;
    s.write_all(head(100).as_bytes()).await.unwrap();
    s.write_all(b"{\"out_").await.unwrap();
    s
}

#[tokio::test]
async fn headers_sent_a_byte_at_a_time_are_cut_off() {
    let env = env_with(|c| {
        c.behaviour.header_read_timeout_secs = 1;
        c.behaviour.idle_timeout_secs = 0;
    })
    .await;
    let mut s = connect(&env).await;
    let started = std::time::Instant::now();
    let mut closed = false;
    for b in head(0).bytes() {
        if s.write_all(&[b]).await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 64];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "the slow head was cut off before it was complete");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_slow_body_gets_408_and_an_oversized_one_413() {
    let env = env_with(|c| c.behaviour.body_read_timeout_secs = 1).await;
    let mut s = busy(&env).await;
    let answer = read_to_close(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"INVALID_REQUEST\""), "{answer}");
    assert!(answer.contains("body_read_timeout_secs"), "{answer}");

    let mut s = connect(&env).await;
    let body = vec![b' '; 64 * 1024 + 1];
    s.write_all(head(body.len()).as_bytes()).await.unwrap();
    let _ = s.write_all(&body).await;
    let answer = read_to_close(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("max_body_bytes"), "{answer}");
}

#[tokio::test]
async fn at_the_connection_limit_the_longest_idle_connection_makes_room() {
    let env = env_with(|c| {
        c.behaviour.max_connections = 4;
        c.behaviour.idle_timeout_secs = 0;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(connect(&env).await);
    }
    // Only a connection that never made a request and has been quiet for a second may be
    // taken.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let client = env.builder().build().unwrap();
    client
        .send(&env.order(&unique("LIM")))
        .await
        .expect("served");
    // The first idle connection was closed for it; the others are still open.
    let mut first = idle.remove(0);
    assert_eq!(read_to_close(&mut first).await, "");
    for mut s in idle {
        let mut buf = [0u8; 1];
        let r = tokio::time::timeout(Duration::from_millis(50), s.read(&mut buf)).await;
        assert!(r.is_err(), "still open: {r:?}");
    }
}

#[tokio::test]
async fn when_every_connection_is_busy_a_new_one_gets_503() {
    let env = env_with(|c| {
        c.behaviour.max_connections = 2;
        c.behaviour.body_read_timeout_secs = 60;
    })
    .await;
    let slow = [busy(&env).await, busy(&env).await];
    // Both are in a request once the sandbox has answered a third connection with 503,
    // after its request head arrived.
    let mut s = connect(&env).await;
    s.write_all(head(2).as_bytes()).await.unwrap();
    s.write_all(b"{}").await.unwrap();
    let answer = read_to_close(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
    assert!(answer.contains("\"code\":\"SYSTEM_ERROR\""), "{answer}");
    assert!(answer.contains("max_connections"), "{answer}");
    drop(slow);
    // The slow requests end with their connections; the next caller is served.
    let client = env.builder().max_retries(3).build().unwrap();
    client
        .send(&env.order(&unique("AFT")))
        .await
        .expect("served again");
}

/// While 200 idle connections and 20 slow heads hold a server limited to 64 connections,
/// an SDK client is served every time.
#[tokio::test]
async fn well_behaved_clients_are_served_under_attack() {
    let env = env_with(|c| {
        c.behaviour.max_connections = 64;
        c.behaviour.header_read_timeout_secs = 2;
    })
    .await;
    let mut attackers = Vec::new();
    for i in 0..220 {
        let mut s = connect(&env).await;
        if i % 11 == 0 {
            let _ = s.write_all(b"POST / HTTP/1.1\r\nHo").await;
        }
        attackers.push(s);
    }
    let client = env.builder().max_retries(3).build().unwrap();
    for _ in 0..20 {
        client
            .send(&env.order(&unique("WB")))
            .await
            .expect("served under attack");
    }
}
