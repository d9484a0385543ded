//! `_lifecycle` as a system chaincode, with Fabric's functions and argument
//! messages. Channel functions simulate against the ledger and record a
//! Fabric read/write set: approvals are private writes to the approving org's
//! implicit collection (hashes on the chain, values on its peers), commits
//! are public writes after reading every org's approval hashes.

use std::collections::BTreeMap;

use prost::Message;
use weft_common::config::ChannelConfig;
use weft_protos::lifecycle::{
    ApproveChaincodeDefinitionForMyOrgArgs, ApproveChaincodeDefinitionForMyOrgResult,
    ChaincodeSource, CheckCommitReadinessArgs, CheckCommitReadinessResult,
    CommitChaincodeDefinitionArgs, CommitChaincodeDefinitionResult,
    QueryApprovedChaincodeDefinitionArgs, QueryApprovedChaincodeDefinitionResult,
    QueryChaincodeDefinitionArgs, QueryChaincodeDefinitionResult, QueryChaincodeDefinitionsResult,
    StateMetadata, chaincode_source, query_chaincode_definitions_result,
};

use super::NAMESPACE;

/// The legacy lifecycle's namespace, read (never written) where Fabric reads it.
const LEGACY_NAMESPACE: &str = "lscc";
use super::collections;
use super::layout::{self, NAMESPACES, Parameters};
use crate::chaincode::{Simulator, StateReader, TxSimulator};
use crate::refusal::{Refusal, err, internal};

fn decode<M: Message + Default>(function: &str, bytes: Option<&Vec<u8>>) -> Result<M, Refusal> {
    M::decode(bytes.map_or(&[][..], |b| b.as_slice())).map_err(|e| {
        err(
            400,
            format!("{function}: the argument does not decode: {e}"),
        )
    })
}

/// The definition parameters of an Approve, Commit or CheckCommitReadiness
/// request (the three messages share these fields), with Fabric's defaults.
macro_rules! parameters {
    ($a:expr) => {
        Parameters {
            version: $a.version,
            endorsement_plugin: $a.endorsement_plugin,
            validation_plugin: $a.validation_plugin,
            validation_parameter: $a.validation_parameter,
            collections: $a.collections.unwrap_or_default(),
            init_required: $a.init_required,
        }
        .with_defaults()
    };
}

/// A new definition must take the next sequence.
fn require_next(requested: i64, current: i64) -> Result<(), Refusal> {
    if requested == current + 1 {
        Ok(())
    } else {
        Err(err(
            400,
            format!(
                "requested sequence is {requested}, but new definition must be sequence {}",
                current + 1
            ),
        ))
    }
}

/// Fabric's rule for chaincode names (which `_lifecycle` itself breaks).
fn check_name(name: &str) -> Result<(), Refusal> {
    weft_common::ids::ChaincodeName::parse(name)
        .map(|_| ())
        .map_err(|e| err(400, e.to_string()))
}

/// What the lifecycle functions run with.
pub struct Lifecycle<'a, R: StateReader> {
    /// The simulation of this proposal.
    pub sim: &'a mut Simulator<R>,
    /// The channel's config.
    pub config: &'a ChannelConfig,
    /// The MSP id of this peer's org.
    pub my_org: &'a str,
}

/// A committed definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// Its sequence.
    pub sequence: i64,
    /// Its parameters.
    pub parameters: Parameters,
}

