//! Simulating a channel proposal: `_lifecycle`'s channel functions, or an
//! application chaincode's defined and installed package run in the WASM
//! runtime against committed state, with Fabric's Init-once rule.

use std::sync::Arc;

use prost::Message;
use weft_common::ids::ChaincodeName;
use weft_common::tx::UnpackedProposal;
use weft_protos::protos::{self, ChaincodeEvent};

use super::{SYSTEM_CHAINCODE_VERSION, Simulated, Support};
use crate::chaincode::{InvocationContext, Simulator, TxSimulator};
use crate::channel::Committer;
use crate::lifecycle::layout::{self, NAMESPACES};
use crate::lifecycle::scc::Lifecycle;
use crate::refusal::{Refusal, err, internal};

pub(super) fn simulate(
    core: &Arc<dyn Support>,
    committer: &Committer,
    p: &UnpackedProposal,
    cc: &str,
    function: &str,
) -> Result<Simulated, Refusal> {
    let cfg = committer.config();
    let ledger = committer.ledger().clone();
    let mut sim = Simulator::new(ledger.clone());
    let my_org = core.signer().identity.msp_id().to_string();
    if cc == crate::lifecycle::NAMESPACE {
        let payload = Lifecycle {
            sim: &mut sim,
            config: &cfg,
            my_org: &my_org,
        }
        .invoke(function, p.args())?;
        return Ok(Simulated {
            response: protos::Response {
                status: 200,
                message: String::new(),
                payload,
            },
            results: sim.rwset().encode_to_vec(),
            event: Vec::new(),
            // Fabric's endorser names every system chaincode's version so.
            version: SYSTEM_CHAINCODE_VERSION.into(),
            private: sim.private_rwset().map(|all| super::PrivateWrites {
                own: Some(all.clone()),
                all,
            }),
            // As Fabric: a system chaincode's result names no chaincode.
            interest: Some(Default::default()),
        });
    }
    // The definition: its sequence is read through the simulation (as Fabric
    // records it), the rest and this org's package choice directly.
    let sequence = sim
        .get_state(crate::lifecycle::NAMESPACE, &layout::field_key(NAMESPACES, cc, "Sequence"))
        .map_err(internal)?
        .and_then(|v| layout::data_int(&v))
        .ok_or_else(|| {
            err(
                404,
                format!("chaincode definition for '{cc}' not found: make sure it has been committed on channel {}", cfg.channel_id),
            )
        })?;
    let read = |k: String| {
        ledger
            .get_state(crate::lifecycle::NAMESPACE, &k)
            .map_err(internal)
    };
    let info = read(layout::field_key(NAMESPACES, cc, "EndorsementInfo"))?
        .and_then(|(_, v)| layout::endorsement_info(&v))
        .unwrap_or_default();
    let version = info.version.clone();
    let collections = read(layout::field_key(NAMESPACES, cc, "Collections"))?
        .and_then(|(_, v)| layout::collections(&v))
        .unwrap_or_default();
    check_init(&mut sim, p, cc, &info)?;
    let installed = installed_for(core.as_ref(), &ledger, cc, sequence)?;
    let creator = cfg
        .msps
        .deserialize(&p.signature_header.creator)
        .map_err(|e| err(400, format!("creator: {e}")))?;
    let ts = p.channel_header.timestamp.unwrap_or_default();
    let access = crate::lifecycle::collections::access(
        &collections,
        &crate::lifecycle::collection_rules::channel_orgs(&cfg),
        &my_org,
        creator.msp_id().as_str(),
    );
    let ctx = InvocationContext {
        chaincode: ChaincodeName::new(cc),
        args: p.args().to_vec(),
        tx_id: p.tx_id(),
        channel_id: cfg.channel_id.clone(),
        timestamp: (ts.seconds, ts.nanos),
        creator_msp_id: creator.msp_id().clone(),
        creator_cert: creator.cert_pem(),
        transient: p.transient().clone(),
        read_only: false,
        collections: access.clone(),
    };
    let (outcome, sim) = core.installed().runtime().invoke(
        &installed.compiled,
        ctx,
        Box::new(sim),
        Some(Arc::new(DefinedChaincodes {
            core: core.clone(),
            ledger: ledger.clone(),
        })),
    );
    let outcome = outcome.map_err(|e| err(500, format!("error in simulation: {e}")))?;
    if outcome.response.status >= 400 {
        return Err(err(
            outcome.response.status as i32,
            format!(
                "error in simulation: transaction returned with failure: {}",
                outcome.response.message
            ),
        ));
    }
    // As Fabric's endorser: a purge needs the capability that makes every
    // peer of the channel carry it out.
    if sim.purges() && !purge_enabled(cfg.application.as_ref()) {
        return Err(err(
            500,
            format!(
                "error in simulation: PurgePrivateData needs the channel's {PURGE_CAPABILITY} application capability"
            ),
        ));
    }
    let event = outcome
        .event
        .map(|(name, payload)| {
            ChaincodeEvent {
                chaincode_id: cc.to_string(),
                tx_id: p.channel_header.tx_id.clone(),
                event_name: name,
                payload,
            }
            .encode_to_vec()
        })
        .unwrap_or_default();
    let results = sim.rwset().encode_to_vec();
    let interest = weft_common::tx::decode_ns_rwsets(&results)
        .map_err(|e| err(500, format!("error in simulation: {e}")))
        .and_then(|namespaces| {
            super::interest::build(
                &namespaces,
                &|ns, key| ledger.get_metadata(ns, key),
                &|ns, coll, h| ledger.get_hashed_metadata(ns, coll, h),
                is_system_chaincode,
            )
            .map_err(internal)
        })?;
    Ok(Simulated {
        response: protos::Response {
            status: outcome.response.status as i32,
            message: outcome.response.message,
            payload: outcome.response.payload,
        },
        results,
        interest: Some(interest),
        event,
        version,
        private: sim.private_writes().map(|all| {
            // This peer keeps (until the commit) only what its org may hold.
            let mut own = all.clone();
            for ns in &mut own.ns_pvt_rwset {
                ns.collection_pvt_rwset.retain(|c| {
                    access
                        .get(&c.collection_name)
                        .is_some_and(|a| a.peer_is_member)
                });
            }
            own.ns_pvt_rwset
                .retain(|ns| !ns.collection_pvt_rwset.is_empty());
            super::PrivateWrites {
                all,
                own: (!own.ns_pvt_rwset.is_empty()).then_some(own),
            }
        }),
    })
}

