//! Downloads: bills and other files that WeChat Pay serves unsigned, streamed.
//!
//! The request is signed over the exact path and query of the `download_url`. The answer
//! has no signature (WeChat Pay does not sign files); its integrity comes from the SHA-1
//! in the *signed* answer that gave the URL. So an unsigned answer is accepted only here,
//! for a URL the caller got from a verified answer, and the bytes are hashed as they
//! stream (after gunzip: the hash covers the decompressed file). A mismatch fails the
//! read that reaches the end of the stream; nothing counts as verified before that.
//! Memory stays constant whatever the file size: gzip is inflated a bounded step at a time
//! ([`STEP_BYTES`](wechatpay_core::file::STEP_BYTES)), and a gzip bomb is refused by its
//! ratio ([`ClientBuilder::max_download_ratio`](crate::ClientBuilder::max_download_ratio)).
//!
//! Files are written to a temporary file next to the destination, created exclusively under
//! a random name (never through a link someone planted) and readable by its owner only,
//! then renamed over the destination once verified; on any failure it is removed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, header};
use wechatpay_core::digest::Sha1;
use wechatpay_core::file::{Encoding, FileCheck, FileError};
use wechatpay_models::v3::bill::trade::{
    MAX_LINE_BYTES, TradeBillParser, TradeBillRow, TradeBillSummary,
};
use wechatpay_models::v3::bill::{BillLink, TradeBillRequest};

use super::Client;
use super::exchange::SignOrBuild;
use super::part::PartFile;
use crate::error::{
    ApiError, BuildError, DownloadError, Outcome, Result, TransportError, TransportKind,
};

/// A download in progress: decompressed bytes as they arrive, hashed on the way.
///
/// Read it with [`chunk`](Self::chunk) until `None`, or let [`save`](Self::save) or
/// [`trade_rows`](Self::trade_rows) do it.
pub struct Download {
    resp: reqwest::Response,
    file: FileCheck,
    /// The rest of the last chunk received, not yet fed to `file`.
    pending: Bytes,
    ended: bool,
    read_timeout: Duration,
    deadline: tokio::time::Instant,
    deadline_after: Duration,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("status", &self.resp.status())
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

/// A downloaded file, verified.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Saved {
    /// Where it is.
    pub path: PathBuf,
    /// Decompressed bytes written.
    pub bytes: u64,
    /// Bytes received (compressed, when the file was gzip).
    pub received: u64,
    /// SHA-1 of the decompressed bytes, lower-case hex (equal to the expected hash).
    pub sha1: String,
}

impl Client {
    /// Starts downloading `download_url` (from a verified answer, e.g.
    /// [`BillLink::download_url`]): signs a GET over its exact path and query, accepts the
    /// unsigned answer, gunzips it when it is gzip, and checks the decompressed bytes
    /// against `expected_sha1` (hex, any case) at the end of the stream.
    ///
    /// # Errors
    /// [`Error::Build`](crate::Error::Build) when the URL is not on the configured host
    /// (the request is signed only for it); [`Error::Api`](crate::Error::Api) for a non-2xx
    /// answer (an expired link: `400 INVALID_REQUEST`); [`Error::Transport`](crate::Error::Transport).
    pub async fn download(
        &self,
        download_url: &str,
        expected_sha1: Option<&str>,
    ) -> Result<Download> {
        self.start_download(download_url, expected_sha1, true).await
    }

