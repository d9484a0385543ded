//! `weft-configtx update ...`: a config update file's round among admins
//! (sign, inspect) and its submission to an orderer.

use std::path::PathBuf;

use clap::Subcommand;

use super::connection::{Admin, Orderer};
use crate::ConfigtxError;
use crate::update_file::UpdateFile;

#[derive(Subcommand, Debug)]
pub(crate) enum UpdateCommand {
    /// Add this admin's signature to a config update file, in place (Fabric's
    /// `peer channel signconfigtx`). The file passes from admin to admin
    /// until `update inspect` says it is ready.
    ///
    /// Example: CORE_PEER_MSPCONFIGPATH=org2/users/Admin@org2.example.com/msp
    /// CORE_PEER_LOCALMSPID=Org2MSP weft-configtx update sign org3_update.pb
    Sign {
        /// A CONFIG_UPDATE envelope, or a bare config update (compute-update's output).
        file: PathBuf,
        #[command(flatten)]
        admin: Admin,
    },
    /// Show what a config update changes, whose signatures it has, and who
    /// must still sign, against the channel's current config.
    ///
    /// Example: weft-configtx fetch config config.block -o orderer.example.com:7050
    /// -c mychannel --cafile tlsca.pem; weft-configtx update inspect
    /// org3_update.pb --config-block config.block
    Inspect {
        /// The update file.
        file: PathBuf,
        /// The channel's newest config block.
        #[arg(long)]
        config_block: PathBuf,
    },
    /// Send a config update to an orderer (Fabric's `peer channel update`):
    /// this admin's signature is added, and the orderer applies the update
    /// or says why not (such as who must still sign).
    ///
    /// Example: weft-configtx update submit org3_update.pb -o orderer.example.com:7050
    /// --cafile organizations/ordererOrganizations/example.com/tlsca/tlsca.example.com-cert.pem
    Submit {
        /// The update file.
        file: PathBuf,
        #[command(flatten)]
        orderer: Orderer,
        #[command(flatten)]
        admin: Admin,
    },
}

/// Runs `update ...`.
pub(crate) async fn run(command: UpdateCommand) -> Result<(), ConfigtxError> {
    match command {
        UpdateCommand::Sign { file, admin } => {
            let admin = admin.load()?;
            let mut update = UpdateFile::read(&file)?;
            let before = update.envelope.signatures.len();
            update.sign(&admin)?;
            update.write(&file, &admin)?;
            let msp_id = admin.identity.msp_id();
            if update.envelope.signatures.len() == before {
                eprintln!(
                    "{} was already signed by this {msp_id} admin",
                    file.display()
                );
            } else {
                eprintln!(
                    "{} signed by {msp_id}: it has {} signature(s)",
                    file.display(),
                    update.envelope.signatures.len()
                );
            }
        }
        UpdateCommand::Inspect { file, config_block } => {
            let review = UpdateFile::read(&file)?.review(&config_block)?;
            println!("{review}");
        }
        UpdateCommand::Submit {
            file,
            orderer,
            admin,
        } => {
            let admin = admin.load()?;
            let update = UpdateFile::read(&file)?;
            let envelope = update.submission(&admin)?;
            let (channel, _) = orderer.connect().await?;
            weft_common::node::orderer_client::broadcast(channel, &orderer.orderer, envelope)
                .await?;
            eprintln!(
                "Successfully submitted channel update to {} for channel {}",
                orderer.orderer, update.channel
            );
        }
    }
    Ok(())
}