/// Fabric's system chaincodes, which a `ChaincodeInterest` leaves out.
fn is_system_chaincode(name: &str) -> bool {
    matches!(name, crate::lifecycle::NAMESPACE | "lscc" | "cscc" | "qscc")
}

/// The application capability that enables `PurgePrivateData`.
const PURGE_CAPABILITY: &str = "V2_5";

/// Whether the channel's application capabilities enable `PurgePrivateData`.
fn purge_enabled(app: Option<&weft_common::config::ApplicationConfig>) -> bool {
    app.is_some_and(|a| a.capabilities.iter().any(|c| c == PURGE_CAPABILITY))
}

/// Fabric's Init-once rule for definitions with `init_required`: the first
/// transaction of a version must be an init (`is_init`), and only the first.
fn check_init(
    sim: &mut Simulator<crate::ledger::Ledger>,
    p: &UnpackedProposal,
    cc: &str,
    info: &weft_protos::lifecycle::ChaincodeEndorsementInfo,
) -> Result<(), Refusal> {
    let is_init = p
        .invocation
        .chaincode_spec
        .as_ref()
        .and_then(|s| s.input.as_ref())
        .is_some_and(|i| i.is_init);
    if !info.init_required {
        if is_init {
            return Err(err(
                400,
                format!("chaincode '{cc}' does not require initialization but called as init"),
            ));
        }
        return Ok(());
    }
    let done = sim
        .get_state(cc, layout::INITIALIZED_KEY)
        .map_err(internal)?;
    let initialized = done.as_deref() == Some(info.version.as_bytes());
    match (initialized, is_init) {
        (true, true) => Err(err(
            400,
            format!("chaincode '{cc}' is already initialized but called as init"),
        )),
        (false, false) => Err(err(
            400,
            format!(
                "chaincode '{cc}' has not been initialized for version {}, must call as init first",
                info.version
            ),
        )),
        (false, true) => sim
            .put_state(
                cc,
                layout::INITIALIZED_KEY,
                info.version.clone().into_bytes(),
            )
            .map_err(internal),
        (true, false) => Ok(()),
    }
}

