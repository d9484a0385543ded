//! The error type of `weft-peer`, and its one mapping to a gRPC status.

use std::path::PathBuf;

/// Everything that can go wrong in the peer. Variants that wrap another
/// error keep it as their source; the others are causes of their own.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// A chaincode module or package was refused.
    #[error("chaincode refused: {0}")]
    InvalidChaincode(String),
    /// An invocation failed; the proposal fails, the peer goes on.
    #[error("chaincode {chaincode} failed: {reason}")]
    Invocation {
        /// The chaincode.
        chaincode: String,
        /// What happened (out of fuel, memory limit, trap, bad response, ...).
        reason: String,
    },
    /// A simulation mixed what Fabric keeps apart in one transaction (a
    /// private-data query and a write); the chaincode is told why.
    #[error("unsupported transaction: {0}")]
    UnsupportedTransaction(&'static str),
    /// A chaincode's rich query is malformed or uses what weft does not
    /// evaluate; the chaincode is told why.
    #[error("rich query: {0}")]
    Query(#[from] weft_chaincode_query::QueryError),
    /// A rich query would examine more documents than the peer allows.
    #[error(
        "rich query examined {scanned} documents without finishing (ledger.state.totalQueryLimit): add an index its selector can use, or narrow it"
    )]
    QueryTooBroad {
        /// The documents examined.
        scanned: usize,
    },
    /// The ledger's data is missing or inconsistent.
    #[error("ledger: {0}")]
    Ledger(String),
    /// The ledger's database failed.
    #[error("ledger: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A listener could not be bound or read.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// A remote node refused or failed a request, as it said.
    #[error("{0}")]
    Remote(String),
    /// A call to a remote node failed.
    #[error("{what}: {}", source.message())]
    Call {
        /// Which node and what was asked.
        what: String,
        /// Its status.
        source: tonic::Status,
    },
    /// The configuration is invalid.
    #[error("config: {0}")]
    Config(String),
    /// A shared building block failed (identity, TLS, config decoding).
    #[error(transparent)]
    Common(#[from] weft_common::CommonError),
    /// A channel could not be joined or served.
    #[error("channel: {0}")]
    Channel(String),
    /// The chaincode runtime or a build could not be set up.
    #[error("chaincode runtime: {0}")]
    Runtime(String),
    /// The WASM engine failed.
    #[error("chaincode runtime: {0}")]
    Wasm(#[from] wasmtime::Error),
}

impl PeerError {
    /// A [`PeerError::File`] for `path`.
    pub fn file(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::File { path, source }
    }
}

/// The one mapping of the peer's errors to gRPC statuses.
impl From<PeerError> for tonic::Status {
    fn from(e: PeerError) -> Self {
        let message = e.to_string();
        match e {
            PeerError::InvalidChaincode(_)
            | PeerError::UnsupportedTransaction(_)
            | PeerError::Query(_)
            | PeerError::QueryTooBroad { .. } => Self::invalid_argument(message),
            PeerError::Remote(_) | PeerError::Call { .. } => Self::unavailable(message),
            PeerError::Channel(_) => Self::failed_precondition(message),
            PeerError::Common(c) => common_status(c, message),
            PeerError::Invocation { .. }
            | PeerError::Ledger(_)
            | PeerError::Rocks(_)
            | PeerError::File { .. }
            | PeerError::Listen { .. }
            | PeerError::Config(_)
            | PeerError::Runtime(_)
            | PeerError::Wasm(_) => Self::internal(message),
        }
    }
}

fn common_status(e: weft_common::CommonError, message: String) -> tonic::Status {
    use weft_common::CommonError as C;
    match e {
        C::Decode { .. } | C::Invalid { .. } | C::InvalidChannelId(_) => {
            tonic::Status::invalid_argument(message)
        }
        C::BadSignature(_)
        | C::Identity { .. }
        | C::UnknownMsp(_)
        | C::PolicyNotSatisfied { .. } => tonic::Status::permission_denied(message),
        C::BadEndpoint { .. } | C::DialTls { .. } | C::Connect { .. } => {
            tonic::Status::unavailable(message)
        }
        _ => tonic::Status::internal(message),
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::PeerError;

    #[test]
    fn a_wrapped_error_stays_the_source_and_the_text_names_the_file() {
        let e =
            PeerError::file("/no/such/ca.pem")(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert!(e.to_string().starts_with("/no/such/ca.pem: "), "{e}");
        let source = e.source().unwrap();
        let io = source.downcast_ref::<std::io::Error>().unwrap();
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn each_cause_maps_to_its_status() {
        let status = |e: PeerError| tonic::Status::from(e).code();
        use tonic::Code;
        assert_eq!(
            status(PeerError::InvalidChaincode("x".into())),
            Code::InvalidArgument
        );
        assert_eq!(status(PeerError::Ledger("x".into())), Code::Internal);
        assert_eq!(
            status(PeerError::Channel("x".into())),
            Code::FailedPrecondition
        );
        let call = PeerError::Call {
            what: "orderer o:1".into(),
            source: tonic::Status::unavailable("down"),
        };
        assert_eq!(call.to_string(), "orderer o:1: down");
        assert_eq!(status(call), Code::Unavailable);
        let unknown = weft_common::CommonError::UnknownMsp(weft_common::ids::MspId::new("X"));
        assert_eq!(status(unknown.into()), Code::PermissionDenied);
    }
}
