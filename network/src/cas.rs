//! Crypto from certificate authorities (`weft-network up --ca`): one
//! `weft-ca` per organisation, each with a separate TLS CA, and every
//! node's and user's MSP and TLS files enrolled from them into the same
//! layout `cryptogen` writes — so everything downstream is unchanged, and the
//! CAs keep running for registering and enrolling more identities.

use std::path::{Path, PathBuf};

use serde_json::json;
use weft_ca::client::{CaClient, MspIdentity};

use crate::info::CaInfo;
use crate::material::PortPlan;
use crate::{NetworkError, Topology};

/// The bootstrap registrar of every CA.
pub const BOOTSTRAP: (&str, &str) = ("admin", "adminpw");

/// A CA's failure, named after the CA (`ca-org1: enrolling peer0: …`).
fn ca_err(ca: &str, what: &str, e: weft_ca::CaError) -> NetworkError {
    if what.is_empty() {
        NetworkError::node(ca, e)
    } else {
        NetworkError::node(ca, format!("{what}: {e}"))
    }
}

/// The CAs of `t` under `dir` on `ports.cas`: the orderer org's, then each peer org's.
pub fn plan(t: &Topology, dir: &Path, ports: &PortPlan) -> Vec<CaInfo> {
    let orgs = std::iter::once(("orderer".to_string(), "example.com".to_string()))
        .chain((1..=t.orgs).map(|n| (format!("org{n}"), format!("org{n}.example.com"))));
    orgs.zip(&ports.cas)
        .map(|((short, domain), port)| CaInfo {
            name: format!("ca-{short}"),
            address: format!("127.0.0.1:{port}"),
            home: dir.join("cas").join(&short),
            log: dir.join("logs").join(format!("ca-{short}.log")),
            registrar: dir.join("cas").join(&short).join("registrar/msp"),
            domain,
        })
        .collect()
}

/// The server configuration (`fabric-ca-server-config.yaml`) of `ca`:
/// its port, names, subject, and a separate TLS CA.
pub fn server_config(ca: &CaInfo) -> String {
    let port = ca.address.rsplit(':').next().unwrap_or("7054");
    format!(
        "port: {port}\naddress: 127.0.0.1\nca:\n  name: {name}\ncsr:\n  cn: ca.{domain}\n  o: {domain}\n\
         tls:\n  enabled: true\n  hosts: [localhost, 127.0.0.1]\ntlsca:\n  enabled: true\n  cn: tlsca.{domain}\n\
         affiliations: {{}}\n",
        name = ca.name,
        domain = ca.domain,
    )
}

/// Starts `ca` inside this process on `listener` (initialising its home
/// with the bootstrap admin first).
pub async fn start_in_process(
    ca: &CaInfo,
    listener: tokio::net::TcpListener,
) -> Result<weft_ca::server::CaHandle, NetworkError> {
    std::fs::create_dir_all(&ca.home).map_err(|e| NetworkError::io(&ca.home, e))?;
    let config = weft_ca::config::ServerConfig::parse(
        &server_config(ca),
        ca.home.clone(),
        std::iter::empty(),
    )
    .map_err(|e| ca_err(&ca.name, "", e))?;
    weft_ca::authority::Authority::init(&config, Some(BOOTSTRAP))
        .map_err(|e| ca_err(&ca.name, "", e))?;
    weft_ca::server::start(config, listener)
        .await
        .map_err(|e| ca_err(&ca.name, "", e))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), NetworkError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| NetworkError::io(dir, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| NetworkError::io(path, e))
}

fn read(path: &Path) -> Result<Vec<u8>, NetworkError> {
    std::fs::read(path).map_err(|e| NetworkError::io(path, e))
}

/// The one file in `dir`.
fn only_file(dir: &Path) -> Result<PathBuf, NetworkError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| NetworkError::io(dir, e))?
        .flatten()
        .map(|e| e.path())
        .collect();
    match files.len() {
        1 => Ok(files.remove(0)),
        n => Err(NetworkError::io(
            dir,
            format!("expected one file, found {n}"),
        )),
    }
}

/// One org's CA, with its registrar enrolled.
struct OrgCa {
    /// The CA's name, for errors.
    name: String,
    client: CaClient,
    registrar: MspIdentity,
    /// Its root CA and TLS CA certificates (PEM).
    root: Vec<u8>,
    tls_root: Vec<u8>,
}

impl OrgCa {
    async fn connect(ca: &CaInfo) -> Result<Self, NetworkError> {
        let client =
            CaClient::new(&ca.url(), &[ca.tls_root()]).map_err(|e| ca_err(&ca.name, "", e))?;
        let registrar = client
            .enroll(BOOTSTRAP.0, BOOTSTRAP.1, "", &[], &ca.registrar)
            .await
            .map_err(|e| ca_err(&ca.name, "enrolling the bootstrap admin", e))?;
        let root = read(&only_file(&ca.registrar.join("cacerts"))?)?;
        let tls_root = client
            .ca_chain("tlsca")
            .await
            .map_err(|e| ca_err(&ca.name, "asking for the TLS CA's certificate", e))?
            .into_bytes();
        Ok(Self {
            name: ca.name.clone(),
            client,
            registrar,
            root,
            tls_root,
        })
    }

