//! `_lifecycle`'s peer-local functions (install and query installed
//! packages), which take no channel.

use prost::Message;
use weft_common::tx::UnpackedProposal;
use weft_protos::lifecycle::{
    GetInstalledChaincodePackageArgs, GetInstalledChaincodePackageResult, InstallChaincodeArgs,
    InstallChaincodeResult, QueryInstalledChaincodeArgs, QueryInstalledChaincodeResult,
    QueryInstalledChaincodesResult, query_installed_chaincodes_result,
};

use super::Support;
use crate::refusal::{Refusal, err, internal};

/// `_lifecycle`'s peer-local functions; only an admin of this peer's org may call them.
pub(super) fn local_lifecycle(
    core: &dyn Support,
    p: &UnpackedProposal,
    function: &str,
) -> Result<Vec<u8>, Refusal> {
    crate::scc::require_local_admin(core, p)?;
    let arg = p.args().get(1).map_or(&[][..], |a| a.as_slice());
    let bad = |e: prost::DecodeError| {
        err(
            400,
            format!("{function}: the argument does not decode: {e}"),
        )
    };
    match function {
        "InstallChaincode" => {
            let a = InstallChaincodeArgs::decode(arg).map_err(bad)?;
            let i = core
                .installed()
                .install(&a.chaincode_install_package)
                .map_err(|e| err(500, format!("failed to install chaincode: {e}")))?;
            tracing::info!(package_id = %i.package_id, "installed chaincode");
            // A chaincode already defined with this package gets its indexes now.
            for channel in core.channel_ids() {
                if let Some(committer) = core.channel(channel.as_str()) {
                    super::apply_defined_indexes(core, committer.ledger());
                }
            }
            Ok(InstallChaincodeResult {
                package_id: i.package_id,
                label: i.label,
            }
            .encode_to_vec())
        }
        "QueryInstalledChaincodes" => Ok(QueryInstalledChaincodesResult {
            installed_chaincodes: core
                .installed()
                .list()
                .into_iter()
                .map(|i| query_installed_chaincodes_result::InstalledChaincode {
                    package_id: i.package_id,
                    label: i.label,
                    references: Default::default(),
                })
                .collect(),
        }
        .encode_to_vec()),
        "QueryInstalledChaincode" => {
            let a = QueryInstalledChaincodeArgs::decode(arg).map_err(bad)?;
            let i = core
                .installed()
                .get(&a.package_id)
                .ok_or_else(|| not_installed(&a.package_id))?;
            Ok(QueryInstalledChaincodeResult {
                package_id: i.package_id,
                label: i.label,
                references: Default::default(),
            }
            .encode_to_vec())
        }
        "GetInstalledChaincodePackage" => {
            let a = GetInstalledChaincodePackageArgs::decode(arg).map_err(bad)?;
            let bytes = core
                .installed()
                .package_bytes(&a.package_id)
                .map_err(internal)?
                .ok_or_else(|| not_installed(&a.package_id))?;
            Ok(GetInstalledChaincodePackageResult {
                chaincode_install_package: bytes,
            }
            .encode_to_vec())
        }
        other => Err(err(
            400,
            format!("_lifecycle/{other} needs a channel (or does not exist)"),
        )),
    }
}

/// Fabric's refusal for a package id that is not installed here.
fn not_installed(package_id: &str) -> Refusal {
    err(
        404,
        format!("could not find chaincode with package id '{package_id}'"),
    )
}
