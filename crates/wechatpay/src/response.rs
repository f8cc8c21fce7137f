use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{DecodeError, Error, Result, request_id};

/// A 2xx answer whose signature has been verified (or an unsigned download, by name).
#[derive(Debug, Clone)]
pub struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) verified_by: Option<String>,
    pub(crate) attempts: u32,
}

impl Response {
    /// HTTP status (200, 204 …).
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Headers.
    #[must_use]
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// `Request-ID`.
    #[must_use]
    pub fn request_id(&self) -> Option<&str> {
        request_id(&self.headers)
    }

    /// The serial or `PUB_KEY_ID_…` that signed the answer (`None` for unsigned downloads).
    #[must_use]
    pub fn verified_by(&self) -> Option<&str> {
        self.verified_by.as_deref()
    }

    /// How many attempts the call took (1 when the first one was answered).
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The raw body (empty for 204).
    #[must_use]
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as UTF-8 text (lossy).
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Decodes the body as JSON. A 204 decodes as `null`, so `Option<T>` and `()` accept
    /// it; any other answer must carry its JSON (an empty 200 is a decode error, not an
    /// absent order).
    ///
    /// # Errors
    /// [`Error::Decode`] naming the JSON path that failed.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let body: &[u8] = if self.status == StatusCode::NO_CONTENT {
            b"null"
        } else {
            &self.body
        };
        let de = &mut serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(de).map_err(|e| {
            Error::Decode(DecodeError {
                path: e.path().to_string(),
                request_id: self.request_id().map(str::to_owned),
                body: self.body.clone(),
                source: e.into_inner(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_name_the_path_and_keep_their_source() {
        let r = Response {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(br#"{"total_amount":"1.00"}"#),
            verified_by: Some("PUB_KEY_ID_1".into()),
            attempts: 1,
        };
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Order {
            total_amount: i64,
        }
        let err = r.json::<Order>().unwrap_err();
        let Error::Decode(d) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(d.path(), "total_amount");
        assert!(std::error::Error::source(d).is_some());
        assert!(r.json::<Option<Order>>().is_err());
    }
}
