use super::*;

const YAML: &str = "
peer:
  id: peer0.org1.example.com
  listenAddress: 0.0.0.0:7051
  tls: { cert: { file: tls/server.crt }, key: { file: tls/server.key } }
  mspConfigPath: msp
  localMspId: Org1MSP
  fileSystemPath: data
";

/// A core.yaml as a Fabric operator writes it for a test-network peer:
/// Fabric's keys and layout, with settings weft does not implement.
const FABRIC_STYLE: &str = "
peer:
    id: peer0.org1.example.com
    networkId: dev
    listenAddress: 0.0.0.0:7051
    chaincodeListenAddress: 0.0.0.0:7052
    address: peer0.org1.example.com:7051
    addressAutoDetect: false
    gateway:
        enabled: true
        endorsementTimeout: 30s
        broadcastTimeout: 30s
        dialTimeout: 2m
    keepalive:
        interval: 7200s
        timeout: 20s
        minInterval: 60s
        client: { interval: 60s, timeout: 20s }
        deliveryClient: { interval: 60s, timeout: 20s }
    gossip:
        bootstrap: peer0.org1.example.com:7051
        useLeaderElection: false
        orgLeader: true
        externalEndpoint: peer0.org1.example.com:7051
        reconnectInterval: 2s
        pvtData:
            transientstoreMaxBlockRetention: 20000
            implicitCollectionDisseminationPolicy: { requiredPeerCount: 0, maxPeerCount: 1 }
    tls:
        enabled: true
        clientAuthRequired: false
        cert: { file: tls/server.crt }
        key: { file: tls/server.key }
        rootcert: { file: tls/ca.crt }
        clientRootCAs: { files: [tls/ca.crt] }
        clientKey: { file: }
        clientCert: { file: }
    authentication: { timewindow: 15m }
    fileSystemPath: /var/hyperledger/production
    BCCSP:
        Default: SW
        SW: { Hash: SHA2, Security: 256, FileKeyStore: { KeyStore: } }
    mspConfigPath: msp
    localMspId: Org1MSP
    deliveryclient: { reconnectTotalTimeThreshold: 3600s, connTimeout: 3s }
    localMspType: bccsp
    profile: { enabled: false, listenAddress: 0.0.0.0:6060 }
    handlers:
        authFilters: [{ name: DefaultAuth }, { name: ExpirationCheck }]
        endorsers: { escc: { name: DefaultEndorsement, library: } }
    discovery: { enabled: true, orgMembersAllowedAccess: false }
    limits:
        concurrency: { endorserService: 2500, deliverService: 2500, gatewayService: 500 }
    maxRecvMsgSize: 104857600
    maxSendMsgSize: 104857600
vm:
    endpoint: ''
    docker:
        hostConfig:
            NetworkMode: host
            LogConfig: { Type: json-file, Config: { max-size: '50m' } }
chaincode:
    executetimeout: 300s
    externalBuilders:
       - name: ccaas_builder
         path: /opt/hyperledger/ccaas_builder
    system: { _lifecycle: enable, cscc: enable, lscc: enable, qscc: enable }
    logging: { level: info, shim: warning }
ledger:
  blockchain:
  state:
    stateDatabase: goleveldb
    totalQueryLimit: 100000
  history: { enableHistoryDatabase: true }
operations:
    listenAddress: 0.0.0.0:9444
    tls: { enabled: false }
metrics:
    provider: prometheus
";

