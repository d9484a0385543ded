//! The service registry of the BR2K seed, as weft chaincode. A replicated
//! service is registered with a **header** (where it is reached, who manages
//! it, its state) and a **body** of recovery information (deployer, deployment
//! context, replica count, container registry). A user who finds a service
//! failing calls `SendClaim`, which records the claim and emits a `Claim`
//! event; the manager, watching for it, redeploys the service from the
//! recovery information and calls `UpdateLocation`, which emits
//! `NewLocation` and settles the open claims.
//!
//! Transactions: `RegisterService`, `GetService`, `ListServices`,
//! `GetRecoveryInfo` (manager only), `UpdateLocation` (manager only),
//! `SetState` (manager only), `SendClaim` and `ListClaims`.

use serde::{Deserialize, Serialize};
use weft_chaincode_sdk::{Context, ContractError, contract};

/// Object type of claim keys: `claim~service~txid`.
const CLAIM_INDEX: &str = "claim";

/// Service metadata everyone may read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Where the service is reached (URL or host:port).
    pub location: String,
    /// The managing client: `<MSP id>/<x509 id>`.
    pub manager: String,
    /// One of `running`, `stopped`, `failed`, `claimed`, `recovering`.
    pub state: String,
}

/// What the manager needs to redeploy the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryInfo {
    /// Who deployed it.
    pub deployer: String,
    /// The deployment context (for example a Kubernetes context name).
    pub context: String,
    /// Number of replicas.
    pub replicas: u32,
    /// Where the container image is kept (for example a Harbor project).
    pub image_registry: String,
    /// How to redeploy it, in a form its manager understands (for example
    /// a Pod manifest or a command line); empty when the manager knows.
    #[serde(default)]
    pub recipe: String,
}

/// A registered service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// Service name (the key).
    pub name: String,
    /// Public metadata.
    pub header: Header,
    /// Recovery information.
    pub body: RecoveryInfo,
}

/// A recovery request, and the payload of `Claim` events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The service.
    pub service: String,
    /// The claiming client: `<MSP id>/<x509 id>`.
    pub claimant: String,
    /// What the claimant saw.
    pub reason: String,
    /// The claiming transaction.
    pub tx_id: String,
}

/// The payload of `NewLocation` events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLocation {
    /// The service.
    pub service: String,
    /// Where it is now.
    pub location: String,
    /// How many open claims this settled.
    pub settled_claims: u64,
}

/// States a manager may set.
const STATES: [&str; 5] = ["running", "stopped", "failed", "claimed", "recovering"];

/// The contract.
#[derive(Default)]
pub struct ServiceRegistry;

impl ServiceRegistry {
    fn caller(&self, ctx: &mut Context) -> Result<String, ContractError> {
        let id = ctx.client_identity()?;
        Ok(format!("{}/{}", id.msp_id, id.id))
    }

    fn read(&self, ctx: &mut Context, name: &str) -> Result<Service, ContractError> {
        ctx.get_json(name)?
            .ok_or_else(|| ContractError::new(format!("the service {name} is not registered")))
    }

    /// The service, if the caller manages it.
    fn managed(&self, ctx: &mut Context, name: &str) -> Result<Service, ContractError> {
        let service = self.read(ctx, name)?;
        let caller = self.caller(ctx)?;
        if service.header.manager != caller {
            return Err(ContractError::with_status(
                403,
                format!("only the manager of {name} may do this; the caller is {caller}"),
            ));
        }
        Ok(service)
    }

    fn open_claims(
        &self,
        ctx: &mut Context,
        name: &str,
    ) -> Result<Vec<(String, Claim)>, ContractError> {
        ctx.get_state_by_partial_composite_key(CLAIM_INDEX, &[name])?
            .into_iter()
            .map(|(k, v)| Ok((k, serde_json::from_slice(&v)?)))
            .collect()
    }
}

#[contract("ServiceRegistry")]
impl ServiceRegistry {
    /// Registers a service; the caller becomes its manager. `recovery` is the
    /// body as JSON (`deployer` defaults to the caller when empty).
    #[transaction]
    pub fn register_service(
        &self,
        ctx: &mut Context,
        name: String,
        location: String,
        recovery: RecoveryInfo,
    ) -> Result<Service, ContractError> {
        if name.is_empty() || location.is_empty() {
            return Err(ContractError::with_status(
                400,
                "name and location must be non-empty",
            ));
        }
        if ctx.get_state(&name)?.is_some() {
            return Err(ContractError::new(format!(
                "the service {name} is already registered"
            )));
        }
        let manager = self.caller(ctx)?;
        let mut body = recovery;
        if body.deployer.is_empty() {
            body.deployer = manager.clone();
        }
        let service = Service {
            name: name.clone(),
            header: Header {
                location,
                manager,
                state: "running".into(),
            },
            body,
        };
        ctx.put_json(&name, &service)?;
        Ok(service)
    }

