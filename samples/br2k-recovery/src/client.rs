//! A client of a registered service: it resolves the service through the
//! registry, and when a call fails it re-resolves (someone may have moved
//! it already), else files a claim and waits for the manager's
//! `NewLocation`, then calls the new instance.

use std::time::{Duration, Instant};

use futures::StreamExt;
use service_registry::NewLocation;
use tokio::sync::Mutex;
use weft_client_sdk::events::EventStart;

use crate::RecoveryError;
use crate::probe;
use crate::registry::Registry;

/// An answer, and the recovery it took if any.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The service's reply.
    pub body: String,
    /// Where it came from.
    pub location: String,
    /// When the call needed a claim: from filing it to this answer.
    pub recovered_in: Option<Duration>,
}

/// Calls one service found through the registry.
pub struct ServiceClient {
    registry: Registry,
    name: String,
    location: Mutex<Option<String>>,
    /// How long to wait for the manager after a claim.
    pub recovery_timeout: Duration,
}

impl ServiceClient {
    /// A client of `name`.
    pub fn new(registry: Registry, name: &str) -> Self {
        Self {
            registry,
            name: name.to_string(),
            location: Mutex::new(None),
            recovery_timeout: Duration::from_secs(60),
        }
    }

    async fn resolve(&self) -> Result<String, RecoveryError> {
        let header = self.registry.service(&self.name).await?;
        *self.location.lock().await = Some(header.location.clone());
        Ok(header.location)
    }

    /// GETs `path` of the service, recovering it if it does not answer.
    pub async fn call(&self, path: &str) -> Result<Answer, RecoveryError> {
        let cached = self.location.lock().await.clone();
        let location = match cached {
            Some(l) => l,
            None => self.resolve().await?,
        };
        let reason = match probe::get(&location, path).await {
            Ok(body) => {
                return Ok(Answer {
                    body,
                    location,
                    recovered_in: None,
                });
            }
            Err(reason) => reason,
        };
        // Someone may have moved it already.
        let current = self.resolve().await?;
        if current != location
            && let Ok(body) = probe::get(&current, path).await
        {
            return Ok(Answer {
                body,
                location: current,
                recovered_in: None,
            });
        }
        let claimed = Instant::now();
        tracing::info!(service = %self.name, %location, %reason, "no answer: filing a claim");
        let (_, block) = self
            .registry
            .send_claim(&self.name, &format!("{location}{path}: {reason}"))
            .await?;
        let location = self.wait_new_location(block).await?;
        *self.location.lock().await = Some(location.clone());
        let body =
            probe::get(&location, path)
                .await
                .map_err(|reason| RecoveryError::Unreachable {
                    service: self.name.clone(),
                    location: location.clone(),
                    reason,
                })?;
        Ok(Answer {
            body,
            location,
            recovered_in: Some(claimed.elapsed()),
        })
    }

    /// The next `NewLocation` of this service from block `from` on.
    async fn wait_new_location(&self, from: u64) -> Result<String, RecoveryError> {
        let mut events = self
            .registry
            .gateway()
            .network(self.registry.channel())
            .chaincode_events(self.registry.chaincode(), EventStart::Block(from))
            .await?;
        let wait = async {
            while let Some(event) = events.next().await {
                let event = event?;
                if event.name != "NewLocation" {
                    continue;
                }
                let moved: NewLocation = serde_json::from_slice(&event.payload)?;
                if moved.service == self.name {
                    return Ok(moved.location);
                }
            }
            Err(RecoveryError::Timeout(format!(
                "a new location of {} (the event stream ended)",
                self.name
            )))
        };
        tokio::time::timeout(self.recovery_timeout, wait)
            .await
            .map_err(|_| RecoveryError::Timeout(format!("a new location of {}", self.name)))?
    }
}
