//! The blocking client: the same API as [`crate::Client`] without `.await`.
//!
//! It drives the async client on a small runtime of its own (one worker thread), so both
//! share one implementation of signing, verification, retries and certificates.
//!
//! # Panics
//! Like `reqwest::blocking`, calling it from inside an async runtime panics: use the async
//! [`crate::Client`] there.
//!
//! ```no_run
//! # fn run(req: wechatpay_models::v3::payscore::partner::serviceorder::DirectCompleteRequest) -> wechatpay::Result<()> {
//! let client = wechatpay::Client::builder()
//!     .mchid("1900000109")
//!     .serial("4096EE819812D60B81028D52CCC299E81E260B72")
//!     .private_key_file("apiclient_key.pem")
//!     .wechatpay_public_key("PUB_KEY_ID_0119000001092025010195539798365202", &std::fs::read_to_string("pub_key.pem").unwrap())
//!     .build_blocking()?;
//! client.v3().payscore().partner().serviceorder().direct_complete().post(&req)?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::Method;

use wechatpay_models::Endpoint;

use crate::chain::{Chain, ChainClient};
use crate::error::{BuildError, Error, Result};
use crate::response::Response;

/// The blocking client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: crate::Client,
    rt: Arc<Runtime>,
}

struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        // Never block (or panic) when the last clone is dropped inside another runtime.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl Runtime {
    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        match &self.0 {
            Some(rt) => rt.block_on(f),
            None => unreachable_runtime(),
        }
    }
}

#[cold]
fn unreachable_runtime() -> ! {
    // `Runtime.0` is only `None` inside `drop`.
    panic!("wechatpay blocking runtime used after drop")
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::Client")
            .field(&self.inner)
            .finish()
    }
}

impl crate::ClientBuilder {
    /// Builds a [`blocking::Client`](Client).
    ///
    /// # Errors
    /// As [`build`](crate::ClientBuilder::build), or when the runtime cannot start.
    pub fn build_blocking(self) -> Result<Client> {
        Client::from_async(self.build()?)
    }
}

impl Client {
    /// Wraps an async client.
    ///
    /// # Errors
    /// [`BuildError::Runtime`] when the runtime cannot start.
    pub fn from_async(inner: crate::Client) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("wechatpay-blocking")
            .enable_all()
            .build()
            .map_err(|e| BuildError::Runtime {
                what: "runtime",
                source: Box::new(e),
            })?;
        Ok(Self {
            inner,
            rt: Arc::new(Runtime(Some(rt))),
        })
    }

    /// The async client inside.
    #[must_use]
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    /// See [`crate::Client::send`].
    ///
    /// # Errors
    /// As the async version.
    pub fn send<E: Endpoint>(&self, req: &E) -> Result<E::Response> {
        self.rt.block_on(self.inner.send(req))
    }

    /// See [`crate::Client::execute`].
    ///
    /// # Errors
    /// As the async version.
    pub fn execute(&self, request: http::Request<Bytes>) -> Result<Response> {
        self.rt.block_on(self.inner.execute(request))
    }

    /// See [`crate::Client::refresh_certificates`].
    ///
    /// # Errors
    /// As the async version.
    pub fn refresh_certificates(&self) -> Result<Vec<String>> {
        self.rt.block_on(self.inner.refresh_certificates())
    }

    /// See [`crate::Client::callback_verifier`].
    ///
    /// # Errors
    /// As the async version.
    pub fn callback_verifier(&self) -> Result<crate::notify::CallbackVerifier, BuildError> {
        self.inner.callback_verifier()
    }

    /// See [`crate::Client::encrypt_sensitive`].
    ///
    /// # Errors
    /// As the async version.
    pub fn encrypt_sensitive(&self, plaintext: &str) -> Result<String> {
        self.inner.encrypt_sensitive(plaintext)
    }

    /// Downloads a bill and saves it verified ([`crate::Client::download_bill`], then
    /// [`crate::Download::save`]).
    ///
    /// # Errors
    /// As the async versions.
    pub fn save_bill(
        &self,
        link: &wechatpay_models::v3::bill::BillLink,
        path: impl AsRef<std::path::Path>,
    ) -> Result<crate::Saved> {
        self.rt
            .block_on(async { self.inner.download_bill(link).await?.save(path).await })
    }

    /// See [`crate::Client::save_encrypted_bill`].
    ///
    /// # Errors
    /// As the async version.
    pub fn save_encrypted_bill(
        &self,
        bills: &wechatpay_models::v3::bill::EncryptedBills,
        path: impl AsRef<std::path::Path>,
    ) -> Result<crate::Saved> {
        self.rt
            .block_on(self.inner.save_encrypted_bill(bills, path))
    }

    /// Downloads a trade bill as rows, streamed ([`crate::TradeBillRows`]): iterate, then
    /// read [`TradeBillRows::summary`].
    ///
    /// # Errors
    /// As [`crate::Client::download_bill`].
    pub fn trade_bill_rows(
        &self,
        link: &wechatpay_models::v3::bill::BillLink,
    ) -> Result<TradeBillRows> {
        let rows = self
            .rt
            .block_on(self.inner.download_bill(link))?
            .trade_rows();
        Ok(TradeBillRows {
            rows,
            rt: self.rt.clone(),
            done: false,
        })
    }

    /// See [`crate::Client::chain`].
    pub fn chain(&self, path: &str) -> Chain<Client> {
        Chain::new(self.clone(), path)
    }

    /// See [`crate::Client::v3`].
    pub fn v3(&self) -> crate::fluent::V3<Client> {
        crate::fluent::V3::new(self.clone())
    }
}

impl crate::chain::private::Sealed for Client {}

impl ChainClient for Client {
    type Output<T: Send + 'static> = Result<T>;

    fn send_endpoint<E: Endpoint>(&self, req: &E) -> Result<E::Response> {
        let fut = self.inner.send_endpoint(req);
        self.rt.block_on(fut)
    }

    fn send_raw(
        &self,
        method: Method,
        target: Result<String>,
        body: Result<Bytes>,
    ) -> Result<Response> {
        let fut = self.inner.send_raw(method, target, body);
        self.rt.block_on(fut)
    }

    fn fail<T: Send + 'static>(&self, error: Error) -> Result<T> {
        Err(error)
    }
}

/// The rows of a downloaded trade bill, streamed: an iterator of rows. The last item is
/// an error if the hash or the summary does not match; rows are provisional until the
/// iterator ends without one.
pub struct TradeBillRows {
    rows: crate::TradeBillRows,
    rt: Arc<Runtime>,
    done: bool,
}

impl fmt::Debug for TradeBillRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::TradeBillRows")
            .field(&self.rows)
            .finish()
    }
}

impl TradeBillRows {
    /// The summary, checked against the rows, once the iterator has ended.
    #[must_use]
    pub fn summary(&self) -> Option<&wechatpay_models::v3::bill::trade::TradeBillSummary> {
        self.rows.summary()
    }

    /// SHA-1 of the bill, once the iterator has ended.
    #[must_use]
    pub fn sha1(&self) -> Option<&str> {
        self.rows.sha1()
    }
}

impl Iterator for TradeBillRows {
    type Item = Result<wechatpay_models::v3::bill::trade::TradeBillRow>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.rt.block_on(self.rows.next_row());
        match next {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
