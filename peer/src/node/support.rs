//! The peer as each service sees it: [`PeerCore`] implements every service's
//! `Support` trait by handing out the one part of itself that service needs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use weft_common::config::ChannelConfig;
use weft_common::ids::ChannelId;
use weft_common::msp::{MspManager, SigningIdentity};
use weft_common::node::health::FailedCheck;
use weft_common::tls::TlsIdentity;
use weft_protos::common::Block;

use super::PeerCore;
use crate::PeerError;
use crate::chaincode::installed::InstalledChaincodes;
use crate::channel::Committer;
use crate::channels::JoinedChannels;
use crate::config::GatewayPeer;
use crate::discovery::members::LocalMember;
use crate::endorser::EndorserMetrics;

impl JoinedChannels for PeerCore {
    fn channel(&self, id: &str) -> Option<Arc<Committer>> {
        PeerCore::channel(self, id)
    }
    fn channel_ids(&self) -> Vec<ChannelId> {
        self.channels.ids()
    }
}

impl crate::scc::Support for PeerCore {
    fn join(&self, genesis: Block) -> Result<ChannelId, PeerError> {
        PeerCore::join(self, genesis)
    }
    fn local_msp(&self) -> &MspManager {
        &self.local_msp
    }
}

impl crate::endorser::Support for PeerCore {
    fn signer(&self) -> &SigningIdentity {
        &self.signer
    }
    fn proposal_time_window(&self) -> Duration {
        self.proposal_time_window
    }
    fn installed(&self) -> &InstalledChaincodes {
        &self.installed
    }
    fn executions(&self) -> &Semaphore {
        &self.executions
    }
    fn metrics(&self) -> &EndorserMetrics {
        &self.metrics
    }
    fn disseminate<'a>(
        &'a self,
        committer: &'a Committer,
        tx_id: &'a str,
        pvt: &'a weft_protos::rwset::TxPvtReadWriteSet,
    ) -> futures::future::BoxFuture<'a, Result<(), Box<dyn std::error::Error + Send + Sync>>> {
        Box::pin(async move {
            crate::privdata::push::disseminate(self, committer, tx_id, pvt)
                .await
                .map_err(Into::into)
        })
    }
}

impl crate::discovery::Support for PeerCore {
    fn tls(&self) -> Option<&TlsIdentity> {
        self.tls.as_ref()
    }
    fn local_member(&self) -> &LocalMember {
        &self.discovery_member
    }
    fn known_peers(&self) -> &[GatewayPeer] {
        &self.gateway_peers
    }
    fn org_members_allowed(&self) -> bool {
        self.discovery_org_members_allowed
    }
    fn views(&self) -> &crate::discovery::members::Views {
        &self.views
    }
}

/// Private data for the channels' committers: pulled from the channel's
/// member peers as this peer (held weakly: the channels belong to the peer).
pub(super) struct PrivateFetcher(pub(super) std::sync::Weak<PeerCore>);

#[tonic::async_trait]
impl crate::channel::delivery::PrivateFetch for PrivateFetcher {
    async fn before_commit(&self, committer: &Committer, block: &Block) {
        if let Some(core) = self.0.upgrade() {
            crate::privdata::pull::before_commit(core.as_ref(), committer, block).await;
        }
    }
    async fn reconcile(&self, committer: &Committer) {
        if let Some(core) = self.0.upgrade()
            && let Err(e) = crate::privdata::pull::reconcile(core.as_ref(), committer).await
        {
            tracing::info!(channel = %committer.config().channel_id, "private data reconciliation: {e}");
        }
    }
}

impl crate::gateway::Support for PeerCore {
    fn orderer_endpoints(&self, config: &ChannelConfig) -> Vec<String> {
        self.channels.orderer_endpoints(config)
    }
}

impl crate::operations::Support for PeerCore {
    fn failed_checks(&self) -> Vec<FailedCheck> {
        let mut failed = self.channels.failed_checks();
        failed.extend(weft_common::node::health::disk_check(
            &self.data_dir,
            weft_common::node::health::MIN_FREE_BYTES,
        ));
        failed
    }
    fn endorser_metrics(&self) -> &EndorserMetrics {
        &self.metrics
    }
    fn own_certificates(&self) -> weft_common::msp::expiry::OwnCertificates {
        weft_common::msp::expiry::OwnCertificates::new(&self.signer, self.tls.as_ref())
    }
}
