//! The HTTP edge's one request reader: [`Wx`], an axum extractor that reads the request of
//! an endpoint as WeChat Pay reads it.

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::routing::{MethodFilter, MethodRouter};
use serde::de::DeserializeOwned;
use serde_json::Value;
use wechatpay_models::{BodyKind, DecodeRequestError, Endpoint};

use crate::AppState;
use crate::edge::error::{ApiErr, body_value, checked, field_error, require_amounts};

/// The request of endpoint `E`: the JSON body checked (present, valid, no `null`, every
/// payment and discount line with its amount), the path and query values added as its
/// fields (one repeated in the body is `PARAM_ERROR`, naming it), decoded with the field's
/// JSON pointer on error, and validated at the business clock's `now`; every refusal in
/// WeChat's own code and words.
#[derive(Debug)]
pub(crate) struct Wx<E>(pub(crate) E);

/// As [`Wx`] without the validation, with the body as JSON (`Null` for a request without
/// one): for a handler whose refusals come in another order (modify: WeChat Pay's
/// `NO_AUTH` for a missing `service_id` comes first; bills: `INVALID_REQUEST` for a day out
/// of range) or that keeps the body (create, direct-complete, pre-authorization).
#[derive(Debug)]
pub(crate) struct Decoded<E>(pub(crate) E, pub(crate) Value);

impl<E> FromRequest<AppState> for Wx<E>
where
    E: Endpoint + DeserializeOwned + Send,
{
    type Rejection = ApiErr;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, ApiErr> {
        let Decoded(req, _) = Decoded::<E>::from_request(req, s).await?;
        checked(req.validate_at(s.now()))?;
        Ok(Self(req))
    }
}

impl<E> FromRequest<AppState> for Decoded<E>
where
    E: Endpoint + DeserializeOwned + Send,
{
    type Rejection = ApiErr;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, ApiErr> {
        let (mut parts, body) = req.into_parts();
        let params = RawPathParams::from_request_parts(&mut parts, s)
            .await
            .map_err(|e| ApiErr::param("参数错误").why(format!("path: {e}")))?;
        let params: Vec<(&str, &str)> = params.iter().collect();
        let query = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|e| ApiErr::param("参数错误").why(format!("query: {e}")))?
            .0;
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (&**k, &**v)).collect();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .map_err(|_| ApiErr::param("参数错误").why("the body could not be read"))?;
        // The body is parsed once: checked here, then decoded from the same value.
        let json = match E::BODY {
            BodyKind::Json => body_value(&bytes)?,
            _ => Value::Null,
        };
        require_amounts(&json)?;
        let location = if E::BODY == BodyKind::Empty {
            "query"
        } else {
            "body"
        };
        let req = E::decode_json(&params, &query, json.clone()).map_err(|e| match e {
            DecodeRequestError::Repeated { field } => ApiErr::param_field(
                &format!("/{field}"),
                json.get(&field).cloned(),
                &format!("{field} is given in the path (or query); it must not be in the body"),
                "body",
            ),
            DecodeRequestError::Field { field, source } => {
                field_error(&format!(".{field}"), &source, location)
            }
            other => ApiErr::param_field("/", None, &other.to_string(), "body"),
        })?;
        Ok(Self(req, json))
    }
}

/// An endpoint of the table (`wechatpay_models::for_each_endpoint!`) that the sandbox
/// answers. [`routes`] mounts each handler at its endpoint's `PATH` with the table's method,
/// so a handler cannot sit at another path or method, and an endpoint of the table without
/// a handler does not compile. Implement it with `handles!`.
pub(crate) trait Handled: Endpoint {
    /// The handler, under `method`.
    fn route(method: MethodFilter) -> MethodRouter<AppState>;
}

/// `handles! { RequestType => handler_fn; … }`: which function answers each endpoint.
macro_rules! handles {
    ($($Req:ty => $handler:expr;)*) => {
        $(impl $crate::edge::wx::Handled for $Req {
            fn route(
                method: axum::routing::MethodFilter,
            ) -> axum::routing::MethodRouter<$crate::AppState> {
                axum::routing::on(method, $handler)
            }
        })*
    };
}

/// One leaf of the table, routed: `router = router.route(PATH, wrap(handler))`.
macro_rules! route_leaf {
    (($router:ident, $wrap:ident) $verb:ident $Req:path [$($tmpl:expr),*]) => {
        $router = $router.route(
            <$Req as Endpoint>::PATH,
            $wrap(<$Req as Handled>::route(method_filter!($verb))),
        );
    };
}

/// The table's verb as axum's method filter.
macro_rules! method_filter {
    (get) => {
        MethodFilter::GET
    };
    (post) => {
        MethodFilter::POST
    };
    (put) => {
        MethodFilter::PUT
    };
    (patch) => {
        MethodFilter::PATCH
    };
    (delete) => {
        MethodFilter::DELETE
    };
}

/// Every endpoint of the table at its handler; `wrap` puts a layer (authentication) on each.
pub(crate) fn routes(
    wrap: impl Fn(MethodRouter<AppState>) -> MethodRouter<AppState>,
) -> Router<AppState> {
    let mut router = Router::new();
    wechatpay_models::for_each_endpoint!(leaves route_leaf, (router, wrap));
    router
}
