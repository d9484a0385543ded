//! Fabric's token-erc-20 sample, as weft chaincode. Accounts are client
//! identities (`ClientAccountID`: the base64 of `x509::<subject>::<issuer>`,
//! as Fabric's `cid.GetID` returns it); balances are stored under the account
//! id, allowances under the composite key `allowance~owner~spender`. Only
//! clients of the minter organisation (`Org1MSP`, as in Fabric's sample) may
//! initialise, mint and burn.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use weft_chaincode_sdk::{Context, ContractError, contract};

/// The organisation whose clients may initialise, mint and burn.
pub const MINTER_MSP: &str = "Org1MSP";
const NAME_KEY: &str = "name";
const SYMBOL_KEY: &str = "symbol";
const DECIMALS_KEY: &str = "decimals";
const TOTAL_SUPPLY_KEY: &str = "totalSupply";
const ALLOWANCE_PREFIX: &str = "allowance";

/// The payload of `Transfer` events (`from` is `0x0` for a mint, `to` for a burn).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferEvent {
    /// Sending account.
    pub from: String,
    /// Receiving account.
    pub to: String,
    /// Amount.
    pub value: u64,
}

/// The payload of `Approval` events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalEvent {
    /// Account whose tokens may be spent.
    pub owner: String,
    /// Account allowed to spend them.
    pub spender: String,
    /// Allowance.
    pub value: u64,
}

/// The contract.
#[derive(Default)]
pub struct TokenErc20;

fn err(message: impl Into<String>) -> ContractError {
    ContractError::new(message)
}

impl TokenErc20 {
    fn client_account(&self, ctx: &mut Context) -> Result<String, ContractError> {
        let id = ctx.client_identity()?.id;
        Ok(base64::engine::general_purpose::STANDARD.encode(id))
    }

    fn require_minter(&self, ctx: &mut Context, action: &str) -> Result<(), ContractError> {
        let msp = ctx.client_identity()?.msp_id;
        if msp != MINTER_MSP {
            return Err(ContractError::with_status(
                403,
                format!("client of {msp} is not authorized to {action}; only {MINTER_MSP} is"),
            ));
        }
        Ok(())
    }

    fn require_initialized(&self, ctx: &mut Context) -> Result<(), ContractError> {
        if ctx.get_state(NAME_KEY)?.is_none() {
            return Err(err(
                "the contract is not initialized yet: call Initialize first",
            ));
        }
        Ok(())
    }

    fn amount(&self, ctx: &mut Context, key: &str) -> Result<u64, ContractError> {
        match ctx.get_state(key)? {
            None => Ok(0),
            Some(b) => std::str::from_utf8(&b)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| err(format!("the stored amount under {key:?} is not a number"))),
        }
    }

    fn set_amount(&self, ctx: &mut Context, key: &str, value: u64) -> Result<(), ContractError> {
        Ok(ctx.put_state(key, value.to_string().as_bytes())?)
    }

    fn allowance_key(
        &self,
        ctx: &Context,
        owner: &str,
        spender: &str,
    ) -> Result<String, ContractError> {
        ctx.create_composite_key(ALLOWANCE_PREFIX, &[owner, spender])
    }

    /// Moves `value` from one account to another (both must differ).
    fn move_tokens(
        &self,
        ctx: &mut Context,
        from: &str,
        to: &str,
        value: u64,
    ) -> Result<(), ContractError> {
        if from == to {
            return Err(err("cannot transfer to and from the same client account"));
        }
        let from_balance = self.amount(ctx, from)?;
        let remaining = from_balance.checked_sub(value).ok_or_else(|| {
            err(format!(
                "client account {from} has insufficient funds: {from_balance} < {value}"
            ))
        })?;
        let to_balance = self
            .amount(ctx, to)?
            .checked_add(value)
            .ok_or_else(|| err("the recipient's balance would overflow"))?;
        self.set_amount(ctx, from, remaining)?;
        self.set_amount(ctx, to, to_balance)
    }

    fn emit<T: Serialize>(
        &self,
        ctx: &mut Context,
        name: &str,
        payload: &T,
    ) -> Result<(), ContractError> {
        Ok(ctx.set_event(name, &serde_json::to_vec(payload)?)?)
    }
}

