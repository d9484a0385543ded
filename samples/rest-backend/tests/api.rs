//! The REST API against an in-process network.

use std::path::PathBuf;

use rest_backend::{Asset, AssetPage, app};
use weft_network::InProcessNetwork;

/// `GET url`'s JSON body.
async fn get_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> T {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

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

    let asset = |id: &str, color: &str, size, owner: &str, appraised_value| Asset {
        id: id.into(),
        color: color.into(),
        size,
        owner: owner.into(),
        appraised_value,
    };
    let a = asset("car1", "red", 4, "Ana", 900);
    let r = http
        .post(format!("{base}/assets"))
        .json(&a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let got: Asset = get_json(&http, &format!("{base}/assets/car1")).await;
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
    let all: Vec<Asset> = get_json(&http, &format!("{base}/assets")).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].owner, "Bo");

    // Searchable, paginated listing: 24 more assets, a third of them Cy's.
    for i in 0..24 {
        let owner = if i % 3 == 0 { "Cy" } else { "Di" };
        let bike = asset(&format!("bike{i:02}"), "green", i, owner, 10);
        let r = http
            .post(format!("{base}/assets"))
            .json(&bike)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let (mut ids, mut bookmark) = (Vec::new(), String::new());
    loop {
        let page: AssetPage = http
            .get(format!("{base}/assets"))
            .query(&[
                ("owner", "Cy"),
                ("pageSize", "3"),
                ("bookmark", bookmark.as_str()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page.count as usize, page.assets.len());
        assert!(page.assets.iter().all(|a| a.owner == "Cy"));
        ids.extend(page.assets.into_iter().map(|a| a.id));
        if page.bookmark.is_empty() || page.count == 0 {
            break;
        }
        bookmark = page.bookmark;
    }
    let cys: Vec<String> = (0..24).step_by(3).map(|i| format!("bike{i:02}")).collect();
    assert_eq!(ids, cys, "each of Cy's assets once, in id order");
    let page: AssetPage = get_json(&http, &format!("{base}/assets?color=red")).await;
    assert_eq!(page.assets.len(), 1);
    assert_eq!(page.assets[0].id, "car1");
    for bad in ["pageSize=0", "pageSize=5000", "sort=x"] {
        let r = http
            .get(format!("{base}/assets?{bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }

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
