//! `v3/bill/…`: the daily bills for reconciliation (对账单).
//!
//! Applying answers a short-lived `download_url` and the SHA-1 of the bill's
//! (decompressed) bytes; the `wechatpay` client downloads it as a stream, unsigned, and
//! checks the hash at the end. [`trade`] parses a trade bill into typed rows.

use serde::{Deserialize, Serialize};

use crate::endpoint::{BodyKind, Endpoint};
use crate::ids::MchId;
use crate::validate::{Check, Rule, ValidationErrors};

pub mod trade;

/// `GET /v3/bill/tradebill` (申请交易账单): the trade bill of one day, of one sub-merchant
/// or (without `sub_mchid`) of all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeBillRequest {
    /// The day, `yyyy-MM-dd` (Beijing time), at most 3 months back.
    pub bill_date: String,
    /// One sub-merchant; `None` for all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<MchId>,
    /// `ALL` (default), `SUCCESS` or `REFUND`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_type: Option<String>,
    /// `GZIP` for a compressed download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tar_type: Option<String>,
}

setters!(TradeBillRequest { bill_date: String; sub_mchid: MchId, bill_type: String, tar_type: String });

impl Endpoint for TradeBillRequest {
    const METHOD: http::Method = http::Method::GET;
    const PATH: &'static str = "/v3/bill/tradebill";
    const BODY: BodyKind = BodyKind::Empty;
    type Response = BillLink;

    fn query(&self) -> Vec<(&'static str, &str)> {
        let mut q = vec![("bill_date", self.bill_date.as_str())];
        if let Some(v) = &self.sub_mchid {
            q.push(("sub_mchid", v.as_str()));
        }
        if let Some(v) = &self.bill_type {
            q.push(("bill_type", v));
        }
        if let Some(v) = &self.tar_type {
            q.push(("tar_type", v));
        }
        q
    }

    fn validate_at(&self, now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        bill_date(&mut c, &self.bill_date, now);
        if let Some(s) = &self.sub_mchid {
            c.required_max("sub_mchid", s.as_str(), 32);
        }
        one_of(
            &mut c,
            "bill_type",
            self.bill_type.as_deref(),
            &["ALL", "SUCCESS", "REFUND"],
        );
        one_of(&mut c, "tar_type", self.tar_type.as_deref(), &["GZIP"]);
        c.finish()
    }
}

/// `GET /v3/bill/fundflowbill` (申请资金账单): the service provider's own fund flow of one
/// day (sub-merchants: [`SubMerchantFundFlowBillRequest`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundFlowBillRequest {
    /// The day, `yyyy-MM-dd`.
    pub bill_date: String,
    /// `BASIC` (default), `OPERATION` or `FEES`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    /// `GZIP` for a compressed download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tar_type: Option<String>,
}

setters!(FundFlowBillRequest { bill_date: String; account_type: String, tar_type: String });

impl Endpoint for FundFlowBillRequest {
    const METHOD: http::Method = http::Method::GET;
    const PATH: &'static str = "/v3/bill/fundflowbill";
    const BODY: BodyKind = BodyKind::Empty;
    type Response = BillLink;

    fn query(&self) -> Vec<(&'static str, &str)> {
        let mut q = vec![("bill_date", self.bill_date.as_str())];
        if let Some(v) = &self.account_type {
            q.push(("account_type", v));
        }
        if let Some(v) = &self.tar_type {
            q.push(("tar_type", v));
        }
        q
    }

    fn validate_at(&self, now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        bill_date(&mut c, &self.bill_date, now);
        one_of(
            &mut c,
            "account_type",
            self.account_type.as_deref(),
            &["BASIC", "OPERATION", "FEES"],
        );
        one_of(&mut c, "tar_type", self.tar_type.as_deref(), &["GZIP"]);
        c.finish()
    }
}

/// `GET /v3/bill/sub-merchant-fundflowbill` (申请单个子商户资金账单): one sub-merchant's
/// fund flow, as encrypted files (`AEAD_AES_256_GCM` or `SM4_GCM`; each file key
/// RSA-OAEP-encrypted with the service provider's API certificate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubMerchantFundFlowBillRequest {
    /// The sub-merchant.
    pub sub_mchid: MchId,
    /// The day, `yyyy-MM-dd`.
    pub bill_date: String,
    /// `BASIC`, `OPERATION`, `FEES` or `DEPOSIT`.
    pub account_type: String,
    /// `AEAD_AES_256_GCM` (the default) or `SM4_GCM`; the client decrypts either.
    pub algorithm: String,
    /// `GZIP` for compressed files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tar_type: Option<String>,
}

impl Default for SubMerchantFundFlowBillRequest {
    /// The `BASIC` account, `AEAD_AES_256_GCM`, uncompressed; no sub-merchant or day yet.
    fn default() -> Self {
        Self {
            sub_mchid: MchId::default(),
            bill_date: String::new(),
            account_type: "BASIC".into(),
            algorithm: "AEAD_AES_256_GCM".into(),
            tar_type: None,
        }
    }
}

setters!(SubMerchantFundFlowBillRequest { sub_mchid: MchId, bill_date: String, account_type: String, algorithm: String; tar_type: String });

impl Endpoint for SubMerchantFundFlowBillRequest {
    const METHOD: http::Method = http::Method::GET;
    const PATH: &'static str = "/v3/bill/sub-merchant-fundflowbill";
    const BODY: BodyKind = BodyKind::Empty;
    type Response = EncryptedBills;

    fn query(&self) -> Vec<(&'static str, &str)> {
        let mut q = vec![
            ("sub_mchid", self.sub_mchid.as_str()),
            ("bill_date", self.bill_date.as_str()),
            ("account_type", self.account_type.as_str()),
            ("algorithm", self.algorithm.as_str()),
        ];
        if let Some(v) = &self.tar_type {
            q.push(("tar_type", v));
        }
        q
    }

