//! The TLS client roots a node trusts: the ones its own config names (the
//! peer's `peer.tls.clientRootCAs` and local MSP TLS CAs, the orderer's
//! `General.TLS.ClientRootCAs`) and the TLS CAs of every org in every channel
//! it serves, as Fabric's nodes keep them.
//!
//! Each channel's roots come from its config and are replaced when a config
//! block commits ([`ClientRoots::follow`]); the verifier always holds their
//! union. Channels are tracked here, not read from the node's channel
//! registry, so updating the roots never needs that registry's lock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::config::ChannelConfig;
use crate::ids::ChannelId;
use crate::tls::DynamicClientVerifier;

/// The client roots of a node's TLS listener.
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
    fn set_channel(&self, config: &ChannelConfig) {
        let mut channels = self.channels.lock().expect("client roots lock");
        channels.insert(config.channel_id.clone(), config.tls_roots());
        self.apply(&channels);
    }

    /// Forgets a channel's roots.
    pub fn remove_channel(&self, id: &ChannelId) {
        let mut channels = self.channels.lock().expect("client roots lock");
        if channels.remove(id).is_some() {
            self.apply(&channels);
        }
    }

    /// Sets a channel's roots now (before this returns), and returns the
    /// task that sets them again after every config change. When the channel
    /// ends (its config's sender is dropped) its roots are forgotten; when
    /// `stop` is set (the node shuts down) they are left as they are.
    pub fn follow(
        self: &Arc<Self>,
        mut config: watch::Receiver<Arc<ChannelConfig>>,
        mut stop: watch::Receiver<bool>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let current = config.borrow_and_update().clone();
        self.set_channel(&current);
        let roots = self.clone();
        async move {
            loop {
                tokio::select! {
                    changed = config.changed() => if changed.is_err() { break },
                    _ = stop.changed() => return,
                }
                let current = config.borrow_and_update().clone();
                roots.set_channel(&current);
            }
            roots.remove_channel(&current.channel_id);
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
