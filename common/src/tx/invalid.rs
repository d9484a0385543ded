//! The verdict on a transaction that is not valid.

use std::fmt;

use weft_protos::protos::TxValidationCode;

/// Why a transaction is invalid: Fabric's code plus a sentence for humans.
/// This is data, not an error: invalid transactions stay in their block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The validation code recorded in the block's transactions filter.
    pub code: TxValidationCode,
    /// What exactly was wrong.
    pub reason: String,
}

impl Invalid {
    /// A verdict with a code and reason.
    pub fn new(code: TxValidationCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str_name(), self.reason)
    }
}
