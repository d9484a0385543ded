//! A contract that misbehaves on request, for the peer's containment tests:
//! `Panic`, `Loop` and `Hoard` fail in the ways real contracts do, `Put`
//! behaves, so a test can show the runtime keeps serving afterwards;
//! `CallOther` calls another chaincode.

use weft_chaincode_sdk::{Context, ContractError, contract};

/// The contract.
#[derive(Default)]
pub struct Misbehaving;

#[contract("Misbehaving")]
impl Misbehaving {
    /// Writes a key (the well-behaved control).
    #[transaction]
    pub fn put(&self, ctx: &mut Context, key: String, value: String) -> Result<(), ContractError> {
        Ok(ctx.put_state(&key, value.as_bytes())?)
    }

    /// Writes a key, then panics: the write must not survive.
    #[transaction]
    pub fn panic(&self, ctx: &mut Context, key: String) -> Result<(), ContractError> {
        ctx.put_state(&key, b"half-done")?;
        let items: Vec<u32> = Vec::new();
        let index = key.len() + 10;
        panic!("index {index} is out of range for {} items", items.len());
    }

    /// Never returns.
    #[transaction(name = "Loop")]
    pub fn r#loop(&self, _ctx: &mut Context) -> Result<u64, ContractError> {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
            if n == u64::MAX {
                return Ok(n);
            }
        }
    }

    /// Calls `function(arg)` of chaincode `name` on the same channel and returns its payload.
    #[transaction]
    pub fn call_other(
        &self,
        ctx: &mut Context,
        name: String,
        function: String,
        arg: String,
    ) -> Result<String, ContractError> {
        let r = ctx.invoke_chaincode(&name, &[function.into_bytes(), arg.into_bytes()])?;
        if r.status >= 400 {
            return Err(ContractError::new(format!(
                "{name} answered {}: {}",
                r.status, r.message
            )));
        }
        Ok(String::from_utf8_lossy(&r.payload).into_owned())
    }

    /// Allocates until something gives.
    #[transaction]
    pub fn hoard(&self, _ctx: &mut Context) -> Result<u64, ContractError> {
        let mut kept: Vec<Vec<u8>> = Vec::new();
        loop {
            kept.push(vec![1u8; 1 << 20]);
            std::hint::black_box(&kept);
        }
    }
}

weft_chaincode_sdk::register!(Misbehaving);
