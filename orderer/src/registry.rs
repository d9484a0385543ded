//! The channels this orderer serves, by id.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use weft_common::ids::ChannelId;

use crate::channel::ChannelHandle;

/// Running channels.
#[derive(Debug, Default)]
pub struct Registry {
    channels: RwLock<BTreeMap<ChannelId, Arc<ChannelHandle>>>,
}

impl Registry {
    /// The channel, if this orderer serves it.
    pub fn get(&self, id: &str) -> Option<Arc<ChannelHandle>> {
        self.channels
            .read()
            .expect("registry lock")
            .get(&ChannelId::new(id))
            .cloned()
    }

    /// All channels.
    pub fn list(&self) -> Vec<Arc<ChannelHandle>> {
        self.channels
            .read()
            .expect("registry lock")
            .values()
            .cloned()
            .collect()
    }

    /// Adds a channel; false if it already exists.
    pub fn insert(&self, handle: Arc<ChannelHandle>) -> bool {
        let mut map = self.channels.write().expect("registry lock");
        if map.contains_key(&handle.id) {
            return false;
        }
        map.insert(handle.id.clone(), handle);
        true
    }

    /// Removes every channel.
    pub fn drain(&self) -> Vec<Arc<ChannelHandle>> {
        std::mem::take(&mut *self.channels.write().expect("registry lock"))
            .into_values()
            .collect()
    }

    /// Removes a channel.
    pub fn remove(&self, id: &str) -> Option<Arc<ChannelHandle>> {
        self.channels
            .write()
            .expect("registry lock")
            .remove(&ChannelId::new(id))
    }
}
