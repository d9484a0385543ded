//! The TLS client roots the peer trusts: the ones its own config names
//! (`peer.tls.clientRootCAs` and its local MSP's TLS CAs) and the TLS CAs of
//! every org in every channel it has joined, as Fabric's peer keeps them.
//!
//! Each joined channel's roots come from its config and are replaced when a
//! config block commits ([`ClientRoots::follow`]); the verifier always holds
//! their union. Channels are tracked here, not read from the peer's channel
//! registry, so updating the roots never needs that registry's lock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use weft_common::config::ChannelConfig;
use weft_common::ids::ChannelId;
use weft_common::tls::DynamicClientVerifier;

/// The client roots of the peer's TLS listener.
#[derive(Debug)]
pub struct ClientRoots {
    verifier: Option<Arc<DynamicClientVerifier>>,
    configured: Vec<Vec<u8>>,
    channels: Mutex<BTreeMap<ChannelId, Vec<Vec<u8>>>>,
}

impl ClientRoots {
    /// Roots for `verifier` (none: the listener does not ask for client
    /// certificates), starting from the `configured` ones.
    pub fn new(verifier: Option<Arc<DynamicClientVerifier>>, configured: Vec<Vec<u8>>) -> Self {
        let roots = Self {
            verifier,
            configured,
            channels: Mutex::new(BTreeMap::new()),
        };
        roots.apply(&roots.channels.lock().expect("client roots lock"));
        roots
    }

    /// Sets the roots of `config`'s channel to its orgs' TLS CAs.
    pub fn set_channel(&self, config: &ChannelConfig) {
        let mut channels = self.channels.lock().expect("client roots lock");
        channels.insert(config.channel_id.clone(), config.tls_roots());
        self.apply(&channels);
    }

    /// Sets a channel's roots now and after every config change, until the
    /// channel's committer goes away or `stop` is set.
    pub async fn follow(
        self: Arc<Self>,
        mut config: watch::Receiver<Arc<ChannelConfig>>,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let current = config.borrow_and_update().clone();
            self.set_channel(&current);
            tokio::select! {
                changed = config.changed() => if changed.is_err() { return },
                _ = stop.changed() => return,
            }
        }
    }

    fn apply(&self, channels: &BTreeMap<ChannelId, Vec<Vec<u8>>>) {
        let Some(verifier) = &self.verifier else {
            return;
        };
        let mut roots = self.configured.clone();
        roots.extend(channels.values().flatten().cloned());
        if let Err(e) = verifier.set_roots(&roots) {
            tracing::warn!("cannot update TLS client roots: {e}");
        }
    }
}
