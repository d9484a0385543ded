//! Fabric's channel ACL resources and their default policies.
//!
//! A channel's `ACLs` config value maps resource names to policy paths; a
//! resource missing from it falls back to these defaults (those of Fabric's
//! sample `configtx.yaml`).

/// `(resource, default policy path)` for every resource Fabric defines.
pub const DEFAULT_ACLS: &[(&str, &str)] = &[
    (
        "_lifecycle/CheckCommitReadiness",
        "/Channel/Application/Writers",
    ),
    (
        "_lifecycle/CommitChaincodeDefinition",
        "/Channel/Application/Writers",
    ),
    (
        "_lifecycle/QueryChaincodeDefinition",
        "/Channel/Application/Writers",
    ),
    (
        "_lifecycle/QueryChaincodeDefinitions",
        "/Channel/Application/Writers",
    ),
    ("lscc/ChaincodeExists", "/Channel/Application/Readers"),
    ("lscc/GetDeploymentSpec", "/Channel/Application/Readers"),
    ("lscc/GetChaincodeData", "/Channel/Application/Readers"),
    (
        "lscc/GetInstantiatedChaincodes",
        "/Channel/Application/Readers",
    ),
    ("qscc/GetChainInfo", "/Channel/Application/Readers"),
    ("qscc/GetBlockByNumber", "/Channel/Application/Readers"),
    ("qscc/GetBlockByHash", "/Channel/Application/Readers"),
    ("qscc/GetTransactionByID", "/Channel/Application/Readers"),
    ("qscc/GetBlockByTxID", "/Channel/Application/Readers"),
    ("cscc/GetConfigBlock", "/Channel/Application/Readers"),
    ("cscc/GetChannelConfig", "/Channel/Application/Readers"),
    ("peer/Propose", "/Channel/Application/Writers"),
    ("peer/ChaincodeToChaincode", "/Channel/Application/Writers"),
    ("event/Block", "/Channel/Application/Readers"),
    ("event/FilteredBlock", "/Channel/Application/Readers"),
];

/// The default policy path of a resource, if Fabric defines the resource.
pub fn default_policy(resource: &str) -> Option<&'static str> {
    DEFAULT_ACLS
        .iter()
        .find(|(r, _)| *r == resource)
        .map(|(_, p)| *p)
}
