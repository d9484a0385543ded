//! `weft-ca client affiliation ...`: the affiliation tree.

use clap::Subcommand;

use super::NO_BODY;
use crate::protocol::{AffiliationInfo, AffiliationRequest};

#[derive(Subcommand)]
pub(crate) enum AffiliationCmd {
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

/// Prints an affiliation tree, one name per line, indented by depth.
pub(crate) fn print_affiliations(a: &AffiliationInfo, depth: usize) {
    if !a.name.is_empty() {
        println!("{}affiliation: {}", "   ".repeat(depth), a.name);
    }
    for child in &a.affiliations {
        print_affiliations(child, depth + usize::from(!a.name.is_empty()));
    }
}

pub(crate) async fn run_affiliation(
    client: &crate::client::CaClient,
    me: &crate::client::MspIdentity,
    command: AffiliationCmd,
) -> Result<(), crate::CaError> {
    use reqwest::Method;
    match command {
        AffiliationCmd::List { affiliation } => {
            let api =
                affiliation.map_or("affiliations".to_string(), |a| format!("affiliations/{a}"));
            let tree: AffiliationInfo = client.send(me, Method::GET, &api, NO_BODY).await?;
            print_affiliations(&tree, 0);
        }
        AffiliationCmd::Add { name, force } => {
            client
                .request(
                    me,
                    Method::POST,
                    &format!("affiliations?force={force}"),
                    Some(&AffiliationRequest {
                        name: name.clone(),
                        caname: String::new(),
                    }),
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
                    Some(&AffiliationRequest {
                        name: new_name.clone(),
                        caname: String::new(),
                    }),
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
                    NO_BODY,
                )
                .await?;
            eprintln!("removed affiliation '{name}'");
        }
    }
    Ok(())
}
