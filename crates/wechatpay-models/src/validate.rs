//! Local validation of the documented rules (R1–R12 of the Pay Score contract), so that a
//! bad order fails before it is signed and sent, with every problem listed at once.
//!
//! The sandbox runs the same checks and answers `400 PARAM_ERROR` with the first
//! violation in `detail`, as WeChat Pay does.

use std::fmt;

use serde_json::Value;

/// Which documented rule a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// R1: `total_amount == Σ post_payments.amount − Σ post_discounts.amount`.
    TotalAmount,
    /// R2: amounts are ≥ 0.
    NonNegative,
    /// R3: `total_amount` ≤ the service's risk cap (checked by the server).
    RiskCap,
    /// R4: item counts (1–100 payments, at most 5 discounts for direct-complete).
    ItemCount,
    /// R5: unique payment names (except `商品信息`) and unique discount names.
    UniqueNames,
    /// R6: string lengths, counted in characters.
    Length,
    /// R7: time formats (`yyyyMMddHHmmss` / `yyyyMMdd`) and order
    /// (`start_time < end_time ≤ now`).
    Time,
    /// R8: `count` within 1–100.
    Count,
    /// A required field is missing or empty.
    Required,
    /// `out_order_no` uses only `[0-9A-Za-z_-|*]`.
    Charset,
    /// Only 1–3 byte UTF-8 characters (no emoji or other 4-byte characters).
    FourByteUtf8,
    /// `notify_url` is an absolute https URL without a query string.
    NotifyUrl,
    /// The value is not one of the documented values.
    OneOf,
    /// Refund amounts: `0 < refund ≤ total`, `amount.from` sums to `refund`.
    Amount,
}

impl Rule {
    /// The rule's short code, as in the contract (`R1`…`R8`, or a name).
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Rule::TotalAmount => "R1",
            Rule::NonNegative => "R2",
            Rule::RiskCap => "R3",
            Rule::ItemCount => "R4",
            Rule::UniqueNames => "R5",
            Rule::Length => "R6",
            Rule::Time => "R7",
            Rule::Count => "R8",
            Rule::Required => "required",
            Rule::Charset => "charset",
            Rule::FourByteUtf8 => "utf8",
            Rule::NotifyUrl => "notify_url",
            Rule::OneOf => "enum",
            Rule::Amount => "amount",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// JSON Pointer of the field, e.g. `/post_payments/0/name`.
    pub field: String,
    /// The rule.
    pub rule: Rule,
    /// What is wrong, in words.
    pub issue: String,
    /// The offending value, when there is one.
    pub value: Option<Value>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]: {}", self.field, self.rule, self.issue)
    }
}

/// Every rule a request breaks.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationErrors(pub Vec<Violation>);

impl ValidationErrors {
    /// The violations, in field order.
    #[must_use]
    pub fn violations(&self) -> &[Violation] {
        &self.0
    }

    /// Whether some violation is of `rule`.
    #[must_use]
    pub fn has(&self, rule: Rule) -> bool {
        self.0.iter().any(|v| v.rule == rule)
    }

    /// Whether some violation names `field` (a JSON Pointer).
    #[must_use]
    pub fn has_field(&self, field: &str) -> bool {
        self.0.iter().any(|v| v.field == field)
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request breaks {} rule(s): ", self.0.len())?;
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Collects violations.
#[derive(Debug, Default)]
pub(crate) struct Check(pub(crate) Vec<Violation>);

/// The pointer `/{list}/{index}/{name}`, formatted only when a violation is recorded, so
/// that a valid request costs no allocations for field names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'a>(
    pub(crate) &'static str,
    pub(crate) usize,
    pub(crate) &'a str,
);

impl fmt::Display for Item<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/{}/{}", self.0, self.1, self.2)
    }
}

impl Check {
    pub(crate) fn push(
        &mut self,
        field: impl fmt::Display,
        rule: Rule,
        issue: impl Into<String>,
        value: Option<Value>,
    ) {
        self.0.push(Violation {
            field: field.to_string(),
            rule,
            issue: issue.into(),
            value,
        });
    }

    /// `s` must be non-empty.
    pub(crate) fn required(&mut self, field: impl fmt::Display, s: &str) -> bool {
        if s.trim().is_empty() {
            self.push(
                field,
                Rule::Required,
                "is required and must not be empty",
                None,
            );
            return false;
        }
        true
    }

    /// At most `max` characters (each Han character, letter or symbol counts 1).
    pub(crate) fn max_chars(&mut self, field: impl fmt::Display, s: &str, max: usize) {
        let n = s.chars().count();
        if n > max {
            self.push(
                field,
                Rule::Length,
                format!("must be at most {max} characters, got {n}"),
                Some(s.into()),
            );
        }
    }