#[contract("TokenERC20Contract")]
impl TokenErc20 {
    /// Sets the token's name, symbol and decimals, once (minter only).
    #[transaction]
    pub fn initialize(
        &self,
        ctx: &mut Context,
        name: String,
        symbol: String,
        decimals: u8,
    ) -> Result<bool, ContractError> {
        self.require_minter(ctx, "initialize the contract")?;
        if ctx.get_state(NAME_KEY)?.is_some() {
            return Err(err("the contract is already initialized"));
        }
        ctx.put_state(NAME_KEY, name.as_bytes())?;
        ctx.put_state(SYMBOL_KEY, symbol.as_bytes())?;
        ctx.put_state(DECIMALS_KEY, decimals.to_string().as_bytes())?;
        Ok(true)
    }

    /// Creates tokens in the caller's account (minter only).
    #[transaction]
    pub fn mint(&self, ctx: &mut Context, amount: u64) -> Result<(), ContractError> {
        self.require_initialized(ctx)?;
        self.require_minter(ctx, "mint new tokens")?;
        if amount == 0 {
            return Err(ContractError::with_status(
                400,
                "mint amount must be positive",
            ));
        }
        let minter = self.client_account(ctx)?;
        let balance = self
            .amount(ctx, &minter)?
            .checked_add(amount)
            .ok_or_else(|| err("the minter's balance would overflow"))?;
        let supply = self
            .amount(ctx, TOTAL_SUPPLY_KEY)?
            .checked_add(amount)
            .ok_or_else(|| err("the total supply would overflow"))?;
        self.set_amount(ctx, &minter, balance)?;
        self.set_amount(ctx, TOTAL_SUPPLY_KEY, supply)?;
        self.emit(
            ctx,
            "Transfer",
            &TransferEvent {
                from: "0x0".into(),
                to: minter,
                value: amount,
            },
        )
    }

    /// Destroys tokens in the caller's account (minter only).
    #[transaction]
    pub fn burn(&self, ctx: &mut Context, amount: u64) -> Result<(), ContractError> {
        self.require_initialized(ctx)?;
        self.require_minter(ctx, "burn tokens")?;
        if amount == 0 {
            return Err(ContractError::with_status(
                400,
                "burn amount must be positive",
            ));
        }
        let minter = self.client_account(ctx)?;
        let balance = self.amount(ctx, &minter)?;
        let left = balance
            .checked_sub(amount)
            .ok_or_else(|| err(format!("cannot burn {amount}: the balance is {balance}")))?;
        let supply = self.amount(ctx, TOTAL_SUPPLY_KEY)?.saturating_sub(amount);
        self.set_amount(ctx, &minter, left)?;
        self.set_amount(ctx, TOTAL_SUPPLY_KEY, supply)?;
        self.emit(
            ctx,
            "Transfer",
            &TransferEvent {
                from: minter,
                to: "0x0".into(),
                value: amount,
            },
        )
    }

    /// Sends tokens from the caller to `recipient`.
    #[transaction]
    pub fn transfer(
        &self,
        ctx: &mut Context,
        recipient: String,
        amount: u64,
    ) -> Result<bool, ContractError> {
        self.require_initialized(ctx)?;
        let from = self.client_account(ctx)?;
        self.move_tokens(ctx, &from, &recipient, amount)?;
        self.emit(
            ctx,
            "Transfer",
            &TransferEvent {
                from,
                to: recipient,
                value: amount,
            },
        )?;
        Ok(true)
    }

    /// An account's balance.
    #[transaction(evaluate)]
    pub fn balance_of(&self, ctx: &mut Context, account: String) -> Result<u64, ContractError> {
        self.require_initialized(ctx)?;
        match ctx.get_state(&account)? {
            Some(_) => self.amount(ctx, &account),
            None => Err(err(format!("the account {account} does not exist"))),
        }
    }

    /// The caller's balance.
    #[transaction(evaluate)]
    pub fn client_account_balance(&self, ctx: &mut Context) -> Result<u64, ContractError> {
        let account = self.client_account(ctx)?;
        self.balance_of(ctx, account)
    }

