//! Channel changes as files: an edit of the current config becomes a
//! config update file for admins to sign (`weft-configtx channel ...`), an
//! organisation's definition is exported for the channel's admins to add
//! (`weft-configtx org print`, Fabric's `configtxgen -printOrg`), and two
//! configs give the update between them (`compute-update`).

use std::path::Path;

use prost::Message;
use weft_common::config::edit::{Edit, apply};
use weft_common::config::update::compute_update;
use weft_common::config::{ChannelConfig, go_encoding};
use weft_protos::common::{Block, Config, ConfigGroup, ConfigUpdateEnvelope};

use crate::ConfigtxError;
use crate::profile::ConfigtxFile;
use crate::protolator::Protolator;
use crate::update_file::UpdateFile;

const CONFIG_GROUP: &str = "common.ConfigGroup";

/// The channel config in a config block file (a genesis block, or the
/// newest config block from `weft-configtx fetch config`).
pub fn read_config_block(path: &Path) -> Result<ChannelConfig, ConfigtxError> {
    let bytes = std::fs::read(path).map_err(|e| ConfigtxError::io(path, e))?;
    let block = Block::decode(bytes.as_slice())
        .map_err(|e| ConfigtxError::Decode(format!("{}: not a block: {e}", path.display())))?;
    ChannelConfig::from_block(&block)
        .map_err(|e| ConfigtxError::Decode(format!("{}: not a config block: {e}", path.display())))
}

/// The update between `current` and `updated`, unsigned.
pub fn update_between(
    current: &ChannelConfig,
    updated: &Config,
) -> Result<UpdateFile, ConfigtxError> {
    let update = compute_update(&current.channel_id, &current.config, updated)?;
    Ok(UpdateFile {
        channel: current.channel_id.clone(),
        envelope: ConfigUpdateEnvelope {
            config_update: go_encoding::config_update(&update),
            signatures: Vec::new(),
        },
    })
}

/// The update that makes `edit` to `current`, unsigned.
pub fn propose(current: &ChannelConfig, edit: &Edit) -> Result<UpdateFile, ConfigtxError> {
    update_between(current, &apply(&current.config, edit)?)
}

/// The channel-config group of organisation `name` (its `Name` or `ID` in
/// `file`'s `Organizations`): an orderer org's if it lists orderer
/// endpoints, else an application org's, as `configtxgen -printOrg` builds it.
pub fn org_definition(file: &ConfigtxFile, name: &str) -> Result<ConfigGroup, ConfigtxError> {
    let orgs = &file.content.organizations;
    let org = orgs
        .iter()
        .find(|o| o.name == name || o.id == name)
        .ok_or_else(|| ConfigtxError::Config {
            file: file.path.display().to_string(),
            field: "Organizations".into(),
            reason: format!(
                "no organisation named {name} (it has {})",
                orgs.iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
    crate::genesis::org_group(
        file,
        "Organizations",
        org,
        !org.orderer_endpoints.is_empty(),
    )
}

/// An org definition as `configtxgen -printOrg` prints it (JSON).
pub fn org_definition_json(group: &ConfigGroup) -> Result<String, ConfigtxError> {
    let json = Protolator::new().decode(CONFIG_GROUP, &go_encoding::config_group(group))?;
    Ok(serde_json::to_string_pretty(&json).expect("JSON values serialise"))
}

/// Reads an org definition: `configtxgen -printOrg`'s JSON (from weft or
/// Fabric), or the group's protobuf bytes.
pub fn read_org_definition(path: &Path) -> Result<ConfigGroup, ConfigtxError> {
    let bytes = std::fs::read(path).map_err(|e| ConfigtxError::io(path, e))?;
    let proto = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(json) => Protolator::new().encode(CONFIG_GROUP, &json).map_err(|e| {
            ConfigtxError::Decode(format!("{}: not an org definition: {e}", path.display()))
        })?,
        Err(_) => bytes,
    };
    ConfigGroup::decode(proto.as_slice()).map_err(|e| {
        ConfigtxError::Decode(format!("{}: not an org definition: {e}", path.display()))
    })
}
