//! Loading an MSP from Fabric's folder layout.
//!
//! ```text
//! msp/
//!   cacerts/            root CA certificates (required)
//!   intermediatecerts/  intermediate CA certificates
//!   admincerts/         explicit admin certificates (legacy; NodeOUs preferred)
//!   signcerts/          this identity's certificate (signing identities only)
//!   keystore/           this identity's private key: priv_sk or <ski>_sk
//!   tlscacerts/         TLS root CA certificates
//!   tlsintermediatecerts/
//!   crls/               certificate revocation lists
//!   config.yaml         NodeOUs and accepted OUs
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use weft_protos::msp::{FabricCryptoConfig, FabricMspConfig, FabricNodeOUs, FabricOuIdentifier};

use super::identity::{Identity, SigningIdentity};
use crate::CommonError;
use crate::crypto::load_signer_from_keystore;
use crate::ids::MspId;

/// An MSP folder's content: its verifying config and, when it has a key, the
/// signing identity it holds.
#[derive(Debug)]
pub struct MspFolder {
    /// The MSP as it goes into channel config.
    pub config: FabricMspConfig,
    /// The identity of `signcerts/` with the key of `keystore/`, if both exist.
    pub signing: Option<SigningIdentity>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ConfigYaml {
    #[serde(rename = "NodeOUs")]
    node_ous: Option<NodeOusYaml>,
    #[serde(default)]
    organizational_unit_identifiers: Vec<OuYaml>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NodeOusYaml {
    #[serde(default)]
    enable: bool,
    #[serde(rename = "ClientOUIdentifier")]
    client: Option<OuYaml>,
    #[serde(rename = "PeerOUIdentifier")]
    peer: Option<OuYaml>,
    #[serde(rename = "AdminOUIdentifier")]
    admin: Option<OuYaml>,
    #[serde(rename = "OrdererOUIdentifier")]
    orderer: Option<OuYaml>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OuYaml {
    #[serde(default)]
    certificate: Option<String>,
    #[serde(rename = "OrganizationalUnitIdentifier")]
    ou: String,
}

fn load_err(path: &Path, what: &'static str, reason: impl Into<String>) -> CommonError {
    CommonError::Load {
        what,
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Reads every regular file of `dir` (sorted by name); a missing folder is empty.
fn read_folder(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, CommonError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| load_err(dir, "MSP folder", e.to_string()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            std::fs::read(&p)
                .map(|b| (p.clone(), b))
                .map_err(|e| load_err(&p, "MSP file", e.to_string()))
        })
        .collect()
}

/// Reads certificates from a folder, checking each parses.
fn read_certs(dir: &Path) -> Result<Vec<Vec<u8>>, CommonError> {
    read_folder(dir)?
        .into_iter()
        .map(|(path, bytes)| {
            crate::msp::Certificate::from_pem(&bytes).map_err(|e| {
                load_err(
                    &path,
                    "certificate",
                    format!("{e}; expected a PEM certificate"),
                )
            })?;
            Ok(bytes)
        })
        .collect()
}

fn ou_identifier(msp_dir: &Path, ou: &OuYaml) -> Result<FabricOuIdentifier, CommonError> {
    let certificate = match &ou.certificate {
        Some(rel) if !rel.is_empty() => {
            let path = msp_dir.join(rel);
            std::fs::read(&path).map_err(|e| {
                load_err(
                    &path,
                    "OU certificate named in config.yaml",
                    format!("{e}; fix the Certificate path"),
                )
            })?
        }
        _ => Vec::new(),
    };
    Ok(FabricOuIdentifier {
        certificate,
        organizational_unit_identifier: ou.ou.clone(),
    })
}

/// Loads the MSP folder at `dir` for MSP `msp_id`.
pub fn load(dir: &Path, msp_id: &MspId) -> Result<MspFolder, CommonError> {
    if !dir.is_dir() {
        return Err(load_err(
            dir,
            "MSP folder",
            "not a directory; point MSPDir at an MSP folder in Fabric's layout",
        ));
    }
    let root_certs = read_certs(&dir.join("cacerts"))?;
    if root_certs.is_empty() {
        return Err(load_err(
            dir,
            "MSP folder",
            "has no cacerts/: put the organisation's root CA certificate (PEM) in cacerts/",
        ));
    }
    let config_path = dir.join("config.yaml");
    let config_yaml: ConfigYaml = if config_path.exists() {
        let text = std::fs::read_to_string(&config_path)
            .map_err(|e| load_err(&config_path, "config.yaml", e.to_string()))?;
        serde_yaml_ng::from_str(&text)
            .map_err(|e| load_err(&config_path, "config.yaml", e.to_string()))?
    } else {
        ConfigYaml::default()
    };
    let fabric_node_ous = match &config_yaml.node_ous {
        Some(n) => {
            let opt = |o: &Option<OuYaml>| o.as_ref().map(|o| ou_identifier(dir, o)).transpose();
            Some(FabricNodeOUs {
                enable: n.enable,
                client_ou_identifier: opt(&n.client)?,
                peer_ou_identifier: opt(&n.peer)?,
                admin_ou_identifier: opt(&n.admin)?,
                orderer_ou_identifier: opt(&n.orderer)?,
            })
        }
        None => None,
    };
    let crls = read_folder(&dir.join("crls"))?
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    let config = FabricMspConfig {
        name: msp_id.to_string(),
        root_certs,
        intermediate_certs: read_certs(&dir.join("intermediatecerts"))?,
        admins: read_certs(&dir.join("admincerts"))?,
        revocation_list: crls,
        signing_identity: None,
        organizational_unit_identifiers: config_yaml
            .organizational_unit_identifiers
            .iter()
            .map(|o| ou_identifier(dir, o))
            .collect::<Result<_, _>>()?,
        crypto_config: Some(FabricCryptoConfig {
            signature_hash_family: "SHA2".into(),
            identity_identifier_hash_function: "SHA256".into(),
        }),
        tls_root_certs: read_certs(&dir.join("tlscacerts"))?,
        tls_intermediate_certs: read_certs(&dir.join("tlsintermediatecerts"))?,
        fabric_node_ous,
    };
    let signing = if dir.join("keystore").is_dir() && dir.join("signcerts").is_dir() {
        Some(load_signing_identity(dir, msp_id)?)
    } else {
        None
    };
    Ok(MspFolder { config, signing })
}

/// Loads only the signing identity of an MSP folder (`signcerts/` + `keystore/`).
pub fn load_signing_identity(dir: &Path, msp_id: &MspId) -> Result<SigningIdentity, CommonError> {
    let signcerts = read_folder(&dir.join("signcerts"))?;
    let (cert_path, cert_pem) = match signcerts.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(load_err(
                &dir.join("signcerts"),
                "signcerts",
                "no certificate: a signing identity needs one",
            ));
        }
        _ => {
            return Err(load_err(
                &dir.join("signcerts"),
                "signcerts",
                "more than one certificate; keep exactly one",
            ));
        }
    };
    let identity = Identity::new(msp_id.clone(), &cert_pem)
        .map_err(|e| load_err(&cert_path, "signing certificate", e.to_string()))?;
    let signer = load_signer_from_keystore(&dir.join("keystore"))?;
    SigningIdentity::new(identity, signer)
        .map_err(|e| load_err(dir, "signing identity", e.to_string()))
}