    async fn start_download(
        &self,
        download_url: &str,
        expected_sha1: Option<&str>,
        decode: bool,
    ) -> Result<Download> {
        let url = download_url.trim();
        self.check_host("download_url", url)?;
        let base = &self.inner.base_urls[0];
        let limits = &self.inner.limits;
        let mut req = self
            .signed_request(Method::GET, url, Bytes::new(), "*/*")
            .map_err(|e| match e {
                SignOrBuild::Sign(e) => crate::Error::from(BuildError::Sign(e)),
                SignOrBuild::Build(e) => BuildError::Invalid {
                    field: "download_url".into(),
                    reason: e.to_string(),
                }
                .into(),
            })?;
        *req.timeout_mut() = None;
        let target = format!(
            "{}{}",
            req.url().path(),
            req.url()
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default()
        );
        let transport = |e: reqwest::Error| {
            let kind = super::exchange::classify(&e);
            crate::Error::from(TransportError {
                kind,
                host: base.split("://").nth(1).unwrap_or(base).to_owned(),
                attempts: 1,
                // A download only reads: nothing is processed, but unless the connection
                // failed, the request was sent.
                outcome: if kind == TransportKind::Connect {
                    Outcome::NotSent
                } else {
                    Outcome::ReadOnly
                },
                source: Box::new(e),
            })
        };
        let started = tokio::time::Instant::now();
        let resp = tokio::time::timeout(limits.attempt_timeout, self.inner.http.execute(req))
            .await
            .map_err(|_| DownloadError::Timeout(limits.attempt_timeout))?
            .map_err(transport)?;
        let status = resp.status();
        if !status.is_success() {
            let headers = resp.headers().clone();
            let body = read_capped(resp, limits.max_response_bytes).await;
            return Err(ApiError::new(&Method::GET, &target, status, &headers, body).into());
        }
        if let Some(declared) = resp.content_length()
            && declared > limits.max_download_bytes
        {
            return Err(DownloadError::TooLarge {
                limit: limits.max_download_bytes,
            }
            .into());
        }
        let gzip_declared = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("gzip"));
        tracing::debug!(path = %target.split('?').next().unwrap_or_default(), status = status.as_u16(), gzip = gzip_declared, "WeChat Pay download");
        let encoding = match (decode, gzip_declared) {
            (false, _) => Encoding::Identity,
            (true, true) => Encoding::Gzip,
            (true, false) => Encoding::Detect,
        };
        Ok(Download {
            resp,
            file: FileCheck::new(expected_sha1, encoding, limits.max_download_bytes)
                .max_ratio(limits.max_download_ratio),
            pending: Bytes::new(),
            ended: false,
            read_timeout: limits.attempt_timeout,
            deadline: started + limits.download_deadline,
            deadline_after: limits.download_deadline,
        })
    }

    /// Starts downloading a bill from its [`BillLink`], checked against its `hash_value`.
    ///
    /// # Errors
    /// [`Error::Build`](crate::Error::Build) when the link has no `hash_value` (the
    /// download could not be verified); otherwise as [`download`](Self::download).
    pub async fn download_bill(&self, link: &BillLink) -> Result<Download> {
        if link.hash_value.trim().is_empty() {
            return Err(BuildError::Invalid {
                field: "hash_value".into(),
                reason: "the bill link has no SHA-1, so its download could not be verified".into(),
            }
            .into());
        }
        self.download(link.url(), Some(&link.hash_value)).await
    }

    /// Downloads, decrypts, decompresses and verifies a sub-merchant fund-flow bill
    /// ([`SubMerchantFundFlowBillRequest`](wechatpay_models::v3::bill::SubMerchantFundFlowBillRequest)),
    /// joining its parts in `bill_sequence` order into `path` (a temporary file, renamed
    /// once every part verified). Each file key is decrypted with this client's private key
    /// (RSA-OAEP); its length says the algorithm (32 bytes `AEAD_AES_256_GCM`, 16 bytes
    /// `SM4_GCM`). Parts are streamed: decrypted as they arrive (GCM in steps, its tag
    /// checked at the end of the part) and inflated a bounded step at a time into the
    /// temporary file, so memory stays constant whatever their size.
    ///
    /// # Errors
    /// As [`download`](Self::download); [`DownloadError::Decrypt`] when a part does not
    /// decrypt; [`DownloadError::HashMismatch`] when a decrypted part does not match its
    /// hash.
    pub async fn save_encrypted_bill(
        &self,
        bills: &wechatpay_models::v3::bill::EncryptedBills,
        path: impl AsRef<Path>,
    ) -> Result<Saved> {
        let mut parts: Vec<_> = bills.download_bill_list.iter().collect();
        parts.sort_by_key(|p| p.bill_sequence);
        let path = path.as_ref();
        let limits = &self.inner.limits;
        let mut out = PartFile::create(path).await?;
        let (mut bytes, mut received, mut whole) = (0u64, 0u64, Sha1::new());
        for part in parts {
            let key = self
                .inner
                .key
                .decrypt_oaep(&part.encrypt_key)
                .map_err(DownloadError::Decrypt)?;
            let mut open = wechatpay_core::aead::OpenStream::for_file_key(&key, &part.nonce, "")
                .map_err(DownloadError::Decrypt)?;
            let mut check = FileCheck::new(
                Some(&part.hash_value),
                Encoding::Detect,
                limits.max_download_bytes.saturating_sub(bytes),
            )
            .max_ratio(limits.max_download_ratio);
            let mut dl = self.start_download(&part.download_url, None, false).await?;
            while let Some(sealed) = dl.chunk().await? {
                let plain = open.update(&sealed).map_err(DownloadError::Decrypt)?;
                inflate_into(&mut check, plain, &mut out, &mut whole, limits).await?;
            }
            received += dl.received();
            // The tag first: nothing of the part counts before it is authentic.
            open.finish().map_err(DownloadError::Decrypt)?;
            inflate_into(&mut check, &[], &mut out, &mut whole, limits).await?;
            bytes += check.bytes();
        }
        let path = out.persist(path).await?;
        Ok(Saved {
            path,
            bytes,
            received,
            sha1: whole.finish_hex(),
        })
    }

    /// Applies for a trade bill and starts downloading it.
    ///
    /// # Errors
    /// As [`send`](Self::send) (`NO_STATEMENT_EXIST`, `STATEMENT_CREATING`: see
    /// [`ApiError::code`]) and [`download`](Self::download).
    pub async fn trade_bill(&self, req: &TradeBillRequest) -> Result<Download> {
        let link = self.send(req).await?;
        self.download_bill(&link).await
    }
}

