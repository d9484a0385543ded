//! A client whose submissions the orderer refuses (a forged signature, an
//! envelope larger than the channel's AbsoluteMaxBytes), sent while other
//! clients' submissions share the gateway's Broadcast line to that orderer:
//! the bad ones are refused with their cause, the others all commit.

use super::*;
use crate::gateway::{client, endorse, submit, submit_and_wait, two_orgs_with_basic};

/// `env` with its payload grown past `size` bytes by an unknown protobuf
/// field (which decoders skip), re-signed by `user`: well formed and validly
/// signed, only too large.
fn padded(mut env: Envelope, size: usize, user: &SigningIdentity) -> Envelope {
    // Field 1000, wire type 2 (length-delimited), then the length.
    let mut field = Vec::new();
    prost::encoding::encode_key(1000, prost::encoding::WireType::LengthDelimited, &mut field);
    prost::encoding::encode_varint(size as u64, &mut field);
    field.resize(field.len() + size, 0x5a);
    env.payload.extend(field);
    env.signature = user.sign(&env.payload).unwrap();
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_and_oversized_submissions_cost_the_others_on_the_line_nothing() {
    let (net, p1, p2, _admins) = two_orgs_with_basic().await;
    let user = net.orgs.user(1);
    let mut gw = client(&net, &p1).await;

    let mut ordinary = Vec::new();
    for i in 0..8 {
        let id = format!("line{i}");
        ordinary.push(
            endorse(
                &mut gw,
                &user,
                &["CreateAsset", &id, "blue", "5", "Tom", "1"],
            )
            .await
            .unwrap(),
        );
    }
    let (big_id, big) = endorse(
        &mut gw,
        &user,
        &["CreateAsset", "big", "red", "1", "Eve", "1"],
    )
    .await
    .unwrap();
    // The test channel keeps Fabric's default AbsoluteMaxBytes, 10 MB.
    let big = padded(big, 10 * 1024 * 1024, &user);
    let (forged_id, mut forged) = endorse(
        &mut gw,
        &user,
        &["CreateAsset", "forged", "red", "1", "Eve", "1"],
    )
    .await
    .unwrap();
    forged.signature[8] ^= 0x40;

    // All at once: the ordinary submissions, the oversized and the forged
    // one reach the orderer together.
    let mut attacks = tokio::task::JoinSet::new();
    for (what, tx_id, env) in [("oversized", big_id, big), ("forged", forged_id, forged)] {
        let mut gw = gw.clone();
        // The gateway's error names each orderer's answer.
        attacks.spawn(async move {
            let sent = submit(&mut gw, &tx_id, env).await;
            (what, sent.map_err(|status| status.message().to_string()))
        });
    }
    let mut honest = tokio::task::JoinSet::new();
    for (tx_id, env) in ordinary {
        let (mut gw, user) = (gw.clone(), user.clone());
        honest.spawn(async move { submit_and_wait(&mut gw, &user, &tx_id, env).await.0 });
    }
    let refused: std::collections::HashMap<_, _> = attacks.join_all().await.into_iter().collect();
    let big_error = refused["oversized"].as_ref().unwrap_err();
    assert!(
        big_error.contains("exceeds the channel's AbsoluteMaxBytes"),
        "{big_error}"
    );
    let forged_error = refused["forged"].as_ref().unwrap_err();
    assert!(
        forged_error.contains("signature does not match"),
        "{forged_error}"
    );
    let codes: Vec<Code> = honest.join_all().await;
    assert_eq!(codes, vec![Code::Valid; 8]);

    // And the line goes on serving.
    let (id, env) = endorse(
        &mut gw,
        &user,
        &["CreateAsset", "after", "blue", "5", "Tom", "1"],
    )
    .await
    .unwrap();
    assert_eq!(
        submit_and_wait(&mut gw, &user, &id, env).await.0,
        Code::Valid
    );
    let committer = p1.core.channel(CHANNEL).unwrap();
    let ledger = committer.ledger();
    assert!(ledger.get_state("basic", "big").unwrap().is_none());
    assert!(ledger.get_state("basic", "forged").unwrap().is_none());
    p1.shutdown().await;
    p2.shutdown().await;
    net.shutdown().await;
}
