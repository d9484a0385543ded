//! `weft-ca`: thin over the `weft_ca` library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use weft_ca::authority::Authority;
use weft_ca::config::ServerConfig;

#[derive(Parser)]
#[command(
    name = "weft-ca",
    version,
    about = "A certificate authority with Fabric CA's REST API (enroll, register), identities in SQLite."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

// Parsed once at start-up: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Cmd {
    /// The CA server.
    Server {
        #[command(subcommand)]
        command: ServerCmd,
    },
    /// Fabric CA's client: enroll into an MSP folder, register, revoke, get CRLs.
    Client {
        #[command(flatten)]
        conn: ClientArgs,
        #[command(subcommand)]
        command: ClientCmd,
    },
}

#[derive(clap::Args)]
struct ClientArgs {
    /// The CA's URL; `enroll` takes the enrollment id and secret in it
    /// (`https://admin:adminpw@localhost:7054`).
    #[arg(
        short = 'u',
        long = "url",
        global = true,
        env = "FABRIC_CA_CLIENT_URL",
        default_value = "https://localhost:7054"
    )]
    url: String,
    /// The client's home.
    #[arg(
        short = 'H',
        long = "home",
        global = true,
        env = "FABRIC_CA_CLIENT_HOME",
        default_value = "."
    )]
    home: PathBuf,
    /// The MSP folder [default: <home>/msp].
    #[arg(short = 'M', long = "mspdir", global = true)]
    mspdir: Option<PathBuf>,
    /// PEM files of the CA's TLS root (e.g. its ca-cert.pem), comma-separated.
    #[arg(
        long = "tls.certfiles",
        global = true,
        env = "FABRIC_CA_CLIENT_TLS_CERTFILES",
        value_delimiter = ','
    )]
    tls_certfiles: Vec<PathBuf>,
}

