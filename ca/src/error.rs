//! The CA's errors, in Fabric CA's shape: an HTTP status, a numeric code
//! from Fabric CA's list, and a message. The REST layer turns them into the
//! cfssl envelope (`{"success":false,"errors":[{"code":..,"message":..}]}`).

/// Fabric CA's error codes that weft uses (`lib/caerrors` in Fabric CA).
pub mod code {
    /// The request body could not be read or parsed.
    pub const BAD_REQUEST: u16 = 1;
    /// Authentication failed (wrong secret, unknown or revoked identity).
    pub const AUTH_FAILURE: u16 = 20;
    /// No user/password in the Authorization header.
    pub const NO_USER_PASS: u16 = 21;
    /// Invalid user name.
    pub const INVALID_USER: u16 = 23;
    /// Invalid password (or enrollments exhausted).
    pub const INVALID_PASS: u16 = 24;
    /// Invalid token in the Authorization header.
    pub const INVALID_TOKEN: u16 = 25;
    /// Certificate not issued by this CA.
    pub const UNTRUSTED_CERT: u16 = 26;
    /// Certificate revoked.
    pub const CERT_REVOKED: u16 = 28;
    /// Bad certificate signing request.
    pub const BAD_CSR: u16 = 31;
    /// The identity was revoked.
    pub const REVOKED_ID: u16 = 70;
    /// Too many failed secrets in a row for one identity.
    pub const PASSWORD_ATTEMPTS: u16 = 73;
    /// The caller lacks the authority for the operation.
    pub const AUTHORIZATION: u16 = 71;
    /// No such identity (a failed lookup).
    pub const IDENTITY_NOT_FOUND: u16 = 63;
    /// No such affiliation.
    pub const AFFILIATION_NOT_FOUND: u16 = 62;
    /// The request needs `force` (it would remove or move identities, or itself).
    pub const NEEDS_FORCE: u16 = 56;
    /// Removal is disabled in the server's configuration.
    pub const REMOVAL_DISABLED: u16 = 57;
    /// The identity already exists (Fabric CA reports registration failures
    /// without a dedicated code).
    pub const IDENTITY_EXISTS: u16 = 0;
    /// Internal failure (database, signing).
    pub const INTERNAL: u16 = 0;
}

/// Everything that can go wrong in the CA.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// A refused or failed request: HTTP status, Fabric CA code, message.
    #[error("{message} (code {code})")]
    Api {
        /// HTTP status.
        status: u16,
        /// Fabric CA error code.
        code: u16,
        /// What went wrong.
        message: String,
    },
    /// The configuration or home directory is unusable.
    #[error("config: {0}")]
    Config(String),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    /// Keys or certificates failed.
    #[error(transparent)]
    Common(#[from] weft_common::CommonError),
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The path.
        path: std::path::PathBuf,
        /// What failed.
        reason: String,
    },
}

impl CaError {
    /// A refusal with `status`, `code` and `message`.
    pub fn api(status: u16, code: u16, message: impl Into<String>) -> Self {
        Self::Api {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with `code`.
    pub fn bad_request(code: u16, message: impl Into<String>) -> Self {
        Self::api(400, code, message)
    }

    /// 401 with `code`.
    pub fn unauthorized(code: u16, message: impl Into<String>) -> Self {
        Self::api(401, code, message)
    }

    /// 403 (the caller is known but may not do this).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::api(403, code::AUTHORIZATION, message)
    }

    pub(crate) fn io(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    }

    /// HTTP status, Fabric CA code and message for the REST layer.
    pub fn parts(&self) -> (u16, u16, String) {
        match self {
            Self::Api {
                status,
                code,
                message,
            } => (*status, *code, message.clone()),
            other => (500, code::INTERNAL, other.to_string()),
        }
    }
}
