use super::*;

const YAML: &str = "
General:
  ListenAddress: 0.0.0.0:7050
  TLS: { Certificate: tls/server.crt, PrivateKey: tls/server.key }
  LocalMSPDir: msp
  LocalMSPID: OrdererMSP
Admin:
  ListenAddress: 127.0.0.1:7053
  TLS: { Certificate: tls/server.crt, PrivateKey: tls/server.key, ClientRootCAs: [tlsca.pem] }
FileLedger: { Location: data }
";

/// An orderer.yaml as a Fabric operator writes it for the test network:
/// Fabric's keys and layout, with settings weft does not implement.
const FABRIC_STYLE: &str = "
General:
    ListenAddress: 0.0.0.0
    ListenPort: 7050
    TLS:
        Enabled: true
        PrivateKey: tls/server.key
        Certificate: tls/server.crt
        RootCAs:
          - tls/ca.crt
        ClientAuthRequired: false
        ClientRootCAs:
    Keepalive:
        ServerMinInterval: 60s
        ServerInterval: 7200s
        ServerTimeout: 20s
    Backoff: { BaseDelay: 1s, Multiplier: 1.6, MaxDelay: 2m }
    MaxRecvMsgSize: 104857600
    MaxSendMsgSize: 104857600
    Throttling: { Rate: 0, InactivityTimeout: 5s }
    Cluster:
        SendBufferSize: 100
        ClientCertificate:
        ClientPrivateKey:
        ListenPort:
        ListenAddress:
        ServerCertificate:
        ServerPrivateKey:
    BootstrapMethod: none
    LocalMSPDir: msp
    LocalMSPID: OrdererMSP
    Profile: { Enabled: false, Address: 0.0.0.0:6060 }
    BCCSP:
        Default: SW
        SW: { Hash: SHA2, Security: 256, FileKeyStore: { KeyStore: } }
    Authentication:
        TimeWindow: 15m
FileLedger:
    Location: /var/hyperledger/production/orderer
Debug: { BroadcastTraceDir: , DeliverTraceDir: }
Operations:
    ListenAddress: 127.0.0.1:8443
    TLS: { Enabled: false, Certificate: , PrivateKey: , ClientAuthRequired: false, ClientRootCAs: [] }
Metrics:
    Provider: prometheus
    Statsd: { Network: udp, Address: 127.0.0.1:8125, WriteInterval: 30s, Prefix: }
Admin:
    ListenAddress: 0.0.0.0:7053
    TLS:
        Enabled: true
        Certificate: tls/server.crt
        PrivateKey: tls/server.key
        ClientAuthRequired: true
        ClientRootCAs: [tls/ca.crt]
ChannelParticipation:
    Enabled: true
    MaxRequestBodySize: 1 MB
Consensus:
    WALDir: /var/hyperledger/production/orderer/etcdraft/wal
    SnapDir: /var/hyperledger/production/orderer/etcdraft/snapshot
";

