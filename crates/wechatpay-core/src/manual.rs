//! The WeChat Pay APIv3 security layer, and why this crate does what it does.
//!
//! # Request signing
//!
//! Every request carries
//! `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"`.
//! The signature is SHA256withRSA (PKCS#1 v1.5) with the merchant API key over
//!
//! ```text
//! POST\n/v3/payscore/partner/serviceorder/direct-complete\n1764146249\nNONCE\n{"service_id":…}\n
//! ```
//!
//! * The URL line is the request-target *as sent*: path plus `?query`, already
//!   percent-encoded. Build the URL first, then sign what the HTTP library will send.
//! * The body line is the exact bytes sent. Serialising twice (once to sign, once to
//!   send) is the classic bug; the client serialises once and signs those bytes.
//! * `timestamp` is unix **seconds**; the server rejects anything over 5 minutes away.
//! * For partner (服务商) APIs, `mchid` is the service provider's, and the key is the
//!   service provider's — never the sub-merchant's.
//!
//! # Response verification
//!
//! WeChat Pay signs every successful response — **204 with an empty body included** —
//! with the platform key: `Wechatpay-Timestamp\nWechatpay-Nonce\nBODY\n` (body empty for
//! 204). A 2xx without valid signature headers must be treated as forged. The client
//! verifies the raw bytes *before* parsing anything, so a response that fails is an error,
//! never data. Non-2xx answers are not verified (WeChat does not sign 401s) and become API
//! errors.
//!
//! Rare `WECHATPAY/SIGNTEST/…` signatures are probes: WeChat checks that merchants really
//! verify. They fail like any bad signature; they are not special-cased.
//!
//! # Platform certificates versus WeChat Pay public keys
//!
//! `Wechatpay-Serial` names the key that signed: a platform certificate serial (40 hex
//! digits, from `GET /v3/certificates`) or a WeChat Pay public key id (`PUB_KEY_ID_…`,
//! downloaded once from the merchant console). Merchants created after late 2024 have only
//! public keys; older ones migrate from certificates to public keys, during which both
//! appear. [`Verifier`](crate::Verifier) trusts both at once. The client sends
//! `Wechatpay-Serial` on every request naming the key it prefers, which is how WeChat
//! decides which key signs the answer during a migration.
//!
//! # Callbacks
//!
//! A callback is verified like a response, then its `resource` is decrypted with
//! `AEAD_AES_256_GCM`: key = the 32 bytes of the APIv3 key, nonce = the 12 bytes of
//! `resource.nonce`, AAD = `resource.associated_data` (may be empty), ciphertext = base64 of
//! ciphertext‖tag. Answer 200/204 to acknowledge; answer 4xx/5xx with
//! `{"code":"FAIL","message":"…"}` to be called again later.
//!
//! # Defaults and their reasons
//!
//! * Clock tolerance ±300 s ([`DEFAULT_MAX_SKEW_SECS`](crate::DEFAULT_MAX_SKEW_SECS)), as
//!   PHP and Node SDKs; configurable.
//! * Nonces are 32 characters of `[0-9A-Za-z]` from the OS CSPRNG, as every official SDK.
//! * Crypto is aws-lc-rs: OpenSSL-speed RSA without the timing side channel of the
//!   pure-Rust `rsa` crate (RUSTSEC-2023-0071).
//! * Time and randomness come in through [`Clock`](crate::Clock) and
//!   [`NonceSource`](crate::NonceSource) so that signatures are reproducible in tests.