    /// The caller's account id.
    #[transaction(evaluate, name = "ClientAccountID")]
    pub fn client_account_id(&self, ctx: &mut Context) -> Result<String, ContractError> {
        self.client_account(ctx)
    }

    /// Tokens in existence.
    #[transaction(evaluate)]
    pub fn total_supply(&self, ctx: &mut Context) -> Result<u64, ContractError> {
        self.require_initialized(ctx)?;
        self.amount(ctx, TOTAL_SUPPLY_KEY)
    }

    /// Lets `spender` move up to `value` of the caller's tokens.
    #[transaction]
    pub fn approve(
        &self,
        ctx: &mut Context,
        spender: String,
        value: u64,
    ) -> Result<bool, ContractError> {
        self.require_initialized(ctx)?;
        let owner = self.client_account(ctx)?;
        let key = self.allowance_key(ctx, &owner, &spender)?;
        self.set_amount(ctx, &key, value)?;
        self.emit(
            ctx,
            "Approval",
            &ApprovalEvent {
                owner,
                spender,
                value,
            },
        )?;
        Ok(true)
    }

    /// How much `spender` may still move from `owner`.
    #[transaction(evaluate)]
    pub fn allowance(
        &self,
        ctx: &mut Context,
        owner: String,
        spender: String,
    ) -> Result<u64, ContractError> {
        self.require_initialized(ctx)?;
        let key = self.allowance_key(ctx, &owner, &spender)?;
        self.amount(ctx, &key)
    }

    /// Moves tokens from `from` to `to` on the caller's allowance.
    #[transaction]
    pub fn transfer_from(
        &self,
        ctx: &mut Context,
        from: String,
        to: String,
        value: u64,
    ) -> Result<bool, ContractError> {
        self.require_initialized(ctx)?;
        let spender = self.client_account(ctx)?;
        let key = self.allowance_key(ctx, &from, &spender)?;
        let allowed = self.amount(ctx, &key)?;
        let left = allowed.checked_sub(value).ok_or_else(|| {
            err(format!(
                "the spender does not have enough allowance: {allowed} < {value}"
            ))
        })?;
        self.move_tokens(ctx, &from, &to, value)?;
        self.set_amount(ctx, &key, left)?;
        self.emit(ctx, "Transfer", &TransferEvent { from, to, value })?;
        Ok(true)
    }

    /// The token's name.
    #[transaction(evaluate)]
    pub fn name(&self, ctx: &mut Context) -> Result<String, ContractError> {
        self.require_initialized(ctx)?;
        Ok(String::from_utf8_lossy(&ctx.get_state(NAME_KEY)?.unwrap_or_default()).into_owned())
    }

    /// The token's symbol.
    #[transaction(evaluate)]
    pub fn symbol(&self, ctx: &mut Context) -> Result<String, ContractError> {
        self.require_initialized(ctx)?;
        Ok(String::from_utf8_lossy(&ctx.get_state(SYMBOL_KEY)?.unwrap_or_default()).into_owned())
    }

    /// The token's decimals.
    #[transaction(evaluate)]
    pub fn decimals(&self, ctx: &mut Context) -> Result<u64, ContractError> {
        self.require_initialized(ctx)?;
        self.amount(ctx, DECIMALS_KEY)
    }
}

weft_chaincode_sdk::register!(TokenErc20);

#[cfg(test)]
mod tests {
    use weft_chaincode_sdk::mock::MockStub;

    use super::*;

    fn cert(cn: &str) -> Vec<u8> {
        weft_chaincode_sdk::mock::test_certificate(cn)
    }

    struct Client {
        msp: &'static str,
        cert: Vec<u8>,
    }

    fn call(stub: &mut MockStub, who: &Client, args: &[&str]) -> weft_chaincode_sdk::Response {
        stub.creator_msp_id = who.msp.into();
        stub.creator_cert = who.cert.clone();
        stub.invoke(&router(), args)
    }

    fn text(res: &weft_chaincode_sdk::Response) -> String {
        assert_eq!(res.status, 200, "{}", res.message);
        String::from_utf8(res.payload.clone()).unwrap()
    }

