//! BR2K's recovery loop end to end on a weft network: the manager (Org1's
//! User1) launches `br2k-echo` and registers it; a client of another
//! organisation (Org2's User1) calls it through the registry. The service
//! is killed; the client's next call fails, it files a claim, the manager
//! redeploys the service from the registry's recovery body and records the
//! new location, and the same call of the client reaches the new instance.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use br2k_recovery::client::ServiceClient;
use br2k_recovery::manager::{Manager, Outcome};
use br2k_recovery::recipe::Recipe;
use weft_client_sdk::events::EventStart;

mod support;

/// Waits (30 s at most) until the manager has handled `n` claims in all.
async fn handled<T>(outcomes: &Mutex<Vec<T>>, n: usize, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while outcomes.lock().unwrap().len() < n {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn instance(body: &str) -> u64 {
    serde_json::from_str::<serde_json::Value>(body).unwrap()["instance"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_is_claimed_redeployed_and_reached_again() {
    let dir = tempfile::tempdir().unwrap();
    let net = support::network_with_registry(dir.path()).await;
    let info = net.info().clone();
    let registry = |org: &'static str| support::registry(&info, org);

    let manager = Arc::new(Manager::new(registry("Org1MSP").await));
    let recipe = Recipe::Process {
        program: PathBuf::from(env!("CARGO_BIN_EXE_br2k-echo")),
        args: vec!["--name".into(), "echo".into()],
    };
    let first = manager
        .launch("echo", &recipe, "local-process")
        .await
        .unwrap();

    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let watcher = {
        let (manager, outcomes) = (manager.clone(), outcomes.clone());
        tokio::spawn(async move {
            manager
                .run(EventStart::Block(0), |claim, outcome| {
                    outcomes.lock().unwrap().push((
                        claim.clone(),
                        format!("{outcome:?}"),
                        outcome.as_ref().ok().cloned(),
                    ));
                })
                .await
        })
    };

    // Another org's client finds it through the registry.
    let client = ServiceClient::new(registry("Org2MSP").await, "echo");
    let before = client.call("/").await.unwrap();
    assert_eq!(before.location, first);
    assert!(before.recovered_in.is_none());
    let old_instance = instance(&before.body);

    // The service dies.
    let pids = manager.deployer().pids().await;
    assert_eq!(pids, vec![old_instance as u32]);
    std::process::Command::new("kill")
        .args(["-KILL", &old_instance.to_string()])
        .status()
        .unwrap();

    // The same call: it fails, the client claims, the manager redeploys.
    let after = client.call("/").await.unwrap();
    let recovered_in = after.recovered_in.expect("the call needed a claim");
    assert_ne!(after.location, first, "a new instance at a new address");
    assert_ne!(instance(&after.body), old_instance);
    eprintln!("claim to answer: {recovered_in:.2?}");

    // The registry says where it is, running, with no open claim.
    let header = registry("Org2MSP").await.service("echo").await.unwrap();
    assert_eq!(
        (header.location.as_str(), header.state.as_str()),
        (after.location.as_str(), "running")
    );
    let seen = outcomes.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0.claimant.split('/').next(), Some("Org2MSP"));
    assert!(
        matches!(&seen[0].2, Some(Outcome::Redeployed { location, .. }) if *location == after.location),
        "{seen:?}"
    );

    // A claim about a healthy service settles without a redeployment, and
    // only the manager can move the service: Org2's client cannot.
    let org2 = registry("Org2MSP").await;
    org2.send_claim("echo", "I think it is slow").await.unwrap();
    handled(&outcomes, 2, "the second claim was not handled").await;
    assert_eq!(outcomes.lock().unwrap()[1].2, Some(Outcome::Healthy));
    assert_eq!(
        manager.deployer().pids().await.len(),
        2,
        "nothing more was deployed"
    );
    let hijack = org2
        .update_location("echo", "10.6.6.6:80")
        .await
        .unwrap_err();
    assert!(hijack.to_string().contains("only the manager"), "{hijack}");
    let header = org2.service("echo").await.unwrap();
    assert_eq!(header.location, after.location);

    // A flood of claims about the healthy service costs its manager no
    // transaction: they stay open until the next settling.
    for i in 0..4 {
        org2.send_claim("echo", &format!("flood {i}"))
            .await
            .unwrap();
    }
    handled(&outcomes, 6, "the flood was not handled").await;
    assert!(
        outcomes.lock().unwrap()[2..6]
            .iter()
            .all(|o| o.2 == Some(Outcome::Throttled)),
        "{:?}",
        outcomes.lock().unwrap()
    );
    let open = org2
        .gateway()
        .network(&info.channel)
        .contract("registry")
        .evaluate_transaction("ListClaims", ["echo"])
        .await
        .unwrap();
    let open: Vec<service_registry::Claim> = serde_json::from_slice(&open).unwrap();
    assert_eq!(open.len(), 4, "left open, not settled one by one");

    // A service Org2 registered, with a recipe of its choosing, is not
    // this manager's to run, whoever claims it.
    let planted = Recipe::Process {
        program: PathBuf::from("/bin/sh"),
        args: vec![
            "-c".into(),
            format!("touch {}/planted", dir.path().display()),
        ],
    };
    let body = service_registry::RecoveryInfo {
        deployer: String::new(),
        context: "local-process".into(),
        replicas: 1,
        image_registry: String::new(),
        recipe: planted.to_body(),
    };
    org2.register("foreign", "127.0.0.1:1", &body)
        .await
        .unwrap();
    org2.send_claim("foreign", "down").await.unwrap();
    handled(
        &outcomes,
        7,
        "the claim about the foreign service was not handled",
    )
    .await;
    assert_eq!(outcomes.lock().unwrap()[6].2, Some(Outcome::NotMine));
    assert!(!dir.path().join("planted").exists());
    assert_eq!(manager.deployer().pids().await.len(), 2);
    watcher.abort();
}
