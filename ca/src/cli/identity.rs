//! `weft-ca client identity ...`: list, add, modify and remove identities.

use clap::Subcommand;

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
    fn body(&self, id: Option<&str>) -> Result<serde_json::Value, crate::CaError> {
        let mut body = serde_json::json!({
            "type": self.kind, "affiliation": self.affiliation, "secret": self.secret,
            "attrs": crate::client::parse_attrs(&self.attrs)?, "max_enrollments": self.max_enrollments,
        });
        if let Some(id) = id {
            body["id"] = id.into();
        }
        Ok(body)
    }
}

pub(crate) fn print_identity(i: &serde_json::Value) {
    println!(
        "Name: {}, Type: {}, Affiliation: {}, Max Enrollments: {}, Attributes: {}",
        i["id"].as_str().unwrap_or(""),
        i["type"].as_str().unwrap_or(""),
        i["affiliation"].as_str().unwrap_or(""),
        i["max_enrollments"],
        i["attrs"]
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
