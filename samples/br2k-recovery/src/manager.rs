//! The manager's loop: for each `Claim` event about a service it manages,
//! check the service; if it is down, redeploy it from its recovery body and
//! record the new location. Claims about other managers' services are left
//! to them (the registry would refuse this manager their recovery bodies).

use std::time::{Duration, Instant};

use futures::StreamExt;
use service_registry::Claim;
use weft_client_sdk::events::EventStart;

use crate::RecoveryError;
use crate::probe;
use crate::recipe::{Deployer, Recipe};
use crate::registry::Registry;

/// What the manager did about one claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The service answered: its claims were settled at the same location.
    Healthy,
    /// The service answered and its claims were settled moments ago: this
    /// claim stays open until the next settling, and costs the manager no
    /// transaction (anyone may file claims; each would otherwise cost one).
    Throttled,
    /// The service was redeployed and now answers at `location`.
    Redeployed {
        /// Where it runs now.
        location: String,
        /// How long the redeployment took, up to the new location's commit.
        took: Duration,
    },
    /// Not a service this manager manages.
    NotMine,
}

/// How long a redeployed instance has to answer its health check.
const HEALTHY_TIMEOUT: Duration = Duration::from_secs(30);

/// A manager: its registry identity and what it deployed.
pub struct Manager {
    registry: Registry,
    deployer: Deployer,
    /// When each service's claims were last settled without a redeployment.
    settled: std::sync::Mutex<std::collections::HashMap<String, Instant>>,
    /// How often claims about a healthy service are settled at most.
    pub settle_interval: Duration,
}

impl Manager {
    /// A manager acting through `registry`'s identity.
    pub fn new(registry: Registry) -> Self {
        Self {
            registry,
            deployer: Deployer::default(),
            settled: Default::default(),
            settle_interval: Duration::from_secs(10),
        }
    }

    /// What this manager deployed (to stop or inspect instances).
    pub fn deployer(&self) -> &Deployer {
        &self.deployer
    }

    /// Starts `name` from `recipe` and registers it, with this manager as
    /// its manager (or, registered before, records its new location: only
    /// its manager may); returns where it runs.
    pub async fn launch(
        &self,
        name: &str,
        recipe: &Recipe,
        context: &str,
    ) -> Result<String, RecoveryError> {
        let location = self.deployer.deploy(name, recipe).await?;
        wait_healthy(name, &location).await?;
        let body = service_registry::RecoveryInfo {
            deployer: String::new(),
            context: context.to_string(),
            replicas: 1,
            image_registry: String::new(),
            recipe: recipe.to_body(),
        };
        match self.registry.register(name, &location, &body).await {
            Ok(_) => {}
            // Registered before (by this manager, or the registry says whose it is).
            Err(RecoveryError::Registry(e)) if e.to_string().contains("already registered") => {
                self.registry.update_location(name, &location).await?;
            }
            Err(e) => return Err(e),
        }
        Ok(location)
    }

    /// Handles `claim`.
    pub async fn handle(&self, claim: &Claim) -> Result<Outcome, RecoveryError> {
        let started = Instant::now();
        let name = &claim.service;
        let body = match self.registry.recovery_info(name).await {
            Ok(body) => body,
            Err(RecoveryError::Registry(e)) if e.to_string().contains("only the manager") => {
                return Ok(Outcome::NotMine);
            }
            Err(e) => return Err(e),
        };
        let header = self.registry.service(name).await?;
        if probe::healthy(&header.location).await {
            let recently = self
                .settled
                .lock()
                .expect("settled lock")
                .get(name)
                .is_some_and(|at| at.elapsed() < self.settle_interval);
            if recently {
                tracing::debug!(service = %name, claimant = %claim.claimant, "claimed again, and it answers: left open");
                return Ok(Outcome::Throttled);
            }
            tracing::info!(service = %name, claimant = %claim.claimant, "claimed, but it answers: settling the claims");
            self.registry
                .update_location(name, &header.location)
                .await?;
            self.settled
                .lock()
                .expect("settled lock")
                .insert(name.clone(), Instant::now());
            return Ok(Outcome::Healthy);
        }
        tracing::info!(service = %name, claimant = %claim.claimant, reason = %claim.reason, "claimed and down: redeploying");
        self.registry.set_state(name, "recovering").await?;
        let recipe = Recipe::parse(name, &body.recipe)?;
        let location = self.deployer.deploy(name, &recipe).await?;
        wait_healthy(name, &location).await?;
        let moved = self.registry.update_location(name, &location).await?;
        tracing::info!(service = %name, %location, settled = moved.settled_claims, "redeployed");
        Ok(Outcome::Redeployed {
            location,
            took: started.elapsed(),
        })
    }

    /// Watches the registry's events from `start` and handles every claim,
    /// until the event stream ends; `handled` hears each outcome. A claim
    /// that cannot be handled is logged and the loop goes on.
    pub async fn run(
        &self,
        start: EventStart,
        handled: impl Fn(&Claim, &Result<Outcome, RecoveryError>),
    ) -> Result<(), RecoveryError> {
        let mut events = self
            .registry
            .gateway()
            .network(self.registry.channel())
            .chaincode_events(self.registry.chaincode(), start)
            .await?;
        while let Some(event) = events.next().await {
            let event = event?;
            if event.name != "Claim" {
                continue;
            }
            let claim: Claim = match serde_json::from_slice(&event.payload) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(tx = %event.tx_id, "a Claim event that does not decode: {e}");
                    continue;
                }
            };
            let outcome = self.handle(&claim).await;
            if let Err(e) = &outcome {
                tracing::warn!(service = %claim.service, "claim not handled: {e}");
            }
            handled(&claim, &outcome);
        }
        Ok(())
    }
}

async fn wait_healthy(service: &str, location: &str) -> Result<(), RecoveryError> {
    let deadline = Instant::now() + HEALTHY_TIMEOUT;
    while !probe::healthy(location).await {
        if Instant::now() > deadline {
            return Err(RecoveryError::Unreachable {
                service: service.to_string(),
                location: location.to_string(),
                reason: "no answer to /health after redeploying".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