/// Feeds `plain` through `check` into `out` (and `whole`) a step at a time; with nothing
/// left to feed, drains and checks the end of the part.
async fn inflate_into(
    check: &mut FileCheck,
    mut plain: &[u8],
    out: &mut PartFile,
    whole: &mut Sha1,
    limits: &super::Limits,
) -> Result<()> {
    let finishing = plain.is_empty();
    loop {
        let step = if finishing {
            check.finish()
        } else {
            check.feed(plain).map(|(used, step)| {
                plain = &plain[used..];
                step
            })
        }
        .map_err(|e| match e {
            // The limit of the part is what is left of the whole file's.
            FileError::TooLarge { .. } => DownloadError::TooLarge {
                limit: limits.max_download_bytes,
            },
            other => DownloadError::from(other),
        })?;
        if step.is_empty() && (finishing || plain.is_empty()) {
            return Ok(());
        }
        whole.update(step);
        out.write(step).await?;
    }
}

async fn read_capped(mut resp: reqwest::Response, limit: usize) -> Bytes {
    let mut body = Vec::new();
    while let Ok(Some(c)) = resp.chunk().await {
        if body.len() + c.len() > limit {
            break;
        }
        body.extend_from_slice(&c);
    }
    Bytes::from(body)
}

impl Download {
    /// The next decompressed bytes, or `None` at the end, once the hash matched.
    ///
    /// # Errors
    /// [`DownloadError::HashMismatch`] at the end of a stream that does not match (every
    /// byte read so far must be discarded); [`DownloadError::TooLarge`],
    /// [`DownloadError::Gzip`], [`DownloadError::Interrupted`],
    /// [`DownloadError::Timeout`].
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        loop {
            if self.file.sha1().is_some() {
                return Ok(None);
            }
            let step = if !self.pending.is_empty() {
                let (used, step) = self.file.feed(&self.pending).map_err(DownloadError::from)?;
                let step = Bytes::copy_from_slice(step);
                bytes::Buf::advance(&mut self.pending, used);
                step
            } else if self.ended {
                let step = self.file.finish().map_err(DownloadError::from)?;
                if step.is_empty() {
                    return Ok(None);
                }
                Bytes::copy_from_slice(step)
            } else {
                let now = tokio::time::Instant::now();
                if now >= self.deadline {
                    return Err(DownloadError::Deadline(self.deadline_after).into());
                }
                let wait = self.read_timeout.min(self.deadline - now);
                let next = tokio::time::timeout(wait, self.resp.chunk())
                    .await
                    .map_err(|_| {
                        if wait < self.read_timeout {
                            DownloadError::Deadline(self.deadline_after)
                        } else {
                            DownloadError::Timeout(self.read_timeout)
                        }
                    })?
                    .map_err(|e| DownloadError::Interrupted {
                        bytes: self.file.received(),
                        source: Box::new(e),
                    })?;
                match next {
                    Some(c) => self.pending = c,
                    None => self.ended = true,
                }
                continue;
            };
            if !step.is_empty() {
                return Ok(Some(step));
            }
        }
    }

    /// SHA-1 of the decompressed bytes, once the stream has ended (and matched).
    #[must_use]
    pub fn sha1(&self) -> Option<&str> {
        self.file.sha1()
    }

    /// Decompressed bytes read so far.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.file.bytes()
    }

    /// Bytes received so far (compressed when the file is gzip).
    #[must_use]
    pub fn received(&self) -> u64 {
        self.file.received()
    }

    /// Whether the answer is gzip (known once the first bytes arrived).
    #[must_use]
    pub fn is_gzip(&self) -> bool {
        self.file.is_gzip()
    }

    /// Streams the decompressed file to `path`, verified: it is written to a temporary
    /// file next to `path` and renamed only when the whole file matched its hash, so
    /// `path` never holds a partial or unverified file.
    ///
    /// # Errors
    /// As [`chunk`](Self::chunk), and [`DownloadError::Io`] when the file cannot be
    /// written (the temporary file is removed).
    pub async fn save(mut self, path: impl AsRef<Path>) -> Result<Saved> {
        let mut out = PartFile::create(path.as_ref()).await?;
        while let Some(c) = self.chunk().await? {
            out.write(&c).await?;
        }
        let path = out.persist(path.as_ref()).await?;
        Ok(Saved {
            path,
            bytes: self.file.bytes(),
            received: self.file.received(),
            sha1: self.sha1().unwrap_or_default().to_owned(),
        })
    }

    /// Reads the download as a trade bill, row by row, in constant memory.
    #[must_use]
    pub fn trade_rows(self) -> TradeBillRows {
        TradeBillRows {
            download: self,
            parser: TradeBillParser::new(),
            buf: Vec::with_capacity(64 * 1024),
            start: 0,
            ended: false,
            summary: None,
        }
    }
}

