//! Requests that did not complete: what failed, and what became of the request.

/// Kinds of transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// The connection could not be made, or not in time: the request was not sent.
    Connect,
    /// The request was sent; no complete answer came within the timeout or deadline.
    Timeout,
    /// The connection closed or reset before the whole answer arrived.
    Closed,
    /// The answer was larger than the configured maximum
    /// ([`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)).
    TooLarge,
    /// Anything else (the request may have been sent).
    Other,
}

/// The request did not complete.
#[derive(Debug, thiserror::Error)]
#[error(
    "{what} {host}{after}{outcome}",
    what = match kind {
        TransportKind::Connect => "cannot connect to",
        TransportKind::Timeout => "no answer in time from",
        TransportKind::Closed => "connection closed before the whole answer from",
        TransportKind::TooLarge => "answer too large from",
        TransportKind::Other => "request failed to",
    },
    after = if *attempts > 1 { format!(" after {attempts} attempts") } else { String::new() },
    outcome = match outcome {
        Outcome::MaybeProcessed => " — the request may have been processed: query before sending it again",
        Outcome::ReadOnly => " — the request was sent; it only reads, so it can be sent again",
        Outcome::NotSent => " — nothing was sent",
    }
)]
pub struct TransportError {
    pub(crate) kind: TransportKind,
    pub(crate) host: String,
    pub(crate) attempts: u32,
    pub(crate) outcome: Outcome,
    #[source]
    pub(crate) source: Box<dyn std::error::Error + Send + Sync>,
}

impl TransportError {
    /// What kind of failure (of the last attempt).
    #[must_use]
    pub fn kind(&self) -> TransportKind {
        self.kind
    }

    /// Attempts made.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether any attempt may have reached WeChat Pay and been processed (never for a
    /// request that only reads: a query, a certificate or file download).
    #[must_use]
    pub fn maybe_processed(&self) -> bool {
        self.outcome == Outcome::MaybeProcessed
    }

    /// Whether no attempt was sent at all.
    #[must_use]
    pub fn is_not_sent(&self) -> bool {
        self.outcome == Outcome::NotSent
    }
}

/// What became of a request that did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// No attempt reached the server.
    NotSent,
    /// Sent, but it only reads (GET): nothing was processed.
    ReadOnly,
    /// Sent, and it changes something: it may have been processed.
    MaybeProcessed,
}
