//! Deploying a chaincode with Fabric's lifecycle on every org of a network:
//! build to WASM, package, install on every peer, approve for every org,
//! commit, and wait until every peer has the definition. Running it again
//! with new code upgrades (the next sequence).

use std::path::{Path, PathBuf};
use std::time::Duration;

use prost::Message;
use weft_peer::admin::AdminClient;
use weft_peer::{package, transact};
use weft_protos::lifecycle as lc;

use crate::NetworkError;
use crate::info::{NetworkInfo, OrgInfo};

/// The repository's `samples/` directory (chaincode samples by name).
pub fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples")
}

/// Where the chaincode comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChaincodeSource {
    /// A Rust chaincode crate, built to WASM.
    Crate(PathBuf),
    /// A built WASM module.
    Wasm(PathBuf),
    /// A chaincode package (`.tar.gz`, as `weft-peer lifecycle chaincode package` writes).
    Package(PathBuf),
}

impl ChaincodeSource {
    /// A directory is a crate, `*.wasm` a module, anything else a package.
    pub fn from_path(path: &Path) -> Self {
        if path.is_dir() {
            Self::Crate(path.to_path_buf())
        } else if path.extension().is_some_and(|e| e == "wasm") {
            Self::Wasm(path.to_path_buf())
        } else {
            Self::Package(path.to_path_buf())
        }
    }
}

/// What to deploy.
#[derive(Debug, Clone)]
pub struct DeploySpec {
    /// The chaincode's name on the channel (`basic`).
    pub name: String,
    /// Its version label (`1.0`).
    pub version: String,
    /// Its code.
    pub source: ChaincodeSource,
    /// Where crate builds go (default: the crate's own `target/`).
    pub build_dir: Option<PathBuf>,
    /// The endorsement policy in Fabric's signature-policy syntax (`peer
    /// lifecycle chaincode approveformyorg --signature-policy`); `None`: the
    /// channel's `/Channel/Application/Endorsement`.
    pub signature_policy: Option<String>,
    /// Private data collections (`--collections-config`; empty: none).
    pub collections: weft_protos::protos::CollectionConfigPackage,
}

impl DeploySpec {
    /// Version 1.0 of the chaincode crate at `dir`, deployed as `name`,
    /// built into `build_dir`.
    pub fn from_crate(name: &str, dir: &Path, build_dir: Option<&Path>) -> Self {
        Self {
            name: name.to_string(),
            version: "1.0".into(),
            source: ChaincodeSource::Crate(dir.to_path_buf()),
            build_dir: build_dir.map(Path::to_path_buf),
            signature_policy: None,
            collections: Default::default(),
        }
    }

    /// The definition's collections as Fabric's CLI sends them (none: absent).
    fn collections(&self) -> Option<weft_protos::protos::CollectionConfigPackage> {
        (!self.collections.config.is_empty()).then(|| self.collections.clone())
    }

    /// The definition's `validation_parameter`: an `ApplicationPolicy`
    /// holding the signature policy, or empty for the channel's default.
    fn validation_parameter(&self) -> Result<Vec<u8>, NetworkError> {
        let Some(rule) = &self.signature_policy else {
            return Ok(Vec::new());
        };
        let policy = weft_common::policy::parse_signature_policy(rule)
            .map_err(|e| NetworkError::Deploy(format!("signature policy {rule:?}: {e}")))?;
        Ok(weft_protos::protos::ApplicationPolicy {
            r#type: Some(
                weft_protos::protos::application_policy::Type::SignaturePolicy(policy.to_proto()),
            ),
        }
        .encode_to_vec())
    }
}

/// What was deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    /// The chaincode name.
    pub name: String,
    /// The definition's sequence (1 for a first deploy).
    pub sequence: i64,
    /// The installed package's id.
    pub package_id: String,
}

fn deploy_err(e: impl std::fmt::Display) -> NetworkError {
    NetworkError::Deploy(e.to_string())
}

