//! Routing an invocation to a contract's transaction.

use weft_chaincode_abi::Response;

use crate::{Context, ContractError, Ledger};

/// The function name that returns the chaincode's metadata (as in Fabric's contract API).
pub const METADATA_FUNCTION: &str = "org.hyperledger.fabric:GetMetadata";

/// A transaction as the metadata describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionInfo {
    /// Its name (`CreateAsset`).
    pub name: &'static str,
    /// Evaluated (query) rather than submitted.
    pub evaluate: bool,
    /// Parameters: (name, Rust type).
    pub params: &'static [(&'static str, &'static str)],
    /// Return type.
    pub returns: &'static str,
}

/// A contract; implemented by `#[contract]`.
pub trait Contract {
    /// The contract's name (for `Name:Function` routing).
    fn name(&self) -> &'static str;
    /// Its transactions.
    fn transactions(&self) -> &'static [TransactionInfo];
    /// Runs a transaction.
    fn dispatch(
        &self,
        ctx: &mut Context<'_>,
        function: &str,
        args: &[Vec<u8>],
    ) -> Result<Vec<u8>, ContractError>;
}

/// Routes invocations to a chaincode's contracts; the first is the default.
pub struct Router {
    contracts: Vec<Box<dyn Contract>>,
}

impl Router {
    /// A router over contracts; the first answers functions without a `Contract:` prefix.
    pub fn new(contracts: Vec<Box<dyn Contract>>) -> Self {
        Self { contracts }
    }

    /// The metadata of every contract, as JSON.
    pub fn metadata(&self) -> serde_json::Value {
        let contracts: serde_json::Map<String, serde_json::Value> = self
            .contracts
            .iter()
            .map(|c| {
                let txs: Vec<serde_json::Value> = c
                    .transactions()
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "name": t.name,
                            "tag": [if t.evaluate { "evaluate" } else { "submit" }],
                            "parameters": t.params.iter().map(|(n, ty)| serde_json::json!({"name": n, "type": ty})).collect::<Vec<_>>(),
                            "returns": t.returns,
                        })
                    })
                    .collect();
                (c.name().to_string(), serde_json::json!({ "name": c.name(), "transactions": txs }))
            })
            .collect();
        serde_json::json!({ "contracts": contracts, "default": self.contracts.first().map(|c| c.name()) })
    }

    /// Handles one invocation: `args[0]` is `Function` or `Contract:Function`.
    pub fn handle(&self, ledger: &mut dyn Ledger, args: &[Vec<u8>]) -> Response {
        let Some((first, rest)) = args.split_first() else {
            return Response {
                status: 400,
                message: "no function name given".into(),
                payload: Vec::new(),
            };
        };
        let Ok(name) = std::str::from_utf8(first) else {
            return Response {
                status: 400,
                message: "the function name is not UTF-8".into(),
                payload: Vec::new(),
            };
        };
        if name == METADATA_FUNCTION {
            return Response::ok(self.metadata().to_string().into_bytes());
        }
        let (contract, function) = match name.split_once(':') {
            Some((c, f)) => match self.contracts.iter().find(|x| x.name() == c) {
                Some(contract) => (contract, f),
                None => {
                    return Response {
                        status: 404,
                        message: format!("no contract named {c:?}"),
                        payload: Vec::new(),
                    };
                }
            },
            None => match self.contracts.first() {
                Some(c) => (c, name),
                None => return Response::error("the chaincode registers no contract"),
            },
        };
        let mut ctx = Context::new(ledger);
        match contract.dispatch(&mut ctx, function, rest) {
            Ok(payload) => Response::ok(payload),
            Err(e) => Response {
                status: e.status,
                message: e.message,
                payload: Vec::new(),
            },
        }
    }
}
