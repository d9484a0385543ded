//! `weft-ca client ...`: Fabric CA's client: enroll into an MSP folder,
//! register, revoke, get CRLs.

use std::path::PathBuf;

use clap::Subcommand;

use super::affiliation::{AffiliationCmd, run_affiliation};
use super::identity::{IdentityCmd, run_identity};
use crate::protocol::{
    CrlResponse, EnrollRequest, EnrollResponse, RegisterRequest, RegisterResponse, RevokeRequest,
    RevokeResult,
};
use reqwest::Method;

#[derive(clap::Args)]
pub(crate) struct ClientArgs {
    /// The CA's URL; `enroll` takes the enrollment id and secret in it
    /// (`https://admin:adminpw@localhost:7054`).
    #[arg(
        short = 'u',
        long = "url",
        global = true,
        env = "FABRIC_CA_CLIENT_URL",
        default_value = "https://localhost:7054"
    )]
    pub(crate) url: String,
    /// The client's home.
    #[arg(
        short = 'H',
        long = "home",
        global = true,
        env = "FABRIC_CA_CLIENT_HOME",
        default_value = "."
    )]
    pub(crate) home: PathBuf,
    /// The MSP folder [default: <home>/msp].
    #[arg(short = 'M', long = "mspdir", global = true)]
    pub(crate) mspdir: Option<PathBuf>,
    /// PEM files of the CA's TLS root (e.g. its ca-cert.pem), comma-separated.
    #[arg(
        long = "tls.certfiles",
        global = true,
        env = "FABRIC_CA_CLIENT_TLS_CERTFILES",
        value_delimiter = ','
    )]
    pub(crate) tls_certfiles: Vec<PathBuf>,
}

#[derive(Subcommand)]
pub(crate) enum ClientCmd {
    /// Enroll (id and secret in --url) and write the MSP folder.
    Enroll {
        /// `tls` for a TLS certificate (written with tlscacerts/).
        #[arg(long = "enrollment.profile", default_value = "")]
        profile: String,
        /// Host names and addresses for the certificate (comma-separated).
        #[arg(long = "csr.hosts", value_delimiter = ',')]
        hosts: Vec<String>,
    },
    /// Get a new certificate with the current one.
    Reenroll,
    /// Write the CA's certificate chain into the MSP folder (cacerts/,
    /// intermediatecerts/) without enrolling, e.g. to build an org's MSP.
    Getcainfo {
        /// Which CA of the server (e.g. tlsca) [default: its default CA].
        #[arg(long, default_value = "")]
        caname: String,
    },
    /// Register a new identity (as the enrolled registrar); prints its secret.
    Register {
        /// Enrollment id.
        #[arg(long = "id.name")]
        name: String,
        /// Secret (generated when omitted).
        #[arg(long = "id.secret", default_value = "")]
        secret: String,
        /// Type: client, peer, orderer, admin.
        #[arg(long = "id.type", default_value = "client")]
        kind: String,
        /// Affiliation.
        #[arg(long = "id.affiliation", default_value = "")]
        affiliation: String,
        /// Attributes: name=value[:ecert],...
        #[arg(long = "id.attrs", default_value = "")]
        attrs: String,
        /// Enrollments allowed (0: the CA's default).
        #[arg(long = "id.maxenrollments", default_value_t = 0)]
        max_enrollments: i64,
    },
    /// Revoke an identity (-e) or one certificate (-s and -a).
    Revoke {
        /// Identity to revoke.
        #[arg(short = 'e', long = "revoke.name", default_value = "")]
        name: String,
        /// Serial of the certificate (hex).
        #[arg(short = 's', long = "revoke.serial", default_value = "")]
        serial: String,
        /// AKI of the certificate (hex).
        #[arg(short = 'a', long = "revoke.aki", default_value = "")]
        aki: String,
        /// Reason (keycompromise, superseded, ...).
        #[arg(short = 'r', long = "revoke.reason", default_value = "")]
        reason: String,
        /// Also write a fresh CRL to <msp>/crls/crl.pem.
        #[arg(long)]
        gencrl: bool,
    },
    /// Write the CA's current CRL to <msp>/crls/crl.pem.
    Gencrl,
    /// Turn a CRL into a channel config update adding it to an org's MSP,
    /// signed by that org's admin; write it, and/or submit it to an orderer.
    CrlUpdate {
        /// The channel.
        #[arg(long, default_value = "mychannel")]
        channel: String,
        /// The channel's newest config block (e.g. `weft-peer channel fetch config`).
        #[arg(long = "config-block")]
        config_block: PathBuf,
        /// The organisation whose MSP gets the CRL.
        #[arg(long)]
        mspid: String,
        /// The CRL [default: <msp>/crls/crl.pem].
        #[arg(long)]
        crl: Option<PathBuf>,
        /// MSP folder of the org admin who signs the update.
        #[arg(long = "admin-msp")]
        admin_msp: PathBuf,
        /// Write the signed envelope here.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Submit it to this orderer (`host:port`).
        #[arg(long)]
        orderer: Option<String>,
        /// The orderer's TLS CA certificate.
        #[arg(long = "orderer-tls-ca")]
        orderer_tls_ca: Option<PathBuf>,
        /// Client TLS certificate and key for the orderer (mutual TLS).
        #[arg(long = "tls-cert", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// Key of --tls-cert.
        #[arg(long = "tls-key")]
        tls_key: Option<PathBuf>,
    },
    /// Identities the registrar manages.
    Identity {
        #[command(subcommand)]
        command: IdentityCmd,
    },
    /// The affiliation tree (needs hf.AffiliationMgr).
    Affiliation {
        #[command(subcommand)]
        command: AffiliationCmd,
    },
}