#[derive(Subcommand)]
enum ClientCmd {
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

#[derive(Subcommand)]
enum IdentityCmd {
    /// List them (or show one with --id).
    List {
        /// Only this identity.
        #[arg(long)]
        id: Option<String>,
    },
    /// Register an identity (as `register` does); prints its secret.
    Add {
        /// Enrollment id.
        id: String,
        #[command(flatten)]
        fields: IdentityFields,
    },
    /// Change an identity's type, affiliation, attributes (name= removes
    /// one), enrollment limit or secret.
    Modify {
        /// Enrollment id.
        id: String,
        #[command(flatten)]
        fields: IdentityFields,
    },
    /// Remove an identity and revoke its certificates (the CA must allow
    /// it: cfg.identities.allowremove).
    Remove {
        /// Enrollment id.
        id: String,
        /// Needed to remove yourself.
        #[arg(long)]
        force: bool,
    },
}

/// What `identity add` and `identity modify` set.
#[derive(clap::Args)]
struct IdentityFields {
    /// Type: client, peer, orderer, admin.
    #[arg(long = "type", default_value = "")]
    kind: String,
    /// Affiliation (`.` for the root, with modify).
    #[arg(long, default_value = "")]
    affiliation: String,
    /// Attributes: name=value[:ecert],...
    #[arg(long, default_value = "")]
    attrs: String,
    /// Secret.
    #[arg(long, default_value = "")]
    secret: String,
    /// Enrollments allowed (0: the CA's default, or unchanged).
    #[arg(long = "maxenrollments", default_value_t = 0)]
    max_enrollments: i64,
}

impl IdentityFields {
    fn body(&self, id: Option<&str>) -> Result<serde_json::Value, weft_ca::CaError> {
        let mut body = serde_json::json!({
            "type": self.kind, "affiliation": self.affiliation, "secret": self.secret,
            "attrs": weft_ca::client::parse_attrs(&self.attrs)?, "max_enrollments": self.max_enrollments,
        });
        if let Some(id) = id {
            body["id"] = id.into();
        }
        Ok(body)
    }
}

#[derive(Subcommand)]
enum AffiliationCmd {
    /// Show the affiliation tree below yours (or below --affiliation).
    List {
        /// Only this affiliation.
        #[arg(long)]
        affiliation: Option<String>,
    },
    /// Add an affiliation (--force adds missing parents).
    Add {
        /// Full dotted name, e.g. org1.department3.
        name: String,
        /// Also add missing parents.
        #[arg(long)]
        force: bool,
    },
    /// Rename an affiliation and everything below it.
    Modify {
        /// The affiliation.
        name: String,
        /// Its new name.
        #[arg(long = "name")]
        new_name: String,
        /// Needed when identities move with it.
        #[arg(long)]
        force: bool,
    },
    /// Remove an affiliation (the CA must allow it: cfg.affiliations.allowremove).
    Remove {
        /// The affiliation.
        name: String,
        /// Also remove the affiliations and identities below it.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum ServerCmd {
    /// Create the CA's key and certificate, the database and the bootstrap identity.
    Init(ServerArgs),
    /// Serve the REST API (initialising first if needed).
    Start(ServerArgs),
}

#[derive(clap::Args)]
struct ServerArgs {
    /// The CA's home: key, certificate, database.
    #[arg(long, short = 'H', env = "FABRIC_CA_SERVER_HOME", default_value = ".")]
    home: PathBuf,
    /// Config file [default: <home>/fabric-ca-server-config.yaml if present].
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Bootstrap identity `id:secret` (Fabric CA's -b).
    #[arg(long, short = 'b')]
    boot: Option<String>,
    /// Be an intermediate CA of this parent: `https://id:secret@host:port`
    /// (intermediate.parentserver.url; the identity needs hf.IntermediateCA).
    #[arg(long = "url", short = 'u')]
    parent: Option<String>,
    /// PEM files of the parent's TLS roots (intermediate.tls.certfiles).
    #[arg(long = "intermediate.tls.certfiles", value_delimiter = ',')]
    parent_tls: Vec<PathBuf>,
}

fn load(args: &ServerArgs) -> Result<ServerConfig, weft_ca::CaError> {
    let path = args
        .config
        .clone()
        .unwrap_or_else(|| args.home.join("fabric-ca-server-config.yaml"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) if args.config.is_none() => String::new(),
        Err(e) => return Err(weft_ca::CaError::Config(format!("{}: {e}", path.display()))),
    };
    std::fs::create_dir_all(&args.home)
        .map_err(|e| weft_ca::CaError::Config(format!("{}: {e}", args.home.display())))?;
    let mut config = ServerConfig::parse(&text, args.home.clone(), std::env::vars())?;
    if let Some(url) = &args.parent {
        config.intermediate.parentserver.url = url.clone();
    }
    if !args.parent_tls.is_empty() {
        config.intermediate.tls.certfiles = args.parent_tls.clone();
    }
    Ok(config)
}

/// `server init`: an intermediate first enrolls at its parent; then keys,
/// database and bootstrap identity.
async fn init(args: &ServerArgs) -> Result<ServerConfig, weft_ca::CaError> {
    let config = load(args)?;
    let b = boot(args)?;
    weft_ca::intermediate::enroll_from_parent(&config).await?;
    Authority::init(&config, b.as_ref().map(|(i, s)| (i.as_str(), s.as_str())))?;
    Ok(config)
}

fn boot(args: &ServerArgs) -> Result<Option<(String, String)>, weft_ca::CaError> {
    args.boot
        .as_deref()
        .map(|b| {
            b.split_once(':')
                .map(|(i, s)| (i.to_string(), s.to_string()))
                .ok_or_else(|| weft_ca::CaError::Config("-b wants id:secret".into()))
        })
        .transpose()
}

fn write_crl(msp: &std::path::Path, b64: &serde_json::Value) -> Result<PathBuf, weft_ca::CaError> {
    use base64::Engine;
    let pem = base64::engine::general_purpose::STANDARD
        .decode(b64.as_str().unwrap_or_default())
        .map_err(|e| weft_ca::CaError::api(502, 0, format!("the CA sent a bad CRL: {e}")))?;
    let path = msp.join("crls/crl.pem");
    std::fs::create_dir_all(msp.join("crls"))
        .map_err(|e| weft_ca::CaError::Config(format!("{}: {e}", msp.display())))?;
    std::fs::write(&path, pem)
        .map_err(|e| weft_ca::CaError::Config(format!("{}: {e}", path.display())))?;
    Ok(path)
}

async fn run_client(conn: ClientArgs, command: ClientCmd) -> Result<(), weft_ca::CaError> {
    use weft_ca::client::CaClient;
    let msp = conn.mspdir.clone().unwrap_or_else(|| conn.home.join("msp"));
    let client = CaClient::new(&conn.url, &conn.tls_certfiles)?;
    match command {
        ClientCmd::Enroll { profile, hosts } => {
            let (id, secret) = CaClient::credentials(&conn.url).ok_or_else(|| {
                weft_ca::CaError::Config(
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
            let fresh = client
                .call(
                    &me,
                    "reenroll",
                    Some(&serde_json::json!({
                        "certificate_request": weft_ca::client::new_request_for(&msp)?
                    })),
                )
                .await?;
            weft_ca::client::store_reenrolled(&msp, &fresh)?;
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
            let body = serde_json::json!({
                "id": name, "secret": secret, "type": kind, "affiliation": affiliation,
                "attrs": weft_ca::client::parse_attrs(&attrs)?, "max_enrollments": max_enrollments,
            });
            let r = client.call(&me, "register", Some(&body)).await?;
            println!("Password: {}", r["secret"].as_str().unwrap_or_default());
        }
        ClientCmd::Revoke {
            name,
            serial,
            aki,
            reason,
            gencrl,
        } => {
            let me = CaClient::load(&msp)?;
            let body = serde_json::json!({"id": name, "serial": serial, "aki": aki, "reason": reason, "gencrl": gencrl});
            let r = client.call(&me, "revoke", Some(&body)).await?;
            for c in r["RevokedCerts"].as_array().into_iter().flatten() {
                println!(
                    "revoked serial {} (AKI {})",
                    c["Serial"].as_str().unwrap_or(""),
                    c["AKI"].as_str().unwrap_or("")
                );
            }
            if gencrl {
                eprintln!("CRL written to {}", write_crl(&msp, &r["CRL"])?.display());
            }
        }
        ClientCmd::Gencrl => {
            let me = CaClient::load(&msp)?;
            let r = client
                .call(&me, "gencrl", Some(&serde_json::json!({})))
                .await?;
            eprintln!("CRL written to {}", write_crl(&msp, &r["CRL"])?.display());
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
            use weft_ca::crl_update;
            let read = |p: &std::path::Path| {
                std::fs::read(p)
                    .map_err(|e| weft_ca::CaError::Config(format!("{}: {e}", p.display())))
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
                    .map_err(|e| weft_ca::CaError::Config(format!("{}: {e}", out.display())))?;
                eprintln!("signed config update written to {}", out.display());
            }
            if let Some(orderer) = &orderer {
                let tls = match &orderer_tls_ca {
                    Some(ca) => {
                        let client_pair = match (&tls_cert, &tls_key) {
                            (Some(c), Some(k)) => Some((c.as_path(), k.as_path())),
                            _ => None,
                        };
                        Some(
                            weft_client_sdk::Tls::from_files(ca, client_pair)
                                .map_err(|e| weft_ca::CaError::Config(e.to_string()))?,
                        )
                    }
                    None => None,
                };
                crl_update::submit(orderer, tls.as_ref(), envelope).await?;
                eprintln!(
                    "the orderer accepted the update: {mspid}'s MSP gets the CRL once it commits"
                );
            } else if output.is_none() {
                return Err(weft_ca::CaError::Config(
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

fn print_identity(i: &serde_json::Value) {
    println!(
        "Name: {}, Type: {}, Affiliation: {}, Max Enrollments: {}, Attributes: {}",
        i["id"].as_str().unwrap_or(""),
        i["type"].as_str().unwrap_or(""),
        i["affiliation"].as_str().unwrap_or(""),
        i["max_enrollments"],
        i["attrs"]
    );
}

async fn run_identity(
    client: &weft_ca::client::CaClient,
    me: &weft_ca::client::MspIdentity,
    command: IdentityCmd,
) -> Result<(), weft_ca::CaError> {
    use reqwest::Method;
    match command {
        IdentityCmd::List { id: None } => {
            let r = client.call(me, "identities", None).await?;
            r["identities"]
                .as_array()
                .into_iter()
                .flatten()
                .for_each(print_identity);
        }
        IdentityCmd::List { id: Some(id) } => {
            print_identity(&client.call(me, &format!("identities/{id}"), None).await?);
        }
        IdentityCmd::Add { id, fields } => {
            let r = client
                .call(me, "identities", Some(&fields.body(Some(&id))?))
                .await?;
            println!("Password: {}", r["secret"].as_str().unwrap_or_default());
        }
        IdentityCmd::Modify { id, fields } => {
            let r = client
                .request(
                    me,
                    Method::PUT,
                    &format!("identities/{id}"),
                    Some(&fields.body(None)?),
                )
                .await?;
            print_identity(&r);
        }
        IdentityCmd::Remove { id, force } => {
            let r = client
                .request(
                    me,
                    Method::DELETE,
                    &format!("identities/{id}?force={force}"),
                    None,
                )
                .await?;
            eprintln!(
                "removed '{}'; its certificates are revoked",
                r["id"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

/// Prints an affiliation tree, one name per line, indented by depth.
fn print_affiliations(a: &serde_json::Value, depth: usize) {
    let name = a["name"].as_str().unwrap_or("");
    if !name.is_empty() {
        println!("{}affiliation: {name}", "   ".repeat(depth));
    }
    for child in a["affiliations"].as_array().into_iter().flatten() {
        print_affiliations(child, depth + usize::from(!name.is_empty()));
    }
}

async fn run_affiliation(
    client: &weft_ca::client::CaClient,
    me: &weft_ca::client::MspIdentity,
    command: AffiliationCmd,
) -> Result<(), weft_ca::CaError> {
    use reqwest::Method;
    match command {
        AffiliationCmd::List { affiliation } => {
            let api =
                affiliation.map_or("affiliations".to_string(), |a| format!("affiliations/{a}"));
            print_affiliations(&client.call(me, &api, None).await?, 0);
        }
        AffiliationCmd::Add { name, force } => {
            client
                .request(
                    me,
                    Method::POST,
                    &format!("affiliations?force={force}"),
                    Some(&serde_json::json!({"name": name})),
                )
                .await?;
            eprintln!("added affiliation '{name}'");
        }
        AffiliationCmd::Modify {
            name,
            new_name,
            force,
        } => {
            client
                .request(
                    me,
                    Method::PUT,
                    &format!("affiliations/{name}?force={force}"),
                    Some(&serde_json::json!({"name": new_name})),
                )
                .await?;
            eprintln!("renamed affiliation '{name}' to '{new_name}'");
        }
        AffiliationCmd::Remove { name, force } => {
            client
                .request(
                    me,
                    Method::DELETE,
                    &format!("affiliations/{name}?force={force}"),
                    None,
                )
                .await?;
            eprintln!("removed affiliation '{name}'");
        }
    }
    Ok(())
}

async fn run(cli: Cli) -> Result<(), weft_ca::CaError> {
    match cli.command {
        Cmd::Client { conn, command } => run_client(conn, command).await?,
        Cmd::Server { command } => match command {
            ServerCmd::Init(args) => {
                let config = init(&args).await?;
                println!("CA initialised in {}", config.home.display());
            }
            ServerCmd::Start(args) => {
                let config = init(&args).await?;
                let addr = config.listen()?;
                let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                    weft_ca::CaError::Config(format!("cannot listen on {addr}: {e}"))
                })?;
                let handle = weft_ca::server::start(config, listener).await?;
                eprintln!("weft-ca listening on {}", handle.addr);
                let _ = tokio::signal::ctrl_c().await;
                handle.shutdown().await;
            }
        },
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    weft_common::node::cli::run_async("info", run(cli))
}
