//! Admission: how many requests may be in progress, and the 503 beyond.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::edge::error::{ApiErr, with_request_id};

/// Admission of authenticated requests whose body has arrived: at most `limit` are
/// running or waiting, and a few run at once (twice the cores, at least 4), so that under
/// a burst the excess is answered at once instead of queueing in sockets. Slow bodies do
/// not count: they are read before admission (and bounded by the body-read timeout).
pub(crate) struct Admission {
    admitted: AtomicUsize,
    limit: usize,
    running: tokio::sync::Semaphore,
}

impl Admission {
    pub(crate) fn new(limit: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self {
            admitted: AtomicUsize::new(0),
            limit: limit.max(1),
            running: tokio::sync::Semaphore::new((2 * cores).max(4)),
        }
    }

    /// Runs `work` once admitted; a 503 when `limit` requests are admitted already.
    pub(crate) async fn run(&self, work: impl Future<Output = Response>) -> Response {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.limit {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            tracing::debug!(
                limit = self.limit,
                "requests in progress at the limit; answering 503"
            );
            return busy(format!(
                "{} requests are in progress (behaviour.max_in_flight); retry after a second",
                self.limit
            ));
        }
        let _admitted = Admitted(&self.admitted);
        let Ok(_running) = self.running.acquire().await else {
            return busy("the sandbox is stopping".into());
        };
        work.await
    }
}

/// Counts an admitted request until it is answered (or its caller went away).
struct Admitted<'a>(&'a AtomicUsize);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The answer when the sandbox cannot take more: 503 `SYSTEM_ERROR` with `Retry-After`,
/// unsigned (it is given before the caller is known, as a load balancer would).
pub(crate) fn busy(issue: String) -> Response {
    let mut r = ApiErr::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "SYSTEM_ERROR",
        "系统繁忙，请稍后重试",
    )
    .why(issue)
    .into_response();
    r.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("1"),
    );
    with_request_id(r)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn beyond_the_limit_requests_get_503_until_one_ends() {
        let admission = Arc::new(Admission::new(1));
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let a = admission.clone();
            async move {
                a.run(async {
                    let _ = wait.await;
                    StatusCode::NO_CONTENT.into_response()
                })
                .await
            }
        });
        while admission.admitted.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        let shed = admission
            .run(async { StatusCode::OK.into_response() })
            .await;
        assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(shed.headers()["retry-after"], "1");
        assert!(shed.headers().contains_key("request-id"));
        let body = axum::body::to_bytes(shed.into_body(), 4096).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "SYSTEM_ERROR");
        assert!(
            body["detail"]["issue"]
                .as_str()
                .unwrap()
                .contains("max_in_flight")
        );

        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(admission.admitted.load(Ordering::Acquire), 0);
        let ok = admission
            .run(async { StatusCode::OK.into_response() })
            .await;
        assert_eq!(ok.status(), StatusCode::OK);
    }
}