fn parse(text: &str, env: &[(&str, &str)]) -> Result<ConfigFile<OrdererConfig>, OrdererError> {
    OrdererConfig::parse(
        text,
        Path::new("/etc/weft"),
        env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

#[test]
fn parses_with_fabric_defaults_and_relative_paths() {
    let c = parse(YAML, &[]).unwrap().config;
    assert_eq!(c.general.address.port(), 7050);
    assert_eq!(c.admin.address.port(), 7053);
    assert_eq!(c.operations.port(), 8443);
    assert_eq!(c.data_dir, PathBuf::from("/etc/weft/data"));
    assert_eq!(c.time_window, Duration::from_secs(900));
    let general = c.general.tls.server().expect("TLS is on by default");
    assert!(
        !general.client_auth_required,
        "Fabric's default: no client certificate required"
    );
    let admin = c.admin.tls.server().unwrap();
    assert!(
        admin.client_auth_required,
        "the admin API always requires one"
    );
    assert_eq!(admin.client_roots, [PathBuf::from("/etc/weft/tlsca.pem")]);
}

#[test]
fn a_fabric_operators_file_is_accepted_and_what_weft_ignores_is_named() {
    let c = parse(FABRIC_STYLE, &[]).unwrap();
    assert_eq!(c.config.general.address.to_string(), "0.0.0.0:7050");
    assert_eq!(c.config.admin.address.port(), 7053);
    assert_eq!(c.config.msp_id, "OrdererMSP");
    assert_eq!(c.config.max_request_body_size, 1024 * 1024);
    assert_eq!(c.config.max_recv_msg_size, 104857600);
    assert_eq!(
        c.config.keep_alive.interval,
        std::time::Duration::from_secs(7200)
    );
    assert_eq!(c.config.rpc_timeout, std::time::Duration::from_secs(7));
    let ignored: Vec<&str> = c.ignored.iter().map(|k| k.key.as_str()).collect();
    for key in [
        "general.tls.rootcas",
        "general.keepalive.servermininterval",
        "general.cluster.sendbuffersize",
        "general.bootstrapmethod",
        "general.bccsp.sw.hash",
        "metrics.provider",
        "consensus.waldir",
    ] {
        assert!(ignored.contains(&key), "{key} not reported in {ignored:?}");
    }
    assert!(
        !ignored
            .iter()
            .any(|k| k.starts_with("general.listen") || k.starts_with("operations.")),
        "{ignored:?}"
    );
    assert!(c.config.operations_tls.server().is_none());
}

#[test]
fn environment_overrides_any_key() {
    let c = parse(
        YAML,
        &[
            ("ORDERER_GENERAL_LISTENADDRESS", "127.0.0.1:0"),
            ("ORDERER_ADMIN_TLS_ENABLED", "false"),
            ("ORDERER_GENERAL_TLS_CLIENTAUTHREQUIRED", "true"),
            ("ORDERER_GENERAL_TLS_CLIENTROOTCAS", "[/a.pem, /b.pem]"),
            ("ORDERER_GENERAL_KEEPALIVE_SERVERTIMEOUT", "5s"),
            ("ORDERER_GENERAL_KEEPALIVE_SERVERMININTERVAL", "60s"),
            ("OTHER_VAR", "x"),
        ],
    )
    .unwrap();
    assert_eq!(c.config.general.address.to_string(), "127.0.0.1:0");
    assert!(c.config.admin.tls.server().is_none());
    let general = c.config.general.tls.server().unwrap();
    assert!(general.client_auth_required);
    assert_eq!(general.client_roots.len(), 2);
    assert_eq!(
        c.config.keep_alive.timeout,
        std::time::Duration::from_secs(5)
    );
    assert_eq!(
        c.ignored[0].source,
        "ORDERER_GENERAL_KEEPALIVE_SERVERMININTERVAL"
    );
}

#[test]
fn errors_name_the_key() {
    let err = parse(&YAML.replace("0.0.0.0:7050", "nowhere"), &[]).unwrap_err();
    assert!(err.to_string().contains("General.ListenAddress"), "{err}");
    let err = parse(
        &YAML.replace(
            "{ Certificate: tls/server.crt, PrivateKey: tls/server.key }",
            "{}",
        ),
        &[],
    )
    .unwrap_err();
    assert!(err.to_string().contains("General.TLS.Certificate"), "{err}");
    let err = parse(&YAML.replace("FileLedger", "FileLedgr"), &[]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("orderer.yaml: unknown key 'fileledgr.location'"),
        "{msg}"
    );
    assert!(msg.contains("did you mean 'fileledger.location'"), "{msg}");
    let err = parse(
        &YAML.replace("ClientRootCAs: [tlsca.pem]", "ClientAuthRequired: false"),
        &[],
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("Admin.TLS.ClientAuthRequired"),
        "{err}"
    );
    let err = parse(
        &FABRIC_STYLE.replace("MaxRequestBodySize: 1 MB", "MaxRequestBodySize: 1 XB"),
        &[],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("ChannelParticipation.MaxRequestBodySize"),
        "{err}"
    );
}

#[test]
fn the_sample_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/orderer.yaml");
    let c = OrdererConfig::parse(
        &std::fs::read_to_string(&path).unwrap(),
        path.parent().unwrap(),
        std::iter::empty(),
    )
    .unwrap();
    assert_eq!(c.config.msp_id, "OrdererMSP");
    assert!(c.ignored.is_empty(), "{:?}", c.ignored);
}

#[test]
fn weft_keys_and_fabric_keys_do_not_overlap() {
    assert_eq!(KEYS.conflicts(), Vec::<String>::new());
}

#[test]
fn operations_tls_is_off_unless_enabled() {
    let c = parse(YAML, &[]).unwrap().config;
    assert!(c.operations_tls.server().is_none(), "Fabric's default");
    let c = parse(
        YAML,
        &[
            ("ORDERER_OPERATIONS_TLS_ENABLED", "true"),
            ("ORDERER_OPERATIONS_TLS_CERTIFICATE", "ops/server.crt"),
            ("ORDERER_OPERATIONS_TLS_PRIVATEKEY", "ops/server.key"),
            ("ORDERER_OPERATIONS_TLS_CLIENTROOTCAS", "[ops/ca.crt]"),
        ],
    )
    .unwrap();
    let tls = c.config.operations_tls.server().unwrap();
    assert_eq!(tls.cert, Path::new("/etc/weft/ops/server.crt"));
    assert_eq!(tls.client_roots, [Path::new("/etc/weft/ops/ca.crt")]);
    assert!(!tls.client_auth_required);
    assert!(c.ignored.is_empty(), "{:?}", c.ignored);
    let err = parse(YAML, &[("ORDERER_OPERATIONS_TLS_ENABLED", "true")]).unwrap_err();
    assert!(
        err.to_string().contains("Operations.TLS.Certificate"),
        "{err}"
    );
}
