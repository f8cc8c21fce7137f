//! Faults on demand (test helper `fault`): the next requests matching a method and a path
//! pattern fail in a chosen way, so that a user's error paths can be tested. Kept in
//! memory: a restart clears them.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// How a matching request fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub(crate) enum FaultKind {
    /// WeChat Pay's error answer, signed, before the request is carried out.
    Error {
        /// HTTP status (default 500).
        #[serde(default = "default_status")]
        status: u16,
        /// WeChat's code (default `SYSTEM_ERROR`).
        #[serde(default = "default_code")]
        code: String,
        /// WeChat's message (default `系统错误`).
        #[serde(default = "default_message")]
        message: String,
    },
    /// A pause before the request is handled, to run into the client's timeout.
    Delay {
        /// How long, in ms.
        ms: u64,
    },
    /// The request is carried out, then the connection is closed without the answer:
    /// only a query tells the truth.
    DropAfter,
    /// The connection is closed without an answer and the request is not carried out.
    CloseBefore,
}

impl FaultKind {
    /// What the fault does, as the request log and the console say it.
    pub(crate) fn describe(&self) -> String {
        match self {
            FaultKind::Error { status, code, .. } => {
                format!("answers {status} {code} before handling the request")
            }
            FaultKind::Delay { ms } => format!("holds the request {ms} ms before handling it"),
            FaultKind::DropAfter => {
                "carries the request out, then closes the connection without the answer".into()
            }
            FaultKind::CloseBefore => {
                "closes the connection without an answer; nothing is carried out".into()
            }
        }
    }
}

fn default_status() -> u16 {
    500
}

fn default_code() -> String {
    "SYSTEM_ERROR".into()
}

fn default_message() -> String {
    "系统错误".into()
}

/// One fault rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Fault {
    /// `GET`, `POST`, …; any method when absent.
    #[serde(default)]
    pub(crate) method: Option<String>,
    /// The request path (without the query); `*` stands for any run of characters.
    pub(crate) path: String,
    /// How many more requests it applies to.
    #[serde(default = "one")]
    pub(crate) times: u32,
    /// What happens to them.
    #[serde(flatten)]
    pub(crate) kind: FaultKind,
}

fn one() -> u32 {
    1
}

/// The fault rules waiting for requests, first added first applied.
#[derive(Debug, Default)]
pub(crate) struct Faults(Mutex<Vec<Fault>>);

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a rule.
    pub(crate) fn add(&self, f: Fault) {
        self.lock().push(f);
    }

    /// Removes every rule; how many there were.
    pub(crate) fn clear(&self) -> usize {
        std::mem::take(&mut *self.lock()).len()
    }

    /// The rules waiting.
    pub(crate) fn list(&self) -> Vec<Fault> {
        self.lock().clone()
    }

    /// The fault for a request, if a rule matches it; the rule is used up by one.
    pub(crate) fn take(&self, method: &str, path: &str) -> Option<FaultKind> {
        let mut rules = self.lock();
        let i = rules.iter().position(|f| {
            f.times > 0
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && matches(&f.path, path)
        })?;
        let kind = rules[i].kind.clone();
        rules[i].times -= 1;
        if rules[i].times == 0 {
            rules.remove(i);
        }
        Some(kind)
    }
}

/// Whether `path` matches `pattern`, where `*` stands for any run of characters.
fn matches(pattern: &str, path: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = path.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// On a response: close the connection instead of writing it (the server loop honours it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnection;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_with_stars() {
        let p = "/v3/payscore/partner/serviceorder/*/complete";
        assert!(matches(
            p,
            "/v3/payscore/partner/serviceorder/RENT1/complete"
        ));
        assert!(!matches(
            p,
            "/v3/payscore/partner/serviceorder/RENT1/cancel"
        ));
        assert!(matches("/v3/refund/*", "/v3/refund/domestic/refunds"));
        assert!(matches("*", "/anything"));
        assert!(matches("/exact", "/exact"));
        assert!(!matches("/exact", "/exact/more"));
        assert!(!matches("/a*b*c", "/ac"));
        assert!(matches("/a*b*c", "/a-b-c"));
    }

    #[test]
    fn a_rule_applies_as_often_as_it_says_to_the_method_it_names() {
        let f = Faults::default();
        f.add(Fault {
            method: Some("POST".into()),
            path: "/v3/*".into(),
            times: 2,
            kind: FaultKind::CloseBefore,
        });
        assert_eq!(f.take("GET", "/v3/x"), None);
        assert_eq!(f.take("post", "/v3/x"), Some(FaultKind::CloseBefore));
        assert_eq!(f.take("POST", "/v3/y"), Some(FaultKind::CloseBefore));
        assert_eq!(f.take("POST", "/v3/z"), None);
        assert!(f.list().is_empty());
    }
}
