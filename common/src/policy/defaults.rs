//! Fabric's default channel policies (those of its sample `configtx.yaml`).

/// Policies of the `Channel`, `Application` and `Orderer` groups: `(name, implicit-meta rule)`.
pub const CHANNEL_POLICIES: &[(&str, &str)] = &[
    ("Readers", "ANY Readers"),
    ("Writers", "ANY Writers"),
    ("Admins", "MAJORITY Admins"),
];

/// Policies of the `Application` group.
pub const APPLICATION_POLICIES: &[(&str, &str)] = &[
    ("Readers", "ANY Readers"),
    ("Writers", "ANY Writers"),
    ("Admins", "MAJORITY Admins"),
    ("LifecycleEndorsement", "MAJORITY Endorsement"),
    ("Endorsement", "MAJORITY Endorsement"),
];

/// Policies of the `Orderer` group.
pub const ORDERER_POLICIES: &[(&str, &str)] = &[
    ("Readers", "ANY Readers"),
    ("Writers", "ANY Writers"),
    ("Admins", "MAJORITY Admins"),
    ("BlockValidation", "ANY Writers"),
];

/// Signature policies of an application (peer) organisation, `{msp}` standing for its MSP id.
pub const PEER_ORG_POLICIES: &[(&str, &str)] = &[
    ("Readers", "OR('{msp}.admin', '{msp}.peer', '{msp}.client')"),
    ("Writers", "OR('{msp}.admin', '{msp}.client')"),
    ("Admins", "OR('{msp}.admin')"),
    ("Endorsement", "OR('{msp}.peer')"),
];

/// Signature policies of an orderer organisation.
pub const ORDERER_ORG_POLICIES: &[(&str, &str)] = &[
    ("Readers", "OR('{msp}.member')"),
    ("Writers", "OR('{msp}.member')"),
    ("Admins", "OR('{msp}.admin')"),
];
