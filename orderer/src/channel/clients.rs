//! gRPC clients to the other consenters, and the Raft transport over them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use weft_common::node::dial::{DialOptions, DialTls, dial_lazy};
use weft_common::tls::TlsIdentity;
use weft_protos::weft::cluster::cluster_client::ClusterClient;

use super::{Command, Consenter};
use crate::raft_outbox::{Transport, Undelivered};
use crate::step_wire::{self, StepBatch};

/// gRPC clients to the other consenters, made lazily.
pub(super) struct Clients {
    /// This node's TLS identity (none: plaintext).
    identity: Option<TlsIdentity>,
    /// The TLS roots of the channel's config in force: a consenter of an
    /// organisation added later presents a certificate of a new TLS CA.
    roots: Mutex<Vec<Vec<u8>>>,
    by_id: Mutex<BTreeMap<u64, tonic::transport::Channel>>,
    endpoints: Mutex<BTreeMap<u64, (String, String)>>,
}

impl Clients {
    /// No consenters yet; `identity` is this node's TLS identity.
    pub(super) fn new(identity: Option<TlsIdentity>) -> Self {
        Self {
            identity,
            roots: Mutex::new(Vec::new()),
            by_id: Mutex::new(BTreeMap::new()),
            endpoints: Mutex::new(BTreeMap::new()),
        }
    }

    /// Replaces the endpoints and TLS roots (at start and after every
    /// config): drops clients of removed consenters, and every client when
    /// the roots changed, so the next call dials with the new ones.
    pub(super) fn set_consenters(
        &self,
        consenters: &[Consenter],
        self_id: u64,
        roots: Vec<Vec<u8>>,
    ) {
        let endpoints: BTreeMap<u64, (String, String)> = consenters
            .iter()
            .filter(|c| c.id != self_id)
            .map(|c| (c.id, (c.endpoint.clone(), c.host.clone())))
            .collect();
        let mut by_id = self.by_id.lock().expect("clients lock");
        let mut current = self.roots.lock().expect("roots lock");
        if *current != roots {
            by_id.clear();
            *current = roots;
        }
        by_id.retain(|id, _| endpoints.contains_key(id));
        *self.endpoints.lock().expect("endpoints lock") = endpoints;
    }

    pub(super) fn client(&self, id: u64) -> Option<ClusterClient<tonic::transport::Channel>> {
        let channel = self.channel(id)?;
        Some(ClusterClient::new(channel).max_decoding_message_size(256 * 1024 * 1024))
    }

    /// The (lazily connecting) channel to consenter `id`, shared by every call to it.
    pub(super) fn channel(&self, id: u64) -> Option<tonic::transport::Channel> {
        let mut by_id = self.by_id.lock().expect("clients lock");
        if let Some(c) = by_id.get(&id) {
            return Some(c.clone());
        }
        let (endpoint, host) = self
            .endpoints
            .lock()
            .expect("endpoints lock")
            .get(&id)?
            .clone();
        let roots = self.roots.lock().expect("roots lock").clone();
        let tls = self.identity.as_ref().map(|identity| DialTls {
            roots,
            identity: Some((identity.cert_pem.clone(), identity.key_pem.clone())),
            server_name: Some(host),
        });
        let options = DialOptions {
            connect_timeout: Duration::from_secs(3),
            ..DialOptions::default()
        };
        let channel = match dial_lazy(&endpoint, tls.as_ref(), options) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(consenter = id, "{e}");
                return None;
            }
        };
        by_id.insert(id, channel.clone());
        Some(channel)
    }
}

/// The cluster transport as the outbox sees it: `Cluster.Step` calls to the
/// consenters, and failures reported back to this channel's Raft node.
pub(super) struct ConsenterLinks {
    /// A call not answered in time fails, so a black-holed consenter does not
    /// hold its link (and every message queued behind the call) forever.
    pub(super) rpc_timeout: Duration,
    pub(super) channel: String,
    pub(super) clients: Arc<Clients>,
    pub(super) commands: mpsc::Sender<Command>,
}

impl Transport for ConsenterLinks {
    fn deliver(
        &self,
        to: u64,
        messages: Vec<raft::prelude::Message>,
    ) -> impl std::future::Future<Output = Result<(), Undelivered>> + Send {
        let connection = self.clients.channel(to);
        let batch = StepBatch {
            channel: self.channel.clone(),
            messages,
        };
        let timeout = self.rpc_timeout;
        async move {
            let connection = connection.ok_or(Undelivered::NoEndpoint(to))?;
            tokio::time::timeout(timeout, step_wire::step(connection, batch))
                .await
                .map_err(|_| Undelivered::Timeout { to, timeout })?
                .map_err(Undelivered::Call)
        }
    }

    fn unreachable(&self, to: u64) {
        // Raft falls back to probing the peer instead of streaming to it.
        let _ = self.commands.try_send(Command::Unreachable(to));
    }
}