/// The package bytes for `spec` (building the crate if need be).
pub fn package_bytes(spec: &DeploySpec) -> Result<Vec<u8>, NetworkError> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| NetworkError::io(p, e));
    let label = format!("{}_{}", spec.name, spec.version);
    match &spec.source {
        ChaincodeSource::Crate(dir) => {
            let wasm = package::build_wasm(dir, spec.build_dir.as_deref())?;
            let indexes = package::index_files(dir)?;
            Ok(package::package_with_indexes(
                &label,
                &read(&wasm)?,
                &indexes,
            )?)
        }
        ChaincodeSource::Wasm(path) => Ok(package::package(&label, &read(path)?)?),
        ChaincodeSource::Package(path) => read(path),
    }
}

/// Calls `_lifecycle` on `client`'s peer (a query: endorsed, not ordered).
async fn lifecycle_call(
    client: &mut AdminClient,
    channel: &str,
    function: &str,
    arg: Vec<u8>,
) -> Result<Vec<u8>, NetworkError> {
    let creator = client.signer().clone();
    let response = client
        .process(
            &weft_common::tx::ProposalBuilder::new(
                weft_common::ids::ChannelId::new(channel),
                "_lifecycle",
            )
            .args(vec![function.as_bytes().to_vec(), arg])
            .sign(&creator)?
            .signed,
        )
        .await?;
    let r = response.response.unwrap_or_default();
    if r.status != 200 {
        return Err(NetworkError::Deploy(format!("{function}: {}", r.message)));
    }
    Ok(r.payload)
}

/// The committed definition of `name`, if any, as `org`'s first peer sees it.
pub async fn committed_definition(
    info: &NetworkInfo,
    org: &OrgInfo,
    peer: usize,
    name: &str,
) -> Result<Option<lc::QueryChaincodeDefinitionResult>, NetworkError> {
    let mut client = info.admin_client(org, peer).await?;
    let arg = lc::QueryChaincodeDefinitionArgs { name: name.into() }.encode_to_vec();
    match lifecycle_call(&mut client, &info.channel, "QueryChaincodeDefinition", arg).await {
        Ok(bytes) => Ok(Some(
            lc::QueryChaincodeDefinitionResult::decode(bytes.as_slice()).map_err(deploy_err)?,
        )),
        Err(NetworkError::Deploy(m)) if m.contains("is not defined") => Ok(None),
        Err(e) => Err(e),
    }
}

