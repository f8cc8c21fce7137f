#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "blocking")]
pub mod blocking;
mod chain;
mod client;
pub mod config;
mod error;
pub mod fluent;
pub mod launch;
pub mod notify;
mod response;

pub use chain::{BoxFuture, Chain, ChainClient};
pub use client::{
    BACKUP_BASE_URL, Client, ClientBuilder, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_DEADLINE, DEFAULT_DOWNLOAD_DEADLINE,
    DEFAULT_MAX_DOWNLOAD_BYTES, DEFAULT_MAX_RESPONSE_BYTES, Download, POOL_IDLE_TIMEOUT, Saved,
    TradeBillRows,
};
pub use error::{
    ApiError, BuildError, CertificatesError, DecodeError, DownloadError, Error, Result,
    SignatureError, TransportError, TransportKind, printable,
};
pub use response::Response;
pub use wechatpay_models::{BodyKind, Endpoint};

/// The protocol layer (keys, signing, verification, AEAD).
pub use wechatpay_core as core;
/// Request and response models.
pub use wechatpay_models as models;