    /// A service's header (the body is for its manager: `GetRecoveryInfo`).
    #[transaction(evaluate)]
    pub fn get_service(&self, ctx: &mut Context, name: String) -> Result<Header, ContractError> {
        Ok(self.read(ctx, &name)?.header)
    }

    /// Every service's name and header.
    #[transaction(evaluate)]
    pub fn list_services(&self, ctx: &mut Context) -> Result<Vec<(String, Header)>, ContractError> {
        ctx.get_state_by_range("", "")?
            .into_iter()
            .map(|(k, v)| Ok((k, serde_json::from_slice::<Service>(&v)?.header)))
            .collect()
    }

    /// The recovery information (manager only).
    #[transaction(evaluate)]
    pub fn get_recovery_info(
        &self,
        ctx: &mut Context,
        name: String,
    ) -> Result<RecoveryInfo, ContractError> {
        Ok(self.managed(ctx, &name)?.body)
    }

    /// Sets the state (manager only).
    #[transaction]
    pub fn set_state(
        &self,
        ctx: &mut Context,
        name: String,
        state: String,
    ) -> Result<(), ContractError> {
        if !STATES.contains(&state.as_str()) {
            return Err(ContractError::with_status(
                400,
                format!(
                    "unknown state {state:?}; expected one of {}",
                    STATES.join(", ")
                ),
            ));
        }
        let mut service = self.managed(ctx, &name)?;
        service.header.state = state;
        ctx.put_json(&name, &service)
    }

    /// Records the service's new location after a redeployment (manager
    /// only): the state becomes `running`, open claims are settled and a
    /// `NewLocation` event is emitted.
    #[transaction]
    pub fn update_location(
        &self,
        ctx: &mut Context,
        name: String,
        location: String,
    ) -> Result<NewLocation, ContractError> {
        let mut service = self.managed(ctx, &name)?;
        service.header.location = location.clone();
        service.header.state = "running".into();
        ctx.put_json(&name, &service)?;
        let claims = self.open_claims(ctx, &name)?;
        for (key, _) in &claims {
            ctx.del_state(key)?;
        }
        let event = NewLocation {
            service: name,
            location,
            settled_claims: claims.len() as u64,
        };
        ctx.set_event("NewLocation", &serde_json::to_vec(&event)?)?;
        Ok(event)
    }

    /// Asks the manager to recover a service: records the claim, marks the
    /// service `claimed` and emits a `Claim` event.
    #[transaction]
    pub fn send_claim(
        &self,
        ctx: &mut Context,
        name: String,
        reason: String,
    ) -> Result<Claim, ContractError> {
        let mut service = self.read(ctx, &name)?;
        let claim = Claim {
            service: name.clone(),
            claimant: self.caller(ctx)?,
            reason,
            tx_id: ctx.tx_id()?,
        };
        let key = ctx.create_composite_key(CLAIM_INDEX, &[&name, &claim.tx_id])?;
        ctx.put_json(&key, &claim)?;
        service.header.state = "claimed".into();
        ctx.put_json(&name, &service)?;
        ctx.set_event("Claim", &serde_json::to_vec(&claim)?)?;
        Ok(claim)
    }

    /// Claims not yet settled by `UpdateLocation`.
    #[transaction(evaluate)]
    pub fn list_claims(
        &self,
        ctx: &mut Context,
        name: String,
    ) -> Result<Vec<Claim>, ContractError> {
        Ok(self
            .open_claims(ctx, &name)?
            .into_iter()
            .map(|(_, c)| c)
            .collect())
    }
}

weft_chaincode_sdk::register!(ServiceRegistry);

#[cfg(test)]
mod tests {
    use weft_chaincode_sdk::Response;
    use weft_chaincode_sdk::mock::MockStub;

    use super::*;

    fn cert(cn: &str) -> Vec<u8> {
        weft_chaincode_sdk::mock::test_certificate(cn)
    }

    fn as_(stub: &mut MockStub, msp: &str, cert: &[u8], args: &[&str]) -> Response {
        stub.creator_msp_id = msp.into();
        stub.creator_cert = cert.to_vec();
        stub.invoke(&router(), args)
    }

    const BODY: &str = r#"{"deployer":"","context":"k8s-prod","replicas":3,"image_registry":"harbor.example.com/br2k"}"#;