/// Orders a `_lifecycle` transaction endorsed by `peers` as `org`'s admin
/// and waits for it to commit valid on the first of them.
async fn order(
    info: &NetworkInfo,
    org: &OrgInfo,
    peers: &mut [(String, AdminClient)],
    args: Vec<Vec<u8>>,
) -> Result<(), NetworkError> {
    let creator = peers[0].1.signer().clone();
    let (bundle, responses) = transact::endorse(
        &creator,
        transact::Call::new(&info.channel, "_lifecycle", args),
        peers,
    )
    .await?;
    let mut last = None;
    let mut tx_id = None;
    for i in 0..info.orderers.len() {
        match transact::submit(&creator, &bundle, &responses, &info.orderer_target(org, i)?).await {
            Ok(id) => {
                tx_id = Some(id);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let tx_id = match (tx_id, last) {
        (Some(id), _) => id,
        (None, Some(e)) => return Err(e.into()),
        (None, None) => return Err(deploy_err("the network has no orderer")),
    };
    let (code, block) =
        transact::wait_for_commit(&creator, &info.channel, &tx_id, &info.peer_target(org, 0)?)
            .await?;
    if code != weft_protos::protos::TxValidationCode::Valid {
        return Err(NetworkError::Deploy(format!(
            "transaction {tx_id} committed in block {block} as {}",
            code.as_str_name()
        )));
    }
    Ok(())
}

/// A definition to approve and commit: what `approveformyorg` and `commit` send.
#[derive(Debug, Clone)]
pub struct Definition {
    /// The chaincode's name.
    pub name: String,
    /// Its version label.
    pub version: String,
    /// The definition's sequence.
    pub sequence: i64,
    /// The package each org approves (its id).
    pub package_id: String,
    /// An encoded `ApplicationPolicy`, or empty for the channel's default.
    pub validation_parameter: Vec<u8>,
    /// Private data collections, if any.
    pub collections: Option<weft_protos::protos::CollectionConfigPackage>,
}

impl Definition {
    /// The definition of `spec`'s package `package_id` at `sequence`.
    pub fn of(spec: &DeploySpec, package_id: &str, sequence: i64) -> Result<Self, NetworkError> {
        Ok(Self {
            name: spec.name.clone(),
            version: spec.version.clone(),
            sequence,
            package_id: package_id.to_string(),
            validation_parameter: spec.validation_parameter()?,
            collections: spec.collections(),
        })
    }

    fn approve_args(&self) -> Vec<Vec<u8>> {
        let approve = lc::ApproveChaincodeDefinitionForMyOrgArgs {
            sequence: self.sequence,
            name: self.name.clone(),
            version: self.version.clone(),
            source: Some(lc::ChaincodeSource {
                r#type: Some(lc::chaincode_source::Type::LocalPackage(
                    lc::chaincode_source::Local {
                        package_id: self.package_id.clone(),
                    },
                )),
            }),
            validation_parameter: self.validation_parameter.clone(),
            collections: self.collections.clone(),
            ..Default::default()
        };
        vec![
            b"ApproveChaincodeDefinitionForMyOrg".to_vec(),
            approve.encode_to_vec(),
        ]
    }

    fn commit_args(&self) -> lc::CommitChaincodeDefinitionArgs {
        lc::CommitChaincodeDefinitionArgs {
            sequence: self.sequence,
            name: self.name.clone(),
            version: self.version.clone(),
            validation_parameter: self.validation_parameter.clone(),
            collections: self.collections.clone(),
            ..Default::default()
        }
    }
}

/// Installs the package `bytes` (id `package_id`) on every peer of `org`
/// that does not have it yet.
pub async fn install(
    info: &NetworkInfo,
    org: &OrgInfo,
    bytes: &[u8],
    package_id: &str,
    progress: &impl Fn(&str),
) -> Result<(), NetworkError> {
    for (p, node) in org.peers.iter().enumerate() {
        let mut client = info.admin_client(org, p).await?;
        let installed =
            lifecycle_call(&mut client, "", "QueryInstalledChaincodes", Vec::new()).await?;
        let installed =
            lc::QueryInstalledChaincodesResult::decode(installed.as_slice()).map_err(deploy_err)?;
        if installed
            .installed_chaincodes
            .iter()
            .any(|c| c.package_id == package_id)
        {
            progress(&format!("{package_id} already installed on {}", node.name));
            continue;
        }
        progress(&format!("installing on {}", node.name));
        let arg = lc::InstallChaincodeArgs {
            chaincode_install_package: bytes.to_vec(),
        }
        .encode_to_vec();
        lifecycle_call(&mut client, "", "InstallChaincode", arg).await?;
    }
    Ok(())
}

/// The sequence the next definition of `name` takes (1 when none is committed).
pub async fn next_sequence(
    info: &NetworkInfo,
    org: &OrgInfo,
    name: &str,
) -> Result<i64, NetworkError> {
    Ok(match committed_definition(info, org, 0, name).await? {
        Some(d) => d.sequence + 1,
        None => 1,
    })
}

/// Approves `def` for `org` (as its admin, endorsed by its first peer).
pub async fn approve(
    info: &NetworkInfo,
    org: &OrgInfo,
    def: &Definition,
) -> Result<(), NetworkError> {
    let mut peers = vec![(
        org.peers[0].address.clone(),
        info.admin_client(org, 0).await?,
    )];
    order(info, org, &mut peers, def.approve_args()).await
}

/// Which organisations have approved `def`, as `org`'s first peer sees it
/// (`peer lifecycle chaincode checkcommitreadiness`).
pub async fn approvals(
    info: &NetworkInfo,
    org: &OrgInfo,
    def: &Definition,
) -> Result<std::collections::BTreeMap<String, bool>, NetworkError> {
    let c = def.commit_args();
    let arg = lc::CheckCommitReadinessArgs {
        sequence: c.sequence,
        name: c.name,
        version: c.version,
        validation_parameter: c.validation_parameter,
        collections: c.collections,
        ..Default::default()
    }
    .encode_to_vec();
    let mut client = info.admin_client(org, 0).await?;
    let bytes = lifecycle_call(&mut client, &info.channel, "CheckCommitReadiness", arg).await?;
    let result = lc::CheckCommitReadinessResult::decode(bytes.as_slice()).map_err(deploy_err)?;
    Ok(result.approvals.into_iter().collect())
}

/// Commits `def` as `as_org`'s admin, endorsed by the first peer of every
/// org, once each of those peers has caught up with the others (an
/// endorser still behind would have read other approvals).
pub async fn commit(
    info: &NetworkInfo,
    as_org: &OrgInfo,
    def: &Definition,
) -> Result<(), NetworkError> {
    let signer = weft_common::msp::folder::load_signing_identity(
        &as_org.admin.msp,
        &weft_common::ids::MspId::new(&as_org.msp_id),
    )?;
    let mut peers = Vec::new();
    for org in &info.orgs {
        let tls = weft_peer::admin::ClientTls {
            ca_pem: std::fs::read(&org.tls_ca).map_err(|e| NetworkError::io(&org.tls_ca, e))?,
            identity: Some(
                weft_common::tls::TlsIdentity::load(&as_org.admin.tls_cert, &as_org.admin.tls_key)
                    .map_err(deploy_err)?,
            ),
            server_name: None,
        };
        let address = org.peers[0].address.clone();
        let client = AdminClient::connect(&address, Some(tls), signer.clone()).await?;
        peers.push((address, client));
    }
    let mut top = 0;
    for (_, client) in &mut peers {
        top = top.max(client.chain_info(&info.channel).await?.height);
    }
    for (address, client) in &mut peers {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while client.chain_info(&info.channel).await?.height < top {
            if tokio::time::Instant::now() > deadline {
                return Err(NetworkError::Timeout(format!(
                    "{address} to reach height {top}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let args = vec![
        b"CommitChaincodeDefinition".to_vec(),
        def.commit_args().encode_to_vec(),
    ];
    order(info, as_org, &mut peers, args).await
}

/// Waits until every peer of `org` has `name` at `sequence` or later.
pub async fn wait_defined(
    info: &NetworkInfo,
    org: &OrgInfo,
    name: &str,
    sequence: i64,
) -> Result<(), NetworkError> {
    for p in 0..org.peers.len() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let seen = committed_definition(info, org, p, name).await?;
            if seen.is_some_and(|d| d.sequence >= sequence) {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(NetworkError::Timeout(format!(
                    "{} to commit {name} sequence {sequence}",
                    org.peers[p].name
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// Deploys `spec` on every org of `info`; `progress` hears each step.
pub async fn deploy(
    info: &NetworkInfo,
    spec: &DeploySpec,
    progress: impl Fn(&str),
) -> Result<Deployed, NetworkError> {
    // A policy that does not parse is refused before anything is installed.
    spec.validation_parameter()?;
    progress(&format!("packaging {} {}", spec.name, spec.version));
    let bytes = package_bytes(spec)?;
    let parsed = package::parse(&bytes)?;
    let package_id = package::package_id(&parsed.label, &bytes);
    for org in &info.orgs {
        install(info, org, &bytes, &package_id, &progress).await?;
    }
    let first = &info.orgs[0];
    let sequence = next_sequence(info, first, &spec.name).await?;
    let def = Definition::of(spec, &package_id, sequence)?;
    for org in &info.orgs {
        progress(&format!("approving sequence {sequence} for {}", org.msp_id));
        approve(info, org, &def).await?;
    }
    progress(&format!("committing {} sequence {sequence}", spec.name));
    commit(info, first, &def).await?;
    progress("waiting for every peer to have the definition");
    for org in &info.orgs {
        wait_defined(info, org, &spec.name, sequence).await?;
    }
    Ok(Deployed {
        name: spec.name.clone(),
        sequence,
        package_id,
    })
}
