//! The channel participation API (osnadmin-compatible) over mutual TLS.

use crate::support::*;

/// An HTTPS client trusting the orderers' TLS CA, with the TLS identity of the
/// orderer org's admin (`admin`) or of Org1's admin (anything else).
pub fn client(net: &Net, who: &str) -> reqwest::Client {
    let crypto = net.dir.path().join("crypto");
    let orderer_org = crypto.join("ordererOrganizations/example.com");
    let ca = std::fs::read(orderer_org.join("tlsca/tlsca.example.com-cert.pem")).unwrap();
    let (dir, cert, key) = match who {
        "admin" => (
            orderer_org.join("users/Admin@example.com/tls"),
            "client.crt",
            "client.key",
        ),
        // A TLS identity of a peer org, whose CA the admin listener does not trust.
        _ => (
            crypto.join("peerOrganizations/org1.example.com/users/Admin@org1.example.com/tls"),
            "client.crt",
            "client.key",
        ),
    };
    let mut pem = std::fs::read(dir.join(cert)).unwrap();
    pem.extend(std::fs::read(dir.join(key)).unwrap());
    reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .identity(reqwest::Identity::from_pem(&pem).unwrap())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_list_get_remove_with_admin_only_access() {
    let (mut net, listeners) = Net::new(1, 10).await;
    net.start_all(listeners).await;
    let base = format!(
        "https://127.0.0.1:{}/participation/v1/channels",
        net.node(0).admin_addr.port()
    );
    let admin = client(&net, "admin");

    let list: serde_json::Value = admin.get(&base).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["channels"], serde_json::json!([]));

    // Join with the genesis block, as `osnadmin channel join --config-block` does.
    let form = reqwest::multipart::Form::new().part(
        "config-block",
        reqwest::multipart::Part::bytes(net.genesis.clone()).file_name("genesis.block"),
    );
    // cryptogen's admin TLS certificate carries no OU: what authorises it is
    // its CA, one of Admin.TLS.ClientRootCAs (as in Fabric).
    let admin_cert =
        std::fs::read(net.dir.path().join(
            "crypto/ordererOrganizations/example.com/users/Admin@example.com/tls/client.crt",
        ))
        .unwrap();
    let admin_cert = weft_common::msp::Certificate::from_der(
        &weft_common::tls::parse_certs(&admin_cert).unwrap()[0],
    )
    .unwrap();
    assert!(admin_cert.organizational_units.is_empty());
    let resp = admin.post(&base).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let info: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(info["name"], CHANNEL);
    assert_eq!(info["consensusRelation"], "consenter");

    let again = reqwest::multipart::Form::new().part(
        "config-block",
        reqwest::multipart::Part::bytes(net.genesis.clone()),
    );
    let resp = admin.post(&base).multipart(again).send().await.unwrap();
    assert_eq!(resp.status(), 405, "already joined");
    assert_eq!(resp.headers()["allow"], "GET, DELETE");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "cannot join: channel already exists");
    let garbage = reqwest::multipart::Form::new().part(
        "config-block",
        reqwest::multipart::Part::bytes(vec![1, 2, 3]),
    );
    let resp = admin.post(&base).multipart(garbage).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let text = resp.text().await.unwrap();
    assert!(
        text.contains("invalid join block") && text.contains("not a block"),
        "{text}"
    );
    let no_block = reqwest::multipart::Form::new().text("other", "x");
    assert_eq!(
        admin
            .post(&base)
            .multipart(no_block)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );

    let list: serde_json::Value = admin.get(&base).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["channels"][0]["name"], CHANNEL);
    let one: serde_json::Value = admin
        .get(format!("{base}/{CHANNEL}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["status"], "active");
    let resp = admin.get(format!("{base}/nosuch")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "channel does not exist");

    // A client whose TLS CA is not one of Admin.TLS.ClientRootCAs is refused
    // at the handshake, and nothing changes.
    let stranger = client(&net, "stranger");
    let err = stranger
        .delete(format!("{base}/{CHANNEL}"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");
    assert!(net.node(0).core.registry.get(CHANNEL).is_some());

    // The admin removes the channel.
    assert_eq!(
        admin
            .delete(format!("{base}/{CHANNEL}"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert!(net.node(0).core.registry.get(CHANNEL).is_none());
    assert_eq!(
        admin
            .get(format!("{base}/{CHANNEL}"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let resp = admin
        .delete(format!("{base}/{CHANNEL}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "cannot remove: channel does not exist");
    for n in net.nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}

struct TestLogs(std::sync::Mutex<String>);

impl weft_orderer::operations::LogControl for TestLogs {
    fn get(&self) -> String {
        self.0.lock().unwrap().clone()
    }
    fn set(&self, spec: &str) -> Result<(), weft_common::CommonError> {
        tracing_subscriber::EnvFilter::try_new(spec).map_err(|e| {
            weft_common::CommonError::LogSpec {
                spec: spec.into(),
                reason: e.to_string(),
            }
        })?;
        *self.0.lock().unwrap() = spec.to_string();
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_endpoint_reports_health_metrics_and_logspec() {
    let (mut net, mut listeners) = Net::new(1, 10).await;
    let logs: std::sync::Arc<dyn weft_orderer::operations::LogControl> =
        std::sync::Arc::new(TestLogs(std::sync::Mutex::new("info".into())));
    let node = weft_orderer::node::start_with(net.config(0), listeners.remove(0), Some(logs))
        .await
        .unwrap();
    net.add_joined(node).await;
    let user = net.user();
    let mut client = net.client(0).await;
    let results = broadcast(
        &mut client,
        vec![
            envelope(&user, CHANNEL, 1, 10),
            envelope(&user, "nope", 2, 10),
        ],
    )
    .await;
    assert_eq!(results[0].0, weft_protos::common::Status::Success as i32);

    let ops = format!("http://127.0.0.1:{}", net.node(0).operations_addr.port());
    let http = reqwest::Client::new();
    let health = get_json(&http, &format!("{ops}/healthz")).await;
    assert_eq!(health["status"], "OK");
    let version = get_json(&http, &format!("{ops}/version")).await;
    assert_eq!(version["Version"], env!("CARGO_PKG_VERSION"));
    let metrics = http
        .get(format!("{ops}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "weft_orderer_blocks_cut_total{{channel=\"{CHANNEL}\"}} 1"
        )),
        "{metrics}"
    );
    // Its own certificates' expiry (cryptogen's: ten years).
    let year_ahead = weft_common::clock::unix_now() + 365 * 86_400;
    for cert in ["enrollment", "tls"] {
        let at = weft_common::msp::expiry::gauge_in(&metrics, cert);
        assert!(
            at.is_some_and(|t| t > year_ahead),
            "{cert}: {at:?} in\n{metrics}"
        );
    }
    assert!(
        metrics.contains("weft_orderer_broadcast_latency_seconds_count 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("weft_orderer_broadcast_refused_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "weft_orderer_raft_is_leader{{channel=\"{CHANNEL}\"}} 1"
        )),
        "{metrics}"
    );

    let spec = get_json(&http, &format!("{ops}/logspec")).await;
    assert_eq!(spec["spec"], "info");
    let put = http
        .put(format!("{ops}/logspec"))
        .json(&serde_json::json!({"spec": "debug,raft=info"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    let spec = get_json(&http, &format!("{ops}/logspec")).await;
    assert_eq!(spec["spec"], "debug,raft=info");
    let bad = http
        .put(format!("{ops}/logspec"))
        .json(&serde_json::json!({"spec": "=[=="}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    // A channel whose task dies is reported, by name, until it is removed.
    let handle = net.node(0).core.registry.get(CHANNEL).unwrap();
    handle.abort_task();
    let mut report = serde_json::Value::Null;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        let r = http.get(format!("{ops}/healthz")).send().await.unwrap();
        if r.status() == 503 {
            report = r.json().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(report["status"], "Service Unavailable", "{report}");
    assert_eq!(
        report["failed_checks"][0]["component"],
        format!("channel:{CHANNEL}")
    );
    assert_eq!(report["failed_checks"][0]["reason"], "its task has ended");
    drop(handle);
    assert!(net.node(0).core.remove_channel(CHANNEL).await.unwrap());
    let r = http.get(format!("{ops}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    for n in net.nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}

/// `weft-orderer channel ...` as the orderer org's admin against node 0.
/// `GET url`'s JSON body.
async fn get_json(http: &reqwest::Client, url: &str) -> serde_json::Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

async fn osnadmin(net: &Net, args: &[&str]) -> Result<(), weft_orderer::OrdererError> {
    let org = net
        .dir
        .path()
        .join("crypto/ordererOrganizations/example.com");
    let tls = org.join("users/Admin@example.com/tls");
    let s = |p: std::path::PathBuf| p.display().to_string();
    let address = format!("127.0.0.1:{}", net.node(0).admin_addr.port());
    let flags = [
        "-o".to_string(),
        address,
        "--ca-file".into(),
        s(org.join("tlsca/tlsca.example.com-cert.pem")),
        "--client-cert".into(),
        s(tls.join("client.crt")),
        "--client-key".into(),
        s(tls.join("client.key")),
    ];
    let line = ["weft-orderer", "channel"]
        .iter()
        .map(|a| a.to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .chain(flags);
    weft_orderer::cli::run_args(line).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_updates_and_block_fetches_go_through_the_admin_endpoint() {
    let (mut net, listeners) = Net::new(1, 10).await;
    net.start_and_join(listeners).await;
    let files = tempfile::tempdir().unwrap();
    let block = files.path().join("config.block");
    let b = block.to_str().unwrap();
    // The batch size's max count of the newest config block, fetched over the admin endpoint.
    let max_count = || async {
        osnadmin(&net, &["fetch", "-c", CHANNEL, "-b", "config", "-f", b])
            .await
            .unwrap();
        let config = weft_configtx::channel_update::read_config_block(&block).unwrap();
        config.orderer.unwrap().batch_size.max_message_count
    };
    assert_eq!(max_count().await, 10);

    // An update signed by the orderer org's admin (weft-configtx), submitted
    // over the admin endpoint: ordered, and the next config fetch shows it.
    let update = files.path().join("batch.pb");
    let propose = |msp: &str, msp_id: &str| {
        let msp = net.dir.path().join(format!("crypto/{msp}"));
        let args = [
            "weft-configtx",
            "channel",
            "batch",
            "set",
            "--max-count",
            "7",
            "--config-block",
            b,
            "--output",
            update.to_str().unwrap(),
            "--msp",
            msp.to_str().unwrap(),
            "--msp-id",
            msp_id,
        ]
        .map(String::from);
        async move { weft_configtx::cli::run_args(args).await.unwrap() }
    };
    let u = update.to_str().unwrap();
    // Signed by Org1's admin alone: refused, naming who must sign.
    propose(
        "peerOrganizations/org1.example.com/users/Admin@org1.example.com/msp",
        "Org1MSP",
    )
    .await;
    let refused = osnadmin(&net, &["update", "-c", CHANNEL, "-e", u])
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("answered 400"), "{refused}");
    propose(
        "ordererOrganizations/example.com/users/Admin@example.com/msp",
        "OrdererMSP",
    )
    .await;
    osnadmin(&net, &["update", "-c", CHANNEL, "-e", u])
        .await
        .unwrap();
    assert_eq!(max_count().await, 7);
    // newest is that config block; oldest the genesis block.
    let newest = files.path().join("newest.block");
    osnadmin(
        &net,
        &[
            "fetch",
            "-c",
            CHANNEL,
            "-b",
            "newest",
            "-f",
            newest.to_str().unwrap(),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        std::fs::read(&newest).unwrap(),
        std::fs::read(&block).unwrap()
    );
    let oldest = files.path().join("oldest.block");
    osnadmin(
        &net,
        &[
            "fetch",
            "-c",
            CHANNEL,
            "-b",
            "0",
            "-f",
            oldest.to_str().unwrap(),
        ],
    )
    .await
    .unwrap();
    let genesis = weft_configtx::channel_update::read_config_block(&oldest).unwrap();
    assert_eq!(genesis.sequence(), 0);

    // Bad requests get Fabric's statuses and leave the node serving.
    let base = format!(
        "https://127.0.0.1:{}/participation/v1/channels",
        net.node(0).admin_addr.port()
    );
    let admin = client(&net, "admin");
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(
        status(
            admin
                .get(format!("{base}/{CHANNEL}/blocks/latest"))
                .send()
                .await
                .unwrap()
        ),
        400
    );
    assert_eq!(
        status(
            admin
                .get(format!("{base}/{CHANNEL}/blocks/99"))
                .send()
                .await
                .unwrap()
        ),
        404
    );
    assert_eq!(
        status(
            admin
                .get(format!("{base}/nochannel/blocks/newest"))
                .send()
                .await
                .unwrap()
        ),
        404
    );
    let not_an_update = reqwest::multipart::Form::new().part(
        "config-update-envelope",
        reqwest::multipart::Part::bytes(net.genesis.clone()).file_name("x"),
    );
    let r = admin
        .put(&base)
        .multipart(not_an_update)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("invalid config update envelope")
    );
    let missing = reqwest::multipart::Form::new().text("other", "x");
    assert_eq!(
        status(admin.put(&base).multipart(missing).send().await.unwrap()),
        400
    );
    // -c must name the envelope's channel.
    let wrong = osnadmin(&net, &["update", "-c", "otherchannel", "-e", u])
        .await
        .unwrap_err()
        .to_string();
    assert!(wrong.contains("is for channel"), "{wrong}");
    let h = height(&net, 0).await;
    assert!(h >= 2);
}
