//! The REST API against an in-process network.

use std::path::PathBuf;

use rest_backend::{Asset, app};
use weft_network::InProcessNetwork;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_read_transfer_delete_and_errors_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
    let net =
        InProcessNetwork::with_sample(dir.path(), "100ms", "asset-transfer-basic", "basic", &build)
            .await
            .unwrap();
    let contract = net
        .info()
        .gateway("Org1MSP")
        .await
        .unwrap()
        .network("mychannel")
        .contract("basic");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app(contract)).await });
    let http = reqwest::Client::new();

    let a = Asset {
        id: "car1".into(),
        color: "red".into(),
        size: 4,
        owner: "Ana".into(),
        appraised_value: 900,
    };
    let r = http
        .post(format!("{base}/assets"))
        .json(&a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let got: Asset = http
        .get(format!("{base}/assets/car1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, a);
    let r = http
        .put(format!("{base}/assets/car1/owner"))
        .json(&serde_json::json!({"owner": "Bo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["previousOwner"], "Ana");
    let all: Vec<Asset> = http
        .get(format!("{base}/assets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].owner, "Bo");

    // Errors: an existing asset, a missing one, bad JSON.
    let r = http
        .post(format!("{base}/assets"))
        .json(&a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("car1"), "{body}");
    let r = http
        .get(format!("{base}/assets/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = http
        .post(format!("{base}/assets"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    assert_eq!(
        http.delete(format!("{base}/assets/car1"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        http.get(format!("{base}/assets/car1"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    net.shutdown().await;
}
