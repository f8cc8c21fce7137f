//! The untyped path chain, and [`ChainClient`], what both chains run on.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::Method;
use serde::Serialize;
use wechatpay_models::{Endpoint, fill_template};

use crate::client::Client;
use crate::error::{BuildError, Error, Result};
use crate::response::Response;

/// A boxed, `Send`, `'static` future, as the async client's chain verbs return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'static>>;

pub(crate) mod private {
    pub trait Sealed {}
    impl Sealed for crate::Client {}
}

/// The client a chain runs on: the async [`Client`] (verbs return futures) or, with the
/// `blocking` feature, [`blocking::Client`](crate::blocking::Client) (verbs return
/// results). Sealed.
pub trait ChainClient: private::Sealed + Clone + Send + Sync + 'static {
    /// `BoxFuture<T>` for the async client, `Result<T>` for the blocking one.
    type Output<T: Send + 'static>;
    #[doc(hidden)]
    fn send_endpoint<E: Endpoint>(&self, req: &E) -> Self::Output<E::Response>;
    #[doc(hidden)]
    fn send_raw(
        &self,
        method: Method,
        target: Result<String>,
        body: Result<Bytes>,
    ) -> Self::Output<Response>;
    #[doc(hidden)]
    fn fail<T: Send + 'static>(&self, error: Error) -> Self::Output<T>;
}

impl ChainClient for Client {
    type Output<T: Send + 'static> = BoxFuture<T>;

    fn send_endpoint<E: Endpoint>(&self, req: &E) -> BoxFuture<E::Response> {
        let prepared = self.prepare(req);
        let this = self.clone();
        Box::pin(async move { prepared?.send(&this).await })
    }

    fn send_raw(
        &self,
        method: Method,
        target: Result<String>,
        body: Result<Bytes>,
    ) -> BoxFuture<Response> {
        let this = self.clone();
        Box::pin(async move {
            this.execute_parts(crate::client::Outgoing::raw(method, target?, body?))
                .await
        })
    }

    fn fail<T: Send + 'static>(&self, error: Error) -> BoxFuture<T> {
        Box::pin(std::future::ready(Err(error)))
    }
}

impl Client {
    /// A raw chain for any endpoint: `client.chain("v3/…/{param}/…").param(…).post(&json)`.
    pub fn chain(&self, path: &str) -> Chain<Client> {
        Chain::new(self.clone(), path)
    }
}

/// Serialises a JSON body once; those exact bytes are signed and sent.
fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<Bytes> {
    serde_json::to_vec(v)
        .map(Bytes::from)
        .map_err(|e| BuildError::Serialize(Box::new(e)).into())
}

/// A path chain for any endpoint, as the PHP and Node SDKs offer:
///
/// ```no_run
/// # async fn run(client: wechatpay::Client) -> wechatpay::Result<()> {
/// let answer = client
///     .chain("v3/payscore/partner/serviceorder/{out_order_no}/cancel")
///     .param("out_order_no", "RENT20251126000001")
///     .post(&serde_json::json!({"sub_mchid": "1900000109", "reason": "user cancelled"}))
///     .await?;
/// assert_eq!(answer.status(), 204);
///
/// let order: serde_json::Value = client
///     .chain("v3/payscore/partner/serviceorder")
///     .query("service_id", "500001")
///     .query("sub_mchid", "1900000109")
///     .query("out_order_no", "RENT20251126000001")
///     .get()
///     .await?
///     .json()?;
/// # Ok(()) }
/// ```
///
/// `{param}` values keep their case and are percent-encoded; a placeholder left without a
/// value is an [`Error::Build`](crate::Error::Build) when the verb is called.
#[derive(Debug, Clone)]
#[must_use]
pub struct Chain<C> {
    pub(crate) client: C,
    path: String,
    params: Vec<(String, String)>,
    query: Vec<(String, String)>,
}

impl<C: ChainClient> Chain<C> {
    pub(crate) fn new(client: C, path: &str) -> Self {
        let path = path.trim_matches('/');
        Self {
            client,
            path: format!("/{path}"),
            params: Vec::new(),
            query: Vec::new(),
        }
    }

    pub(crate) fn join(mut self, segment: &str) -> Self {
        self.path.push('/');
        self.path.push_str(segment);
        self
    }

    /// Sets the value of `{name}` in the path.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Appends a query parameter.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// The path with parameters substituted and the query appended, as it will be signed.
    ///
    /// # Errors
    /// [`BuildError::UnfilledParam`] for a `{param}` without a value.
    pub fn target(&self) -> Result<String> {
        fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
            v.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect()
        }
        Ok(
            fill_template(&self.path, &pairs(&self.params), &pairs(&self.query))
                .map_err(BuildError::from)?,
        )
    }

    fn verb(&self, method: Method, body: Result<Bytes>) -> C::Output<Response> {
        self.client.send_raw(method, self.target(), body)
    }

    /// `GET`.
    pub fn get(&self) -> C::Output<Response> {
        self.verb(Method::GET, Ok(Bytes::new()))
    }

    /// `DELETE`.
    pub fn delete(&self) -> C::Output<Response> {
        self.verb(Method::DELETE, Ok(Bytes::new()))
    }

    /// `POST` with a JSON body (serialised once; those exact bytes are signed and sent).
    pub fn post<B: Serialize + ?Sized>(&self, body: &B) -> C::Output<Response> {
        self.verb(Method::POST, to_json(body))
    }

    /// `PUT` with a JSON body.
    pub fn put<B: Serialize + ?Sized>(&self, body: &B) -> C::Output<Response> {
        self.verb(Method::PUT, to_json(body))
    }

    /// `PATCH` with a JSON body.
    pub fn patch<B: Serialize + ?Sized>(&self, body: &B) -> C::Output<Response> {
        self.verb(Method::PATCH, to_json(body))
    }

    /// Sends `body` bytes as they are (already-serialised JSON), with any method.
    pub fn send_bytes(&self, method: Method, body: impl Into<Bytes>) -> C::Output<Response> {
        self.verb(method, Ok(body.into()))
    }
}
