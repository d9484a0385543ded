//! The error a transaction returns.

use std::fmt;

/// Why a transaction failed; it becomes the chaincode response's message
/// (status 500, or `status` when set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractError {
    /// Response status (400–599).
    pub status: u32,
    /// What went wrong, for the client.
    pub message: String,
}

impl ContractError {
    /// An error with status 500.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            status: 500,
            message: message.into(),
        }
    }

    /// An error with a status of your choice (e.g. 404).
    pub fn with_status(status: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// The function is not a transaction of the contract.
    pub fn unknown_function(contract: &str, function: &str) -> Self {
        Self::with_status(
            400,
            format!("contract {contract} has no transaction {function:?}"),
        )
    }

    /// The transaction got the wrong number of arguments.
    pub fn wrong_arg_count(tx: &str, want: usize, got: usize) -> Self {
        Self::with_status(400, format!("{tx} takes {want} argument(s), got {got}"))
    }
}

impl fmt::Display for ContractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ContractError {}

impl From<crate::LedgerError> for ContractError {
    fn from(e: crate::LedgerError) -> Self {
        Self::new(e.to_string())
    }
}

impl From<serde_json::Error> for ContractError {
    fn from(e: serde_json::Error) -> Self {
        Self::new(format!("JSON: {e}"))
    }
}
