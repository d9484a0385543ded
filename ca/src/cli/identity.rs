//! `weft-ca client identity ...`: list, add, modify and remove identities.

use clap::Subcommand;

use super::NO_BODY;
use crate::protocol::{
    IdentitiesResponse, IdentityInfo, ModifyRequest, RegisterRequest, RegisterResponse,
};

#[derive(Subcommand)]
pub(crate) enum IdentityCmd {
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
pub(crate) struct IdentityFields {
    /// Type: client, peer, orderer, admin.
    #[arg(long = "type", default_value = "")]
    pub(crate) kind: String,
    /// Affiliation (`.` for the root, with modify).
    #[arg(long, default_value = "")]
    pub(crate) affiliation: String,
    /// Attributes: name=value[:ecert],...
    #[arg(long, default_value = "")]
    pub(crate) attrs: String,
    /// Secret.
    #[arg(long, default_value = "")]
    pub(crate) secret: String,
    /// Enrollments allowed (0: the CA's default, or unchanged).
    #[arg(long = "maxenrollments", default_value_t = 0)]
    pub(crate) max_enrollments: i64,
}

impl IdentityFields {
    /// What `identity add` registers.
    fn register(&self, id: &str) -> Result<RegisterRequest, crate::CaError> {
        Ok(RegisterRequest {
            id: id.to_string(),
            kind: self.kind.clone(),
            secret: self.secret.clone(),
            max_enrollments: self.max_enrollments,
            affiliation: self.affiliation.clone(),
            attrs: crate::client::parse_attrs(&self.attrs)?,
            caname: String::new(),
        })
    }

    /// What `identity modify` changes.
    fn modify(&self) -> Result<ModifyRequest, crate::CaError> {
        Ok(ModifyRequest {
            kind: self.kind.clone(),
            affiliation: self.affiliation.clone(),
            attrs: crate::client::parse_attrs(&self.attrs)?,
            max_enrollments: self.max_enrollments,
            secret: self.secret.clone(),
            caname: String::new(),
        })
    }
}

pub(crate) fn print_identity(i: &IdentityInfo) {
    println!(
        "Name: {}, Type: {}, Affiliation: {}, Max Enrollments: {}, Attributes: {}",
        i.id,
        i.kind,
        i.affiliation,
        i.max_enrollments,
        serde_json::to_string(&i.attrs).unwrap_or_default()
    );
}

pub(crate) async fn run_identity(
    client: &crate::client::CaClient,
    me: &crate::client::MspIdentity,
    command: IdentityCmd,
) -> Result<(), crate::CaError> {
    use reqwest::Method;
    match command {
        IdentityCmd::List { id: None } => {
            let r: IdentitiesResponse = client.send(me, Method::GET, "identities", NO_BODY).await?;
            r.identities.iter().for_each(print_identity);
        }
        IdentityCmd::List { id: Some(id) } => {
            let i: IdentityInfo = client
                .send(me, Method::GET, &format!("identities/{id}"), NO_BODY)
                .await?;
            print_identity(&i);
        }
        IdentityCmd::Add { id, fields } => {
            let r: RegisterResponse = client
                .send(me, Method::POST, "identities", Some(&fields.register(&id)?))
                .await?;
            println!("Password: {}", r.secret);
        }
        IdentityCmd::Modify { id, fields } => {
            let i: IdentityInfo = client
                .send(
                    me,
                    Method::PUT,
                    &format!("identities/{id}"),
                    Some(&fields.modify()?),
                )
                .await?;
            print_identity(&i);
        }
        IdentityCmd::Remove { id, force } => {
            let r: IdentityInfo = client
                .send(
                    me,
                    Method::DELETE,
                    &format!("identities/{id}?force={force}"),
                    NO_BODY,
                )
                .await?;
            eprintln!("removed '{}'; its certificates are revoked", r.id);
        }
    }
    Ok(())
}