    fn validate_at(&self, now: i64) -> Result<(), ValidationErrors> {
        let mut c = Check::default();
        c.required_max("sub_mchid", self.sub_mchid.as_str(), 32);
        bill_date(&mut c, &self.bill_date, now);
        one_of(
            &mut c,
            "account_type",
            Some(&self.account_type),
            &["BASIC", "OPERATION", "FEES", "DEPOSIT"],
        );
        one_of(
            &mut c,
            "algorithm",
            Some(&self.algorithm),
            &["AEAD_AES_256_GCM", "SM4_GCM"],
        );
        one_of(&mut c, "tar_type", self.tar_type.as_deref(), &["GZIP"]);
        c.finish()
    }
}

/// Where to download a bill, and its hash (`tradebill`, `fundflowbill`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BillLink {
    /// `SHA1`.
    #[serde(default)]
    pub hash_type: String,
    /// Hex SHA-1 of the bill's bytes, decompressed.
    #[serde(default)]
    pub hash_value: String,
    /// Valid for 5 minutes: download it now, do not store it. (Documentation examples
    /// print it with a leading space; use [`BillLink::url`].)
    #[serde(default)]
    pub download_url: String,
}

impl BillLink {
    /// `download_url` without surrounding whitespace.
    #[must_use]
    pub fn url(&self) -> &str {
        self.download_url.trim()
    }
}

/// The encrypted files of a sub-merchant fund-flow bill.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EncryptedBills {
    /// How many files.
    #[serde(default)]
    pub download_bill_count: u32,
    /// The files, to be decrypted and joined in `bill_sequence` order.
    #[serde(default)]
    pub download_bill_list: Vec<EncryptedBill>,
}

/// One encrypted file of a bill.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EncryptedBill {
    /// Position, from 1.
    #[serde(default)]
    pub bill_sequence: u32,
    /// Where to download it.
    #[serde(default)]
    pub download_url: String,
    /// The file key, RSA-OAEP-encrypted with the service provider's API certificate,
    /// Base64.
    #[serde(default)]
    pub encrypt_key: String,
    /// `SHA1`.
    #[serde(default)]
    pub hash_type: String,
    /// Hex SHA-1 of the decrypted, decompressed file.
    #[serde(default)]
    pub hash_value: String,
    /// The AEAD nonce of the file.
    #[serde(default)]
    pub nonce: String,
}

fn one_of(c: &mut Check, field: &str, v: Option<&str>, allowed: &[&str]) {
    if let Some(v) = v
        && !allowed.contains(&v)
    {
        c.push(
            field,
            Rule::OneOf,
            format!("must be one of {}", allowed.join(", ")),
            Some(v.into()),
        );
    }
}

/// `yyyy-MM-dd`, a real day, not after today and at most 3 months back (Beijing time).
fn bill_date(c: &mut Check, s: &str, now: i64) {
    if !c.required("bill_date", s) {
        return;
    }
    let Some(day) = parse_bill_date(s) else {
        c.push(
            "bill_date",
            Rule::Time,
            "must be a date written yyyy-MM-dd",
            Some(s.into()),
        );
        return;
    };
    let today = beijing_day(now);
    if day > today {
        c.push(
            "bill_date",
            Rule::Time,
            "is in the future (Beijing time)",
            Some(s.into()),
        );
    } else if today
        .checked_sub(time::Duration::days(92))
        .is_some_and(|d| day < d)
    {
        c.push(
            "bill_date",
            Rule::Time,
            "is more than 3 months back",
            Some(s.into()),
        );
    }
}

/// Parses a bill date `yyyy-MM-dd`.
#[must_use]
pub fn parse_bill_date(s: &str) -> Option<time::Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    (s.len() == 10)
        .then(|| time::Date::parse(s, &fmt).ok())
        .flatten()
}

/// The Beijing-time day of unix time `now`.
#[must_use]
pub fn beijing_day(now: i64) -> time::Date {
    time::OffsetDateTime::from_unix_timestamp(now.saturating_add(8 * 3600))
        .map_or(time::Date::MIN, time::OffsetDateTime::date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bill_dates_are_checked_in_beijing_time() {
        // 2025-03-01 16:00 UTC is 2025-03-02 00:00 in Beijing.
        let now = 1_740_844_800;
        assert!(
            TradeBillRequest::default()
                .bill_date("2025-03-02")
                .tar_type("GZIP")
                .validate_at(now)
                .is_ok()
        );
        let e = TradeBillRequest::default()
            .bill_date("2025-03-03")
            .tar_type("GZIP")
            .validate_at(now)
            .unwrap_err();
        assert!(e.has_field("bill_date") && e.has(Rule::Time));
        assert!(
            TradeBillRequest::default()
                .bill_date("2025-3-1")
                .tar_type("GZIP")
                .validate_at(now)
                .is_err()
        );
        assert!(
            TradeBillRequest::default()
                .bill_date("2024-11-01")
                .tar_type("GZIP")
                .validate_at(now)
                .is_err()
        );
        let e = TradeBillRequest::default()
            .bill_date("2025-03-01")
            .tar_type("GZIP")
            .bill_type("REFUNDS")
            .validate_at(now)
            .unwrap_err();
        assert!(e.has(Rule::OneOf));
    }

    #[test]
    fn the_link_is_trimmed() {
        let l: BillLink = serde_json::from_str(r#"{"hash_type":"SHA1","hash_value":"ab","download_url":" https://x/v3/billdownload/file?token=t"}"#).unwrap();
        assert_eq!(l.url(), "https://x/v3/billdownload/file?token=t");
    }
}