fn parse(text: &str, env: &[(&str, &str)]) -> Result<ConfigFile<PeerConfig>, PeerError> {
    PeerConfig::parse(
        text,
        Path::new("/etc/weft"),
        env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

#[test]
fn parses_with_fabric_defaults_and_relative_paths() {
    let c = parse(YAML, &[]).unwrap().config;
    assert_eq!(c.listener.address.port(), 7051);
    assert_eq!(c.operations.port(), 9443);
    assert_eq!(c.data_dir, PathBuf::from("/etc/weft/data"));
    let tls = c.listener.tls.server().expect("TLS is on by default");
    assert!(
        !tls.client_auth_required,
        "Fabric's default: no client certificate required"
    );
    assert_eq!(c.gateway_concurrency, 500, "Fabric's gatewayService limit");
    assert!(c.gateway_enabled);
    let l = &c.limits;
    assert_eq!(
        (l.max_recv_msg_size, l.max_send_msg_size),
        (104_857_600, 104_857_600)
    );
    assert_eq!(
        (l.endorser_concurrency, l.deliver_concurrency),
        (2500, 2500)
    );
    assert_eq!(l.total_query_limit, 100_000);
    assert_eq!(l.keep_alive.interval, std::time::Duration::from_secs(7200));
    assert_eq!(
        l.client_keep_alive.timeout,
        std::time::Duration::from_secs(20)
    );
}

#[test]
fn limits_parse_from_fabrics_keys_and_refuse_zero() {
    let c = parse(
        &format!(
            "{YAML}  maxRecvMsgSize: 1048576\n  keepalive: {{ interval: 30s, deliveryClient: {{ interval: 10s, timeout: 5s }} }}\n  limits: {{ concurrency: {{ endorserService: 9, deliverService: 3 }}, maxConnections: 100, chaincodeFuel: 9000000000, chaincodeMemory: 256 MB }}\nledger: {{ state: {{ totalQueryLimit: 500 }} }}\n"
        ),
        &[],
    )
    .unwrap()
    .config;
    let l = &c.limits;
    assert_eq!(l.max_recv_msg_size, 1_048_576);
    assert_eq!(l.keep_alive.interval, std::time::Duration::from_secs(30));
    assert_eq!(
        l.delivery_keep_alive.interval,
        std::time::Duration::from_secs(10)
    );
    assert_eq!((l.endorser_concurrency, l.deliver_concurrency), (9, 3));
    assert_eq!(l.connections.max_connections, 100);
    assert_eq!(l.total_query_limit, 500);
    assert_eq!(l.chaincode_fuel, 9_000_000_000);
    assert_eq!(l.chaincode_memory, 256 * 1024 * 1024);
    let e = parse(
        &format!("{YAML}  limits: {{ concurrency: {{ endorserService: 0 }} }}\n"),
        &[],
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("peer.limits.concurrency.endorserService: must be at least 1"),
        "{e}"
    );
    let e = parse(
        &format!("{YAML}  limits: {{ chaincodeMemory: 64 KB }}\n"),
        &[],
    )
    .unwrap_err();
    assert!(e.to_string().contains("peer.limits.chaincodeMemory"), "{e}");
}

#[test]
fn a_fabric_operators_file_is_accepted_and_what_weft_ignores_is_named() {
    let c = parse(FABRIC_STYLE, &[]).unwrap();
    assert_eq!(c.config.msp_id, "Org1MSP");
    assert_eq!(c.config.operations.port(), 9444);
    let tls = c.config.listener.tls.server().unwrap();
    assert_eq!(tls.client_roots, [PathBuf::from("/etc/weft/tls/ca.crt")]);
    assert_eq!(c.config.transient_retention, 20000);
    assert_eq!(
        c.config.reconcile_interval,
        std::time::Duration::from_secs(60)
    );
    let ignored: Vec<&str> = c.ignored.iter().map(|k| k.key.as_str()).collect();
    for key in [
        "peer.gossip.bootstrap",
        "peer.keepalive.mininterval",
        "peer.tls.rootcert.file",
        "peer.bccsp.sw.hash",
        "vm.docker.hostconfig.logconfig.config.max-size",
        "chaincode.system._lifecycle",
        "ledger.state.statedatabase",
        "metrics.provider",
    ] {
        assert!(ignored.contains(&key), "{key} not reported in {ignored:?}");
    }
    assert!(
        !ignored.contains(&"peer.tls.clientkey.file") && !ignored.contains(&"vm.endpoint"),
        "empty keys set nothing: {ignored:?}"
    );
}

#[test]
fn core_environment_variables_override_keys_by_path() {
    let c = parse(
        YAML,
        &[
            ("CORE_PEER_LISTENADDRESS", "127.0.0.1:0"),
            ("CORE_PEER_LOCALMSPID", "Org2MSP"),
            ("CORE_PEER_TLS_CLIENTAUTHREQUIRED", "true"),
            ("CORE_PEER_TLS_CLIENTROOTCAS_FILES", "[/a.pem]"),
            (
                "CORE_PEER_GOSSIP_EXTERNALENDPOINT",
                "peer0.org1.example.com:7051",
            ),
            ("CORE_PEER_GOSSIP_BOOTSTRAP", "x:1"),
            ("CORE_PEER_MSPCONFIGPATH", "/other/msp"),
        ],
    )
    .unwrap();
    assert_eq!(c.config.listener.address.to_string(), "127.0.0.1:0");
    assert_eq!(c.config.msp_id, "Org2MSP");
    assert_eq!(c.config.msp_dir, PathBuf::from("/other/msp"));
    let tls = c.config.listener.tls.server().unwrap();
    assert!(tls.client_auth_required);
    assert_eq!(tls.client_roots, [PathBuf::from("/a.pem")]);
    assert_eq!(
        c.config.external_endpoint.as_deref(),
        Some("peer0.org1.example.com:7051")
    );
    assert_eq!(c.ignored.len(), 1, "{:?}", c.ignored);
    assert_eq!(c.ignored[0].source, "CORE_PEER_GOSSIP_BOOTSTRAP");
    let c = parse(YAML, &[("CORE_PEER_TLS_ENABLED", "false")]).unwrap();
    assert!(c.config.listener.tls.server().is_none());
}

#[test]
fn gateway_peers_and_limits_parse() {
    let yaml = format!(
        "{YAML}  gateway:\n    peers: [{{ MSPID: Org2MSP, Address: 127.0.0.1:9051 }}]\n  limits: {{ concurrency: {{ gatewayService: 7 }} }}\n"
    );
    let c = parse(&yaml, &[]).unwrap().config;
    assert_eq!(c.gateway_concurrency, 7);
    assert_eq!(
        c.gateway_peers,
        vec![GatewayPeer {
            msp_id: "Org2MSP".into(),
            address: "127.0.0.1:9051".into()
        }]
    );
}

#[test]
fn the_sample_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/core.yaml");
    let c = PeerConfig::parse(
        &std::fs::read_to_string(&path).unwrap(),
        path.parent().unwrap(),
        std::iter::empty(),
    )
    .unwrap();
    assert_eq!(c.config.msp_id, "Org1MSP");
    assert_eq!(c.config.listener.address.port(), 7051);
    assert!(c.ignored.is_empty(), "{:?}", c.ignored);
}

#[test]
fn errors_name_the_key() {
    let err = parse(&YAML.replace("0.0.0.0:7051", "nowhere"), &[]).unwrap_err();
    assert!(err.to_string().contains("peer.listenAddress"), "{err}");
    let err = parse(&YAML.replace("fileSystemPath", "fileSystemPth"), &[]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("unknown key 'peer.filesystempth'"), "{msg}");
    assert!(msg.contains("did you mean 'peer.filesystempath'"), "{msg}");
    let err = parse(&YAML.replace("localMspId: Org1MSP", ""), &[]).unwrap_err();
    assert!(err.to_string().contains("peer.localMspId"), "{err}");
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
        &format!(
            "{YAML}operations:\n  tls: {{ enabled: true, cert: {{ file: ops.crt }}, key: {{ file: ops.key }}, clientAuthRequired: true, clientRootCAs: {{ files: [ca.crt] }} }}\n"
        ),
        &[],
    )
    .unwrap()
    .config;
    let tls = c.operations_tls.server().unwrap();
    assert_eq!(tls.key, PathBuf::from("/etc/weft/ops.key"));
    assert!(tls.client_auth_required);
}

#[test]
fn delivery_counts_as_stalled_after_fabrics_reconnect_threshold() {
    let c = parse(YAML, &[]).unwrap().config;
    assert_eq!(c.delivery_stall, std::time::Duration::from_secs(3600));
    let c = parse(
        YAML,
        &[(
            "CORE_PEER_DELIVERYCLIENT_RECONNECTTOTALTIMETHRESHOLD",
            "90s",
        )],
    )
    .unwrap()
    .config;
    assert_eq!(c.delivery_stall, std::time::Duration::from_secs(90));
}