    pub(crate) fn required_max(&mut self, field: impl fmt::Display + Copy, s: &str, max: usize) {
        if self.required(field, s) {
            self.max_chars(field, s, max);
        }
    }

    pub(crate) fn opt_max(&mut self, field: impl fmt::Display, s: Option<&str>, max: usize) {
        if let Some(s) = s {
            self.max_chars(field, s, max);
        }
    }

    pub(crate) fn out_order_no(&mut self, field: &str, s: &str) {
        if !self.required(field, s) {
            return;
        }
        self.max_chars(field, s, 32);
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*".contains(&b))
        {
            self.push(
                field,
                Rule::Charset,
                "may contain only 0-9 A-Z a-z _ - | *",
                Some(s.into()),
            );
        }
    }

    /// At most `max` bytes of UTF-8 (a Han character counts 3).
    pub(crate) fn max_bytes(&mut self, field: &str, s: &str, max: usize) {
        if s.len() > max {
            self.push(
                field,
                Rule::Length,
                format!("must be at most {max} bytes of UTF-8, got {}", s.len()),
                Some(s.into()),
            );
        }
    }

    /// A refund number: 1–64 bytes of `[0-9A-Za-z_-|*@]`.
    pub(crate) fn out_refund_no(&mut self, field: &str, s: &str) {
        if !self.required(field, s) {
            return;
        }
        self.max_bytes(field, s, 64);
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*@".contains(&b))
        {
            self.push(
                field,
                Rule::Charset,
                "may contain only 0-9 A-Z a-z _ - | * @",
                Some(s.into()),
            );
        }
    }

    /// A callback URL of at most `max` characters: https (http only for loopback), no
    /// query string.
    pub(crate) fn notify_url(&mut self, field: &str, url: &str, max: usize) {
        if !self.required(field, url) {
            return;
        }
        self.max_chars(field, url, max);
        let rest = url.strip_prefix("https://").or_else(|| {
            // WeChat Pay only calls https; plain http is accepted for loopback receivers, which
            // only the local sandbox can reach.
            url.strip_prefix("http://").filter(|r| {
                ["127.0.0.1", "localhost", "[::1]"].iter().any(|h| {
                    r.strip_prefix(h)
                        .is_some_and(|t| t.is_empty() || t.starts_with([':', '/']))
                })
            })
        });
        match rest {
            None => self.push(
                field,
                Rule::NotifyUrl,
                "must be an absolute https:// URL (http:// is accepted only for a loopback receiver, 127.0.0.1, localhost or [::1], which only the local sandbox can reach)",
                Some(url.into()),
            ),
            Some(r) if r.is_empty() || r.starts_with('/') => {
                self.push(field, Rule::NotifyUrl, "has no host", Some(url.into()));
            }
            Some(r)
                if r.split('/').next().is_some_and(|authority| authority.contains('@'))
                    || r.contains(|c: char| c == '\\' || c.is_whitespace() || c.is_control()) =>
            {
                // URL parsers differ on these (a backslash ends the host for some, not for
                // others): WeChat Pay takes a plain URL.
                self.push(
                    field,
                    Rule::NotifyUrl,
                    "must be a plain URL: no user info (user@), backslash, space or control character",
                    Some(url.into()),
                );
            }
            Some(r) if r.contains('?') => {
                self.push(
                    field,
                    Rule::NotifyUrl,
                    "must not carry a query string",
                    Some(url.into()),
                );
            }
            Some(_) => {}
        }
    }

    /// Rejects 4-byte UTF-8 characters in every string of `request` (the JSON walk that
    /// names the field runs only when the serialised bytes hold such a character).
    pub(crate) fn no_four_byte_chars_in<T: serde::Serialize>(&mut self, request: &T) {
        // In UTF-8 only the lead byte of a 4-byte character is >= 0xF0: look at the bytes
        // as they are written, without keeping them.
        struct FourByte(bool);
        impl std::io::Write for FourByte {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0 |= buf.iter().any(|&x| x >= 0xF0);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut seen = FourByte(false);
        if serde_json::to_writer(&mut seen, request).is_ok() && !seen.0 {
            return;
        }
        self.no_four_byte_chars("", &serde_json::to_value(request).unwrap_or_default());
    }

    /// Rejects 4-byte UTF-8 characters in every string of `v`.
    pub(crate) fn no_four_byte_chars(&mut self, pointer: &str, v: &Value) {
        match v {
            Value::String(s) if s.chars().any(|c| c.len_utf8() == 4) => {
                self.push(pointer, Rule::FourByteUtf8, "contains a 4-byte UTF-8 character (emoji?); only 1-3 byte characters are allowed", Some(v.clone()));
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    self.no_four_byte_chars(&format!("{pointer}/{i}"), x);
                }
            }
            Value::Object(o) => {
                for (k, x) in o {
                    self.no_four_byte_chars(&format!("{pointer}/{k}"), x);
                }
            }
            _ => {}
        }
    }