    #[test]
    fn claim_then_recover_with_events() {
        let (admin, user) = (cert("admin"), cert("user"));
        let mut stub = MockStub::new();
        let reg = as_(
            &mut stub,
            "Org1MSP",
            &admin,
            &["RegisterService", "log", "10.0.0.1:8080", BODY],
        );
        assert_eq!(reg.status, 200, "{}", reg.message);
        let service: Service = serde_json::from_slice(&reg.payload).unwrap();
        assert_eq!(service.header.manager, "Org1MSP/x509::CN=admin::CN=admin");
        assert_eq!(service.body.deployer, service.header.manager);
        let dup = as_(
            &mut stub,
            "Org1MSP",
            &admin,
            &["RegisterService", "log", "x", BODY],
        );
        assert_eq!(dup.message, "the service log is already registered");

        // Anyone reads the header; only the manager reads the body.
        let header: Header = serde_json::from_slice(
            &as_(&mut stub, "Org2MSP", &user, &["GetService", "log"]).payload,
        )
        .unwrap();
        assert_eq!(header.state, "running");
        assert_eq!(
            as_(&mut stub, "Org2MSP", &user, &["GetRecoveryInfo", "log"]).status,
            403
        );
        let body: RecoveryInfo = serde_json::from_slice(
            &as_(&mut stub, "Org1MSP", &admin, &["GetRecoveryInfo", "log"]).payload,
        )
        .unwrap();
        assert_eq!((body.replicas, body.context.as_str()), (3, "k8s-prod"));

        // A user claims; the Claim event tells the manager.
        let res = as_(
            &mut stub,
            "Org2MSP",
            &user,
            &["SendClaim", "log", "timeouts"],
        );
        assert_eq!(res.status, 200, "{}", res.message);
        let (name, payload) = stub.event.clone().unwrap();
        assert_eq!(name, "Claim");
        let claim: Claim = serde_json::from_slice(&payload).unwrap();
        assert_eq!(claim.claimant, "Org2MSP/x509::CN=user::CN=user");
        assert_eq!(claim.tx_id, stub.tx_id);
        as_(
            &mut stub,
            "Org2MSP",
            &user,
            &["SendClaim", "log", "still down"],
        );
        let claims: Vec<Claim> = serde_json::from_slice(
            &as_(&mut stub, "Org2MSP", &user, &["ListClaims", "log"]).payload,
        )
        .unwrap();
        assert_eq!(claims.len(), 2, "each claim is kept once");
        let header: Header = serde_json::from_slice(
            &as_(&mut stub, "Org2MSP", &user, &["GetService", "log"]).payload,
        )
        .unwrap();
        assert_eq!(header.state, "claimed");

        // Only the manager moves it; that settles the claims.
        let stolen = as_(
            &mut stub,
            "Org2MSP",
            &user,
            &["UpdateLocation", "log", "evil:1"],
        );
        assert_eq!(stolen.status, 403);
        assert!(stolen.message.contains("only the manager"));
        let moved = as_(
            &mut stub,
            "Org1MSP",
            &admin,
            &["UpdateLocation", "log", "10.0.0.2:8080"],
        );
        assert_eq!(moved.status, 200, "{}", moved.message);
        let (name, payload) = stub.event.clone().unwrap();
        assert_eq!(name, "NewLocation");
        let ev: NewLocation = serde_json::from_slice(&payload).unwrap();
        assert_eq!(
            (ev.location.as_str(), ev.settled_claims),
            ("10.0.0.2:8080", 2)
        );
        let claims = as_(&mut stub, "Org2MSP", &user, &["ListClaims", "log"]);
        assert_eq!(claims.payload, b"[]");

        let services: Vec<(String, Header)> =
            serde_json::from_slice(&as_(&mut stub, "Org2MSP", &user, &["ListServices"]).payload)
                .unwrap();
        assert_eq!(services.len(), 1, "claims are not services");
        assert_eq!(services[0].1.state, "running");

        let bad = as_(&mut stub, "Org1MSP", &admin, &["SetState", "log", "sleepy"]);
        assert_eq!(bad.status, 400);
        assert_eq!(
            as_(
                &mut stub,
                "Org1MSP",
                &admin,
                &["SetState", "log", "stopped"]
            )
            .status,
            200
        );
        let missing = as_(&mut stub, "Org2MSP", &user, &["SendClaim", "nope", "x"]);
        assert_eq!(missing.message, "the service nope is not registered");
        let malformed = as_(
            &mut stub,
            "Org1MSP",
            &admin,
            &["RegisterService", "b", "x", "{"],
        );
        assert_eq!(malformed.status, 400, "{}", malformed.message);
    }
}