pub(crate) fn write_crl(msp: &std::path::Path, b64: &str) -> Result<PathBuf, crate::CaError> {
    use base64::Engine;
    let pem = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| crate::CaError::api(502, 0, format!("the CA sent a bad CRL: {e}")))?;
    let path = msp.join("crls/crl.pem");
    std::fs::create_dir_all(msp.join("crls"))
        .map_err(|e| crate::CaError::Config(format!("{}: {e}", msp.display())))?;
    std::fs::write(&path, pem)
        .map_err(|e| crate::CaError::Config(format!("{}: {e}", path.display())))?;
    Ok(path)
}

pub(crate) async fn run_client(conn: ClientArgs, command: ClientCmd) -> Result<(), crate::CaError> {
    use crate::client::CaClient;
    let msp = conn.mspdir.clone().unwrap_or_else(|| conn.home.join("msp"));
    let client = CaClient::new(&conn.url, &conn.tls_certfiles)?;
    match command {
        ClientCmd::Enroll { profile, hosts } => {
            let (id, secret) = CaClient::credentials(&conn.url).ok_or_else(|| {
                crate::CaError::Config(
                    "enroll needs the id and secret in the URL: https://id:secret@host:port".into(),
                )
            })?;
            client.enroll(&id, &secret, &profile, &hosts, &msp).await?;
            eprintln!("enrolled '{id}': MSP written to {}", msp.display());
        }
        ClientCmd::Getcainfo { caname } => {
            client.getcainfo(&caname, &msp).await?;
            eprintln!("CA chain written to {}", msp.join("cacerts").display());
        }
        ClientCmd::Reenroll => {
            let me = CaClient::load(&msp)?;
            let fresh: EnrollResponse = client
                .send(
                    &me,
                    Method::POST,
                    "reenroll",
                    Some(&EnrollRequest {
                        certificate_request: crate::client::new_request_for(&msp)?,
                        ..Default::default()
                    }),
                )
                .await?;
            crate::client::store_reenrolled(&msp, &fresh)?;
            eprintln!("reenrolled: {}", msp.join("signcerts/cert.pem").display());
        }
        ClientCmd::Register {
            name,
            secret,
            kind,
            affiliation,
            attrs,
            max_enrollments,
        } => {
            let me = CaClient::load(&msp)?;
            let body = RegisterRequest {
                id: name,
                secret,
                kind,
                affiliation,
                attrs: crate::client::parse_attrs(&attrs)?,
                max_enrollments,
                caname: String::new(),
            };
            let r: RegisterResponse = client
                .send(&me, Method::POST, "register", Some(&body))
                .await?;
            println!("Password: {}", r.secret);
        }
        ClientCmd::Revoke {
            name,
            serial,
            aki,
            reason,
            gencrl,
        } => {
            let me = CaClient::load(&msp)?;
            let body = RevokeRequest {
                id: name,
                serial,
                aki,
                reason,
                gencrl,
                caname: String::new(),
            };
            let r: RevokeResult = client
                .send(&me, Method::POST, "revoke", Some(&body))
                .await?;
            for c in &r.revoked_certs {
                println!("revoked serial {} (AKI {})", c.serial, c.aki);
            }
            if gencrl {
                eprintln!("CRL written to {}", write_crl(&msp, &r.crl)?.display());
            }
        }
        ClientCmd::Gencrl => {
            let me = CaClient::load(&msp)?;
            let r: CrlResponse = client
                .send(&me, Method::POST, "gencrl", Some(&serde_json::json!({})))
                .await?;
            eprintln!("CRL written to {}", write_crl(&msp, &r.crl)?.display());
        }
        ClientCmd::CrlUpdate {
            channel,
            config_block,
            mspid,
            crl,
            admin_msp,
            output,
            orderer,
            orderer_tls_ca,
            tls_cert,
            tls_key,
        } => {
            use crate::crl_update;
            let read = |p: &std::path::Path| {
                std::fs::read(p)
                    .map_err(|e| crate::CaError::Config(format!("{}: {e}", p.display())))
            };
            let crl_path = crl.unwrap_or_else(|| msp.join("crls/crl.pem"));
            let config = crl_update::config_from_block(&read(&config_block)?)?;
            let admin = weft_common::msp::folder::load_signing_identity(
                &admin_msp,
                &weft_common::ids::MspId::new(&mspid),
            )?;
            let envelope = crl_update::crl_update_envelope(
                &channel,
                &config,
                &mspid,
                &read(&crl_path)?,
                &[&admin],
                &admin,
            )?;
            if let Some(out) = &output {
                use prost::Message;
                std::fs::write(out, envelope.encode_to_vec())
                    .map_err(|e| crate::CaError::Config(format!("{}: {e}", out.display())))?;
                eprintln!("signed config update written to {}", out.display());
            }
            if let Some(orderer) = &orderer {
                let tls = match &orderer_tls_ca {
                    Some(ca) => {
                        let identity = match (&tls_cert, &tls_key) {
                            (Some(c), Some(k)) => Some((read(c)?, read(k)?)),
                            _ => None,
                        };
                        Some(weft_common::node::dial::DialTls {
                            roots: vec![read(ca)?],
                            identity,
                            server_name: None,
                        })
                    }
                    None => None,
                };
                crl_update::submit(orderer, tls.as_ref(), envelope).await?;
                eprintln!(
                    "the orderer accepted the update: {mspid}'s MSP gets the CRL once it commits"
                );
            } else if output.is_none() {
                return Err(crate::CaError::Config(
                    "give --output, --orderer, or both".into(),
                ));
            }
        }
        ClientCmd::Identity { command } => {
            let me = CaClient::load(&msp)?;
            run_identity(&client, &me, command).await?;
        }
        ClientCmd::Affiliation { command } => {
            let me = CaClient::load(&msp)?;
            run_affiliation(&client, &me, command).await?;
        }
    }
    Ok(())
}