    /// Registers `id` as `kind` with secret `secret`.
    async fn register(&self, id: &str, kind: &str, secret: &str) -> Result<(), NetworkError> {
        self.client
            .call(
                &self.registrar,
                "register",
                Some(&json!({ "id": id, "type": kind, "secret": secret })),
            )
            .await
            .map_err(|e| ca_err(&self.name, &format!("registering {id}"), e))?;
        Ok(())
    }

    /// Registers and enrolls `id` into `base`: `msp/` (with NodeOUs) and
    /// `tls/` (`<tls_name>.crt`, `<tls_name>.key`, `ca.crt`) valid for `hosts`.
    async fn enroll_into(
        &self,
        id: &str,
        kind: &str,
        hosts: &[String],
        base: &Path,
        tls_name: &str,
    ) -> Result<(), NetworkError> {
        let secret = format!("{id}pw");
        self.register(id, kind, &secret).await?;
        let msp = base.join("msp");
        self.client
            .enroll(id, &secret, "", &[], &msp)
            .await
            .map_err(|e| ca_err(&self.name, &format!("enrolling {id}"), e))?;
        let root_file = only_file(&msp.join("cacerts"))?;
        let root_name = root_file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        write(
            &msp.join("config.yaml"),
            weft_configtx::cryptogen::node_ou_config(&root_name).as_bytes(),
        )?;
        // Nodes take the TLS roots of their own org from their local MSP.
        write(&msp.join("tlscacerts/ca.pem"), &self.tls_root)?;
        let staging = base.join("tls-enrollment");
        self.client
            .enroll(id, &secret, "tls", hosts, &staging)
            .await
            .map_err(|e| ca_err(&self.name, &format!("enrolling {id}'s TLS certificate"), e))?;
        let tls = base.join("tls");
        write(
            &tls.join(format!("{tls_name}.crt")),
            &read(&staging.join("signcerts/cert.pem"))?,
        )?;
        let key = tls.join(format!("{tls_name}.key"));
        weft_common::crypto::write_private_key(
            &key,
            &read(&only_file(&staging.join("keystore"))?)?,
        )
        .map_err(|e| NetworkError::io(&key, e))?;
        write(&tls.join("ca.crt"), &self.tls_root)?;
        std::fs::remove_dir_all(&staging).map_err(|e| NetworkError::io(&staging, e))?;
        Ok(())
    }

    /// The organisation's own MSP folder (what goes into channel config)
    /// and its `ca/` and `tlsca/` certificates, under `base`.
    fn write_org(&self, base: &Path, domain: &str) -> Result<(), NetworkError> {
        let msp = base.join("msp");
        write(&msp.join("cacerts/ca.pem"), &self.root)?;
        write(&msp.join("tlscacerts/ca.pem"), &self.tls_root)?;
        write(
            &msp.join("config.yaml"),
            weft_configtx::cryptogen::node_ou_config("ca.pem").as_bytes(),
        )?;
        write(&base.join(format!("ca/ca.{domain}-cert.pem")), &self.root)?;
        write(
            &base.join(format!("tlsca/tlsca.{domain}-cert.pem")),
            &self.tls_root,
        )?;
        Ok(())
    }
}

/// Enrolls every identity of `t` from the running `cas` (see [`plan`]) into
/// `dir/crypto`, in `cryptogen`'s layout: nodes' `msp/` and `tls/`, each
/// org's `Admin@` and `User1@`, and the orgs' MSP folders.
pub async fn enroll_crypto(
    t: &Topology,
    dir: &Path,
    cas: &[CaInfo],
    progress: &impl Fn(&str),
) -> Result<(), NetworkError> {
    let hosts = |name: &str| vec![name.to_string(), "localhost".into(), "127.0.0.1".into()];
    for (n, ca) in cas.iter().enumerate() {
        progress(&format!(
            "enrolling {}'s identities from {}",
            ca.domain, ca.name
        ));
        let org_ca = OrgCa::connect(ca).await?;
        let (base, node_kind, nodes) = if n == 0 {
            let names = (0..t.orderers)
                .map(|i| format!("{}.example.com", t.orderer_host(i)))
                .collect::<Vec<_>>();
            (
                dir.join("crypto/ordererOrganizations/example.com"),
                ("orderers", "orderer"),
                names,
            )
        } else {
            let names = (0..t.peers_per_org)
                .map(|p| format!("peer{p}.{}", ca.domain))
                .collect();
            (
                dir.join(format!("crypto/peerOrganizations/{}", ca.domain)),
                ("peers", "peer"),
                names,
            )
        };
        org_ca.write_org(&base, &ca.domain)?;
        for name in &nodes {
            let id = name.split('.').next().unwrap_or(name);
            org_ca
                .enroll_into(
                    id,
                    node_kind.1,
                    &hosts(name),
                    &base.join(node_kind.0).join(name),
                    "server",
                )
                .await?;
        }
        // The orderer org has an admin; peer orgs an admin and a user.
        let users = [("Admin", "admin"), ("User1", "client")];
        let short = ca.name.trim_start_matches("ca-");
        for (user, kind) in users.iter().take(if n == 0 { 1 } else { 2 }) {
            let id = format!("{short}{}", user.to_lowercase());
            org_ca
                .enroll_into(
                    &id,
                    kind,
                    &[],
                    &base.join(format!("users/{user}@{}", ca.domain)),
                    "client",
                )
                .await?;
        }
    }
    Ok(())
}