    pub(crate) fn finish(mut self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            self.0.sort_by(|a, b| a.field.cmp(&b.field));
            Err(ValidationErrors(self.0))
        }
    }
}

/// Parses a Pay Score time (`yyyyMMddHHmmss`, or `yyyyMMdd` meaning 00:00:00 of that day,
/// Beijing time) into the number `yyyyMMddHHmmss`, which orders like the time.
#[must_use]
pub fn parse_payscore_time(s: &str) -> Option<i64> {
    if !(s.len() == 14 || s.len() == 8) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let (y, mo, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let month = time::Month::try_from(u8::try_from(mo).ok()?).ok()?;
    time::Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?).ok()?;
    let (h, mi, se) = if s.len() == 14 {
        (n(8..10)?, n(10..12)?, n(12..14)?)
    } else {
        (0, 0, 0)
    };
    if h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let date = i64::from(y) * 10_000 + i64::from(mo) * 100 + i64::from(d);
    Some(date * 1_000_000 + i64::from(h) * 10_000 + i64::from(mi) * 100 + i64::from(se))
}

/// Reads a Pay Score time (`yyyyMMddHHmmss`, or `yyyyMMdd` for midnight) in Beijing time
/// as unix seconds.
#[must_use]
pub fn payscore_time_to_unix(s: &str) -> Option<i64> {
    let n = parse_payscore_time(s)?;
    let (date, secs) = (n / 1_000_000, n % 1_000_000);
    let month = time::Month::try_from(u8::try_from(date / 100 % 100).ok()?).ok()?;
    let d = time::Date::from_calendar_date(
        i32::try_from(date / 10_000).ok()?,
        month,
        u8::try_from(date % 100).ok()?,
    )
    .ok()?;
    let t = time::Time::from_hms(
        u8::try_from(secs / 10_000).ok()?,
        u8::try_from(secs / 100 % 100).ok()?,
        u8::try_from(secs % 100).ok()?,
    )
    .ok()?;
    Some(
        time::PrimitiveDateTime::new(d, t)
            .assume_offset(time::macros::offset!(+8))
            .unix_timestamp(),
    )
}

/// Formats unix seconds as a Pay Score time `yyyyMMddHHmmss` in Beijing time (UTC+8).
#[must_use]
pub fn payscore_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.to_offset(time::macros::offset!(+8)))
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year][month][day][hour][minute][second]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payscore_times() {
        assert_eq!(
            parse_payscore_time("20251126163847"),
            Some(20_251_126_163_847)
        );
        assert_eq!(parse_payscore_time("20251126"), Some(20_251_126_000_000));
        for bad in [
            "2025112616384",
            "20251301",
            "20250230",
            "20251126246000",
            "2025-11-26",
            "OnAccept",
            "",
        ] {
            assert_eq!(parse_payscore_time(bad), None, "{bad}");
        }
        assert_eq!(payscore_time(1_764_146_327), "20251126163847");
        assert_eq!(payscore_time_to_unix("20251126163847"), Some(1_764_146_327));
        assert_eq!(payscore_time_to_unix("2025-11-26"), None);
    }

    #[test]
    fn notify_urls() {
        let check = |u: &str| {
            let mut c = Check::default();
            c.notify_url("/notify_url", u, 255);
            c.0.first().map(|v| v.rule)
        };
        assert_eq!(check("https://example.com/notify"), None);
        assert_eq!(check("http://127.0.0.1:8080/notify"), None);
        assert_eq!(check("http://example.com/notify"), Some(Rule::NotifyUrl));
        assert_eq!(
            check("https://example.com/notify?a=1"),
            Some(Rule::NotifyUrl)
        );
        assert_eq!(check("http://localhost.evil.com/"), Some(Rule::NotifyUrl));
        for smuggled in [
            "https://10.200.0.1:9441\\@127.0.0.1/n",
            "https://user:pw@example.com/n",
            "http://127.0.0.1@10.0.0.1/n",
            "https://exa\tmple.com/n",
        ] {
            assert_eq!(check(smuggled), Some(Rule::NotifyUrl), "{smuggled}");
        }
        assert_eq!(
            check("https://example.com/a@b"),
            None,
            "an @ in the path is fine"
        );
        assert_eq!(check(""), Some(Rule::Required));
    }
}