/// The package this peer's org chose for `cc` at `sequence`, if installed here.
pub(crate) fn installed_for(
    core: &dyn Support,
    ledger: &crate::ledger::Ledger,
    cc: &str,
    sequence: i64,
) -> Result<crate::chaincode::installed::Installed, Refusal> {
    let my_org = core.signer().identity.msp_id().to_string();
    let coll = layout::implicit_collection(&my_org);
    let package_id = ledger
        .get_private(
            crate::lifecycle::NAMESPACE,
            &coll,
            &layout::field_key(layout::CHAINCODE_SOURCES, &format!("{cc}#{sequence}"), "PackageID"),
        )
        .map_err(internal)?
        .and_then(|v| layout::data_string(&v))
        .ok_or_else(|| {
            err(
                500,
                format!("chaincode definition for '{cc}' exists, but {my_org} has not approved it with a package on this peer (sequence {sequence})"),
            )
        })?;
    core.installed().get(&package_id).ok_or_else(|| {
        err(
            500,
            format!("chaincode definition for '{cc}' exists, but chaincode {package_id} is not installed on this peer"),
        )
    })
}

/// Builds the packaged indexes of every chaincode defined on `ledger`'s
/// channel whose package this peer's org approved and installed here: run
/// after every commit (so an index exists from the commit of its
/// definition on) and at install (when the package comes later). Already
/// built indexes cost a lookup.
pub(crate) fn apply_defined_indexes(core: &dyn Support, ledger: &crate::ledger::Ledger) {
    let prefix = format!("{NAMESPACES}/fields/");
    let end = format!("{NAMESPACES}/fields0");
    let defined = match ledger.range(crate::lifecycle::NAMESPACE, &prefix, &end) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("reading chaincode definitions: {e}");
            return;
        }
    };
    for (key, _, value) in defined {
        let Some(cc) = key
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix("/Sequence"))
        else {
            continue;
        };
        let Some(sequence) = layout::data_int(&value) else {
            continue;
        };
        if let Ok(installed) = installed_for(core, ledger, cc, sequence) {
            installed.apply_indexes(ledger, cc);
        }
    }
}

/// Chaincodes a chaincode may call (`invoke_chaincode`): those with a
/// committed definition whose package this org installed here.
struct DefinedChaincodes {
    core: Arc<dyn Support>,
    ledger: crate::ledger::Ledger,
}

impl crate::chaincode::runtime::ChaincodeResolver for DefinedChaincodes {
    fn resolve(&self, name: &str) -> Option<Arc<crate::chaincode::CompiledChaincode>> {
        let (_, v) = self
            .ledger
            .get_state(
                crate::lifecycle::NAMESPACE,
                &layout::field_key(NAMESPACES, name, "Sequence"),
            )
            .ok()??;
        let sequence = layout::data_int(&v)?;
        installed_for(self.core.as_ref(), &self.ledger, name, sequence)
            .ok()
            .map(|i| i.compiled)
    }
}

#[cfg(test)]
mod tests {
    use weft_common::config::ApplicationConfig;

    use super::*;

    #[test]
    fn purge_needs_the_v2_5_application_capability() {
        let with = |caps: &[&str]| ApplicationConfig {
            capabilities: caps.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        };
        assert!(purge_enabled(Some(&with(&["V2_5"]))));
        assert!(!purge_enabled(Some(&with(&["V2_0"]))));
        assert!(!purge_enabled(None));
    }
}
