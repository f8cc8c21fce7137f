use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
        impl From<&String> for $name {
            fn from(s: &String) -> Self {
                Self(s.clone())
            }
        }
        impl From<$name> for String {
            fn from(s: $name) -> Self {
                s.0
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl PartialEq<str> for $name {
            fn eq(&self, o: &str) -> bool {
                self.0 == o
            }
        }
        impl PartialEq<&str> for $name {
            fn eq(&self, o: &&str) -> bool {
                self.0 == *o
            }
        }
    )*};
}

id_type! {
    /// A merchant number (商户号): `mchid`, `sp_mchid` or `sub_mchid`.
    MchId;
    /// An app id (应用ID): `appid` or `sub_appid`.
    AppId;
    /// A Pay Score service id (服务ID).
    ServiceId;
    /// The merchant's service-order number (商户服务订单号), 1–32 of `[0-9A-Za-z_-|*]`.
    OutOrderNo;
    /// WeChat Pay's service-order number (微信支付服务订单号).
    OrderId;
    /// A WeChat Pay transaction id (微信支付订单号).
    TransactionId;
    /// A user's openid under an appid.
    OpenId;
}

/// An amount of money in fen (分, 1/100 yuan). Integers only: WeChat Pay never uses
/// fractional amounts, and neither does this SDK.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl Fen {
    /// Zero fen.
    pub const ZERO: Fen = Fen(0);

    /// The amount in fen.
    #[must_use]
    pub fn get(self) -> i64 {
        self.0
    }

    /// `self + other`, or `None` on overflow.
    #[must_use]
    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    /// `self - other`, or `None` on overflow.
    #[must_use]
    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }
}

impl From<i64> for Fen {
    fn from(v: i64) -> Self {
        Fen(v)
    }
}

impl fmt::Debug for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fen({})", self.0)
    }
}

/// Shows yuan with two decimals, computed with integers: `Fen(12345)` → `123.45`.
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_displays_as_yuan_without_floats() {
        assert_eq!(Fen(12345).to_string(), "123.45");
        assert_eq!(Fen(5).to_string(), "0.05");
        assert_eq!(Fen(-101).to_string(), "-1.01");
        assert_eq!(serde_json::to_string(&Fen(100)).unwrap(), "100");
        assert!(serde_json::from_str::<Fen>("1.5").is_err());
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), None);
    }
}
