//! Typed identifiers. Each wraps its raw form so that a channel name cannot be
//! passed where an MSP id is expected.

use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a raw string.
            pub fn new(raw: impl Into<String>) -> Self {
                Self(raw.into())
            }
            /// The raw string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// A channel name, e.g. `mychannel`.
    ChannelId
);
string_id!(
    /// An MSP identifier, e.g. `Org1MSP`.
    MspId
);
string_id!(
    /// A transaction id: lowercase hex of SHA-256(nonce ‖ creator).
    TxId
);
string_id!(
    /// A chaincode name, e.g. `basic`.
    ChaincodeName
);

impl ChannelId {
    /// Checks Fabric's channel-name rules: lowercase ASCII letters, digits, `.` and `-`,
    /// starting with a letter, fewer than 250 characters.
    pub fn parse(raw: &str) -> Result<Self, crate::CommonError> {
        let ok = !raw.is_empty()
            && raw.len() < 250
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(crate::CommonError::InvalidChannelId(raw.to_string()))
        }
    }
}

impl ChaincodeName {
    /// Checks Fabric's rule for chaincode names: ASCII letters and digits in
    /// runs joined by single `-` or `_` (`^[a-zA-Z0-9]+([-_][a-zA-Z0-9]+)*$`).
    pub fn parse(raw: &str) -> Result<Self, crate::CommonError> {
        let ok = !raw.is_empty()
            && raw
                .split(['-', '_'])
                .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(crate::CommonError::InvalidChaincodeName(raw.to_string()))
        }
    }
}

impl TxId {
    /// Checks the form of a transaction id as Fabric computes it: the
    /// lowercase hex of SHA-256(nonce ‖ creator), 64 digits.
    pub fn parse(raw: &str) -> Result<Self, crate::CommonError> {
        let ok = raw.len() == 64 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(crate::CommonError::InvalidTxId(raw.to_string()))
        }
    }
}

/// A block number (height - 1 of the block's chain position).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct BlockNum(pub u64);

impl BlockNum {
    /// The next block number.
    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

impl fmt::Display for BlockNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The position of a transaction in a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxNum(pub u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chaincode_names_follow_fabric_rules() {
        for good in ["basic", "asset-transfer_2", "A1"] {
            assert!(ChaincodeName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-basic",
            "basic-",
            "a--b",
            "a_-b",
            "bad.name",
            "_lifecycle",
            "x y",
        ] {
            assert!(ChaincodeName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn txids_are_64_lowercase_hex_digits() {
        let computed = crate::tx::compute_txid(b"nonce", b"creator");
        assert_eq!(TxId::parse(computed.as_str()).unwrap(), computed);
        let upper = computed.as_str().to_uppercase();
        for bad in ["", "abc", upper.as_str(), &computed.as_str()[1..]] {
            assert!(TxId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn channel_names_follow_fabric_rules() {
        assert!(ChannelId::parse("mychannel").is_ok());
        assert!(ChannelId::parse("b250ms500").is_ok());
        assert!(ChannelId::parse("a.b-c").is_ok());
        assert!(ChannelId::parse("MyChannel").is_err());
        assert!(ChannelId::parse("1abc").is_err());
        assert!(ChannelId::parse("").is_err());
        assert!(ChannelId::parse(&"a".repeat(250)).is_err());
    }
}