    #[test]
    fn mint_transfer_approve_and_transfer_from() {
        let alice = Client {
            msp: "Org1MSP",
            cert: cert("alice"),
        };
        let bob = Client {
            msp: "Org2MSP",
            cert: cert("bob"),
        };
        let carol = Client {
            msp: "Org2MSP",
            cert: cert("carol"),
        };
        let mut stub = MockStub::new();

        let early = call(&mut stub, &alice, &["Mint", "5"]);
        assert!(
            early.message.contains("not initialized"),
            "{}",
            early.message
        );
        let denied = call(&mut stub, &bob, &["Initialize", "Gold", "GLD", "2"]);
        assert_eq!(denied.status, 403);
        text(&call(
            &mut stub,
            &alice,
            &["Initialize", "Gold", "GLD", "2"],
        ));
        let again = call(&mut stub, &alice, &["Initialize", "X", "X", "1"]);
        assert_eq!(again.message, "the contract is already initialized");

        let a = text(&call(&mut stub, &alice, &["ClientAccountID"]));
        let b = text(&call(&mut stub, &bob, &["ClientAccountID"]));
        let c = text(&call(&mut stub, &carol, &["ClientAccountID"]));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&a)
            .unwrap();
        assert_eq!(
            decoded, b"x509::CN=alice::CN=alice",
            "Fabric's cid.GetID form"
        );

        text(&call(&mut stub, &alice, &["Mint", "1000"]));
        let (name, payload) = stub.event.clone().unwrap();
        assert_eq!(name, "Transfer");
        let ev: TransferEvent = serde_json::from_slice(&payload).unwrap();
        assert_eq!(
            ev,
            TransferEvent {
                from: "0x0".into(),
                to: a.clone(),
                value: 1000
            }
        );
        assert_eq!(call(&mut stub, &bob, &["Mint", "1"]).status, 403);

        text(&call(&mut stub, &alice, &["Transfer", &b, "300"]));
        assert_eq!(
            text(&call(&mut stub, &bob, &["ClientAccountBalance"])),
            "300"
        );
        assert_eq!(text(&call(&mut stub, &bob, &["BalanceOf", &a])), "700");
        let broke = call(&mut stub, &bob, &["Transfer", &a, "301"]);
        assert!(
            broke.message.contains("insufficient funds"),
            "{}",
            broke.message
        );
        let selfish = call(&mut stub, &bob, &["Transfer", &b, "1"]);
        assert!(selfish.message.contains("same client account"));

        text(&call(&mut stub, &bob, &["Approve", &c, "100"]));
        let (name, payload) = stub.event.clone().unwrap();
        assert_eq!(name, "Approval");
        let ev: ApprovalEvent = serde_json::from_slice(&payload).unwrap();
        assert_eq!(
            (ev.owner, ev.spender, ev.value),
            (b.clone(), c.clone(), 100)
        );
        assert_eq!(
            text(&call(&mut stub, &carol, &["Allowance", &b, &c])),
            "100"
        );
        text(&call(&mut stub, &carol, &["TransferFrom", &b, &a, "60"]));
        assert_eq!(text(&call(&mut stub, &carol, &["Allowance", &b, &c])), "40");
        let over = call(&mut stub, &carol, &["TransferFrom", &b, &a, "41"]);
        assert!(
            over.message.contains("enough allowance"),
            "{}",
            over.message
        );
        assert_eq!(text(&call(&mut stub, &alice, &["BalanceOf", &a])), "760");

        text(&call(&mut stub, &alice, &["Burn", "60"]));
        assert_eq!(text(&call(&mut stub, &alice, &["TotalSupply"])), "940");
        assert_eq!(text(&call(&mut stub, &alice, &["Name"])), "Gold");
        assert_eq!(text(&call(&mut stub, &alice, &["Symbol"])), "GLD");
        assert_eq!(text(&call(&mut stub, &alice, &["Decimals"])), "2");
        let nobody = call(&mut stub, &alice, &["BalanceOf", "nobody"]);
        assert_eq!(nobody.message, "the account nobody does not exist");
        let negative = call(&mut stub, &alice, &["Transfer", &b, "-5"]);
        assert_eq!(
            negative.status, 400,
            "amounts are unsigned: {}",
            negative.message
        );
    }
}