/// The rows of a downloaded trade bill, streamed.
///
/// Rows are provisional until [`next_row`](Self::next_row) returns `Ok(None)`: only then
/// has the hash matched and the summary row agreed with the rows.
#[derive(Debug)]
pub struct TradeBillRows {
    download: Download,
    parser: TradeBillParser,
    buf: Vec<u8>,
    start: usize,
    ended: bool,
    summary: Option<TradeBillSummary>,
}

impl TradeBillRows {
    /// The next detail row; `None` at the end, after the hash and the summary checked.
    ///
    /// # Errors
    /// As [`Download::chunk`], and [`DownloadError::Bill`] for a line that does not parse
    /// or a summary that does not match the rows.
    pub async fn next_row(&mut self) -> Result<Option<TradeBillRow>> {
        match self.advance().await {
            Err(crate::Error::Download(DownloadError::Bill(e))) => {
                Err(self.integrity_first(e).await)
            }
            other => other,
        }
    }

    /// A bill that does not parse may have been changed in transit: read to the end, and
    /// report a hash mismatch rather than the parse error when there is one.
    async fn integrity_first(
        &mut self,
        e: wechatpay_models::v3::bill::trade::BillError,
    ) -> crate::Error {
        if !self.ended {
            loop {
                match self.download.chunk().await {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(hash @ crate::Error::Download(DownloadError::HashMismatch { .. })) => {
                        return hash;
                    }
                    Err(_) => break,
                }
            }
        }
        DownloadError::Bill(e).into()
    }

    async fn advance(&mut self) -> Result<Option<TradeBillRow>> {
        loop {
            if let Some(pos) = self.buf[self.start..].iter().position(|&b| b == b'\n') {
                let end = self.start + pos;
                let line = std::str::from_utf8(&self.buf[self.start..end]).map_err(|_| {
                    DownloadError::NotUtf8 {
                        at: self.download.bytes(),
                    }
                })?;
                let row = self.parser.line(line).map_err(DownloadError::Bill)?;
                self.start = end + 1;
                if row.is_some() {
                    return Ok(row);
                }
                continue;
            }
            if self.ended {
                if self.summary.is_none() {
                    let rest = std::mem::take(&mut self.buf);
                    let line = std::str::from_utf8(&rest[self.start..]).map_err(|_| {
                        DownloadError::NotUtf8 {
                            at: self.download.bytes(),
                        }
                    })?;
                    self.start = 0;
                    let row = self.parser.line(line).map_err(DownloadError::Bill)?;
                    let parser = std::mem::take(&mut self.parser);
                    self.summary = Some(parser.finish().map_err(DownloadError::Bill)?);
                    if row.is_some() {
                        // A last row without a summary after it fails in finish above.
                        return Ok(row);
                    }
                }
                return Ok(None);
            }
            self.buf.drain(..self.start);
            self.start = 0;
            if self.buf.len() > MAX_LINE_BYTES {
                return Err(DownloadError::Bill(self.parser.line_too_long()).into());
            }
            match self.download.chunk().await? {
                Some(c) => self.buf.extend_from_slice(&c),
                None => self.ended = true,
            }
        }
    }

    /// The summary row, checked against the rows, once [`next_row`](Self::next_row)
    /// returned `None`.
    #[must_use]
    pub fn summary(&self) -> Option<&TradeBillSummary> {
        self.summary.as_ref()
    }

    /// SHA-1 of the bill, once the end was reached.
    #[must_use]
    pub fn sha1(&self) -> Option<&str> {
        self.download.sha1()
    }
}
