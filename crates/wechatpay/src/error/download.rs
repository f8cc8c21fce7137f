//! Download failures ([`Client::download`](crate::Client::download)).

/// Why a download ([`Client::download`](crate::Client::download)) failed. Bytes read
/// before it are not to be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// The decompressed bytes do not have the SHA-1 of the signed answer: the file was
    /// changed or truncated in transit. Apply for the bill again.
    #[error(
        "download failed its integrity check: SHA-1 of the {bytes} decompressed bytes is {actual}, the signed answer says {expected}; discard it and apply again"
    )]
    HashMismatch {
        /// The hash from the signed answer.
        expected: String,
        /// The hash of what arrived.
        actual: String,
        /// Decompressed bytes that arrived.
        bytes: u64,
    },
    /// The file is larger than the limit (`ClientBuilder::max_download_bytes`), in
    /// decompressed bytes, or as declared by `Content-Length` before reading.
    #[error("download exceeds {limit} bytes (ClientBuilder::max_download_bytes)")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The gzip answer inflates to more than `limit` times its size: a gzip bomb
    /// (`ClientBuilder::max_download_ratio`).
    #[error(
        "download refused as a gzip bomb: {compressed} compressed bytes inflated to {decompressed}, more than {limit}\u{d7} (ClientBuilder::max_download_ratio; a bill compresses about 10\u{d7})"
    )]
    Ratio {
        /// The limit.
        limit: u64,
        /// Compressed bytes read when it was exceeded.
        compressed: u64,
        /// Decompressed bytes by then.
        decompressed: u64,
    },
    /// The answer is not valid gzip (or its gzip trailer does not match).
    #[error("download is not valid gzip")]
    Gzip(#[source] std::io::Error),
    /// The connection failed during the download.
    #[error("download interrupted after {bytes} bytes")]
    Interrupted {
        /// Bytes received before.
        bytes: u64,
        /// The transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Nothing arrived for this long.
    #[error("download stalled: nothing arrived for {0:?}")]
    Timeout(std::time::Duration),
    /// The whole download took longer than its deadline
    /// (`ClientBuilder::download_deadline`).
    #[error(
        "download not finished within its deadline of {0:?} (ClientBuilder::download_deadline)"
    )]
    Deadline(std::time::Duration),
    /// The file could not be written.
    #[error("cannot write {}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An encrypted bill's key or file does not decrypt (wrong private key, or the file
    /// was changed).
    #[error("encrypted bill does not decrypt")]
    Decrypt(#[source] wechatpay_core::DecryptError),
    /// The bill is not UTF-8 text.
    #[error("bill is not UTF-8 text (near byte {at})")]
    NotUtf8 {
        /// About where.
        at: u64,
    },
    /// The bill does not parse, or its summary does not match its rows.
    #[error(transparent)]
    Bill(#[from] wechatpay_models::v3::bill::trade::BillError),
}

impl From<wechatpay_core::file::FileError> for DownloadError {
    fn from(e: wechatpay_core::file::FileError) -> Self {
        use wechatpay_core::file::FileError;
        match e {
            FileError::HashMismatch {
                expected,
                actual,
                bytes,
            } => Self::HashMismatch {
                expected,
                actual,
                bytes,
            },
            FileError::TooLarge { limit } => Self::TooLarge { limit },
            FileError::Ratio {
                limit,
                compressed,
                decompressed,
            } => Self::Ratio {
                limit,
                compressed,
                decompressed,
            },
            FileError::Gzip(e) => Self::Gzip(e),
            // `FileError` is non-exhaustive; a new check failing is a gzip-level failure.
            other => Self::Gzip(std::io::Error::other(other)),
        }
    }
}