impl<R: StateReader> Lifecycle<'_, R> {
    fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>, Refusal> {
        self.sim.get_state(NAMESPACE, key).map_err(internal)
    }

    /// The committed definition of `name` (recording the reads, as Fabric does).
    pub fn committed(&mut self, name: &str) -> Result<Option<Committed>, Refusal> {
        let sequence = self
            .get(&layout::field_key(NAMESPACES, name, "Sequence"))?
            .and_then(|v| layout::data_int(&v));
        let meta = self.get(&layout::metadata_key(NAMESPACES, name))?;
        let (Some(sequence), Some(_)) = (sequence, meta) else {
            return Ok(None);
        };
        let field = |me: &mut Self, f: &str| -> Result<Vec<u8>, Refusal> {
            me.get(&layout::field_key(NAMESPACES, name, f))?
                .ok_or_else(|| err(500, format!("definition of {name} lacks {f}")))
        };
        let (e, v, c) = (
            field(self, "EndorsementInfo")?,
            field(self, "ValidationInfo")?,
            field(self, "Collections")?,
        );
        let parameters = Parameters::from_fields(&e, &v, &c)
            .ok_or_else(|| err(500, format!("definition of {name} does not decode")))?;
        Ok(Some(Committed {
            sequence,
            parameters,
        }))
    }

    /// A valid name and the sequence after the committed one (a new definition's rule).
    fn check_next(&mut self, name: &str, sequence: i64) -> Result<(), Refusal> {
        check_name(name)?;
        let current = self.committed_sequence(name)?;
        require_next(sequence, current)
    }

    /// The committed definition of `name` as Fabric's `validateInput` looks it
    /// up for an approval or a commit: from `_lifecycle`, and when it is not
    /// defined there, from the legacy lifecycle's `lscc` namespace (which weft
    /// never writes, but Fabric's endorsers record the read, so weft does too).
    fn committed_or_legacy(&mut self, name: &str) -> Result<Option<Committed>, Refusal> {
        let current = self.committed(name)?;
        if current.is_none() {
            self.sim
                .get_state(LEGACY_NAMESPACE, name)
                .map_err(internal)?;
        }
        Ok(current)
    }

    /// Checks a proposed definition's collections against the channel and
    /// against the committed definition (Fabric's `validateInput`); returns
    /// the committed definition.
    fn checked_collections(
        &mut self,
        name: &str,
        p: &Parameters,
    ) -> Result<Option<Committed>, Refusal> {
        collections::validate(&p.collections, self.config)?;
        let current = self.committed_or_legacy(name)?;
        if let Some(c) = &current {
            collections::validate_against_committed(&p.collections, &c.parameters.collections)?;
        }
        Ok(current)
    }

    fn committed_sequence(&mut self, name: &str) -> Result<i64, Refusal> {
        let s = self
            .get(&layout::field_key(NAMESPACES, name, "Sequence"))?
            .and_then(|v| layout::data_int(&v))
            .unwrap_or(0);
        self.get(&layout::metadata_key(NAMESPACES, name))?;
        Ok(s)
    }

    /// Whether each application org approved exactly these parameters
    /// (compared by hash in its implicit collection).
    fn approvals(
        &mut self,
        name: &str,
        sequence: i64,
        p: &Parameters,
    ) -> Result<BTreeMap<String, bool>, Refusal> {
        let orgs: Vec<String> = self
            .config
            .application
            .as_ref()
            .map(|a| a.orgs.keys().map(|m| m.to_string()).collect())
            .unwrap_or_default();
        let expected = layout::approval(name, sequence, p);
        let mut out = BTreeMap::new();
        for org in orgs {
            let coll = layout::implicit_collection(&org);
            let mut agreed = true;
            for (key, value) in &expected {
                let have = self
                    .sim
                    .private_hash(NAMESPACE, &coll, key)
                    .map_err(internal)?;
                agreed &= have.as_deref() == Some(weft_common::crypto::sha256(value).as_slice());
            }
            out.insert(org, agreed);
        }
        Ok(out)
    }

    /// Runs a channel function of `_lifecycle`; returns the result message's bytes.
    pub fn invoke(&mut self, function: &str, args: &[Vec<u8>]) -> Result<Vec<u8>, Refusal> {
        let arg = args.get(1);
        match function {
            "ApproveChaincodeDefinitionForMyOrg" => {
                let a: ApproveChaincodeDefinitionForMyOrgArgs = decode(function, arg)?;
                check_name(&a.name)?;
                let p = parameters!(a);
                let current = self.checked_collections(&a.name, &p)?;
                let current_seq = current.as_ref().map_or(0, |c| c.sequence);
                if a.sequence == current_seq {
                    if current.is_some_and(|c| c.parameters != p) {
                        return Err(err(
                            400,
                            format!(
                                "attempted to redefine the current committed sequence ({current_seq}) for namespace {} with different parameters",
                                a.name
                            ),
                        ));
                    }
                } else {
                    require_next(a.sequence, current_seq)?;
                }
                let package = match a.source.and_then(|s| s.r#type) {
                    Some(chaincode_source::Type::LocalPackage(l)) => Some(l.package_id),
                    _ => None,
                };
                let coll = layout::implicit_collection(self.my_org);
                let private_name = format!("{}#{}", a.name, a.sequence);
                for prefix in [layout::CHAINCODE_SOURCES, NAMESPACES] {
                    self.sim
                        .private_hash(
                            NAMESPACE,
                            &coll,
                            &layout::metadata_key(prefix, &private_name),
                        )
                        .map_err(internal)?;
                }
                for (k, v) in layout::approval(&a.name, a.sequence, &p).into_iter().chain(
                    layout::package_choice(&a.name, a.sequence, package.as_deref()),
                ) {
                    self.sim.put_private(NAMESPACE, &coll, &k, v);
                }
                Ok(ApproveChaincodeDefinitionForMyOrgResult {}.encode_to_vec())
            }
            "CommitChaincodeDefinition" => {
                let a: CommitChaincodeDefinitionArgs = decode(function, arg)?;
                check_name(&a.name)?;
                let p = parameters!(a);
                let current = self.checked_collections(&a.name, &p)?;
                require_next(a.sequence, current.map_or(0, |c| c.sequence))?;
                let approvals = self.approvals(&a.name, a.sequence, &p)?;
                if !approvals.get(self.my_org).copied().unwrap_or(false) {
                    return Err(err(
                        400,
                        format!(
                            "chaincode definition not agreed to by this org ({}); approvals: {}",
                            self.my_org,
                            describe(&approvals)
                        ),
                    ));
                }
                for (k, v) in layout::definition(&a.name, a.sequence, &p) {
                    self.sim.put_state(NAMESPACE, &k, v).map_err(internal)?;
                }
                Ok(CommitChaincodeDefinitionResult {}.encode_to_vec())
            }
            "CheckCommitReadiness" => {
                let a: CheckCommitReadinessArgs = decode(function, arg)?;
                self.check_next(&a.name, a.sequence)?;
                let p = parameters!(a);
                Ok(CheckCommitReadinessResult {
                    approvals: self
                        .approvals(&a.name, a.sequence, &p)?
                        .into_iter()
                        .collect(),
                    mismatches: Default::default(),
                }
                .encode_to_vec())
            }
            "QueryChaincodeDefinition" => {
                let a: QueryChaincodeDefinitionArgs = decode(function, arg)?;
                let c = self
                    .committed(&a.name)?
                    .ok_or_else(|| err(404, format!("namespace {} is not defined", a.name)))?;
                let approvals = self.approvals(&a.name, c.sequence, &c.parameters)?;
                let p = c.parameters;
                Ok(QueryChaincodeDefinitionResult {
                    sequence: c.sequence,
                    version: p.version,
                    endorsement_plugin: p.endorsement_plugin,
                    validation_plugin: p.validation_plugin,
                    validation_parameter: p.validation_parameter,
                    collections: Some(p.collections),
                    init_required: p.init_required,
                    approvals: approvals.into_iter().collect(),
                }
                .encode_to_vec())
            }
            "QueryChaincodeDefinitions" => {
                let prefix = format!("{NAMESPACES}/metadata/");
                let end = format!("{NAMESPACES}/metadata0");
                let entries = self
                    .sim
                    .get_range(NAMESPACE, &prefix, &end)
                    .map_err(internal)?;
                let mut out = Vec::new();
                for (key, value) in entries {
                    let is_definition = StateMetadata::decode(value.as_slice())
                        .is_ok_and(|m| m.datatype == "ChaincodeDefinition");
                    let name = &key[prefix.len()..];
                    if !is_definition || name.contains('#') {
                        continue;
                    }
                    if let Some(c) = self.committed(name)? {
                        let p = c.parameters;
                        out.push(query_chaincode_definitions_result::ChaincodeDefinition {
                            name: name.to_string(),
                            sequence: c.sequence,
                            version: p.version,
                            endorsement_plugin: p.endorsement_plugin,
                            validation_plugin: p.validation_plugin,
                            validation_parameter: p.validation_parameter,
                            collections: Some(p.collections),
                            init_required: p.init_required,
                        });
                    }
                }
                Ok(QueryChaincodeDefinitionsResult {
                    chaincode_definitions: out,
                }
                .encode_to_vec())
            }
            "QueryApprovedChaincodeDefinition" => {
                let a: QueryApprovedChaincodeDefinitionArgs = decode(function, arg)?;
                let sequence = if a.sequence > 0 {
                    a.sequence
                } else {
                    let current = self.committed_sequence(&a.name)?;
                    if self.approved(&a.name, current + 1)?.is_some() {
                        current + 1
                    } else {
                        current
                    }
                };
                let (p, package) = self.approved(&a.name, sequence)?.ok_or_else(|| {
                    err(404, format!(
                        "could not fetch approved chaincode definition (name: '{}', sequence: '{sequence}') on this peer",
                        a.name
                    ))
                })?;
                Ok(QueryApprovedChaincodeDefinitionResult {
                    sequence,
                    version: p.version,
                    endorsement_plugin: p.endorsement_plugin,
                    validation_plugin: p.validation_plugin,
                    validation_parameter: p.validation_parameter,
                    collections: Some(p.collections),
                    init_required: p.init_required,
                    source: Some(ChaincodeSource {
                        r#type: Some(match package {
                            Some(package_id) => chaincode_source::Type::LocalPackage(
                                weft_protos::lifecycle::chaincode_source::Local { package_id },
                            ),
                            None => chaincode_source::Type::Unavailable(
                                weft_protos::lifecycle::chaincode_source::Unavailable {},
                            ),
                        }),
                    }),
                }
                .encode_to_vec())
            }
            other => Err(err(
                400,
                format!("_lifecycle has no channel function {other}"),
            )),
        }
    }

    /// This org's approval of `name` at `sequence`, from the private data this peer holds.
    pub fn approved(
        &mut self,
        name: &str,
        sequence: i64,
    ) -> Result<Option<(Parameters, Option<String>)>, Refusal> {
        let coll = layout::implicit_collection(self.my_org);
        let private_name = format!("{name}#{sequence}");
        let mut field = |f: &str| -> Result<Option<Vec<u8>>, Refusal> {
            self.sim
                .get_private(
                    NAMESPACE,
                    &coll,
                    &layout::field_key(NAMESPACES, &private_name, f),
                )
                .map_err(internal)
        };
        let (Some(e), Some(v), Some(c)) = (
            field("EndorsementInfo")?,
            field("ValidationInfo")?,
            field("Collections")?,
        ) else {
            return Ok(None);
        };
        let p = Parameters::from_fields(&e, &v, &c)
            .ok_or_else(|| err(500, format!("approval of {private_name} does not decode")))?;
        let package = self
            .sim
            .get_private(
                NAMESPACE,
                &coll,
                &layout::field_key(layout::CHAINCODE_SOURCES, &private_name, "PackageID"),
            )
            .map_err(internal)?
            .and_then(|v| layout::data_string(&v));
        Ok(Some((p, package)))
    }
}

fn describe(approvals: &BTreeMap<String, bool>) -> String {
    approvals
        .iter()
        .map(|(org, ok)| format!("{org}: {ok}"))
        .collect::<Vec<_>>()
        .join(", ")
}
