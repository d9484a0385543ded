// Fabric's official client (@hyperledger/fabric-gateway), unchanged, driving
// the asset-transfer-private-data sample on a weft network as Fabric's own
// sample application does: one Gateway connection per org, every private
// input as transient data, Fabric's default server-authenticated TLS.
// Run by network/tests/it/private_data.rs with, per org N (1 and 2):
// WEFT_ORGN_PEER (host:port), WEFT_ORGN_MSP_ID, WEFT_ORGN_TLS_ROOT,
// WEFT_ORGN_SIGN_CERT, WEFT_ORGN_SIGN_KEY; and WEFT_CHANNEL, WEFT_CHAINCODE.
import * as grpc from '@grpc/grpc-js';
import { connect, hash, signers } from '@hyperledger/fabric-gateway';
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';

const env = process.env;
const utf8 = new TextDecoder();

/** A Gateway connection as Org `n`'s user, and its gRPC client. */
function gatewayOf(n) {
    const v = (name) => env[`WEFT_ORG${n}_${name}`];
    const client = new grpc.Client(v('PEER'), grpc.credentials.createSsl(readFileSync(v('TLS_ROOT'))), {
        'grpc.ssl_target_name_override': '127.0.0.1',
    });
    const gateway = connect({
        client,
        identity: { mspId: v('MSP_ID'), credentials: readFileSync(v('SIGN_CERT')) },
        signer: signers.newPrivateKeySigner(crypto.createPrivateKey(readFileSync(v('SIGN_KEY')))),
        hash: hash.sha256,
        evaluateOptions: () => ({ deadline: Date.now() + 10000 }),
        endorseOptions: () => ({ deadline: Date.now() + 30000 }),
        submitOptions: () => ({ deadline: Date.now() + 10000 }),
        commitStatusOptions: () => ({ deadline: Date.now() + 60000 }),
    });
    return { client, gateway, msp: v('MSP_ID') };
}

/** Submits `name` with one transient entry `key` = JSON of `value`, and waits for its commit. */
async function submitWith(contract, name, key, value) {
    await contract.submit(name, { transientData: { [key]: JSON.stringify(value) } });
    console.log(`${name} committed`);
}

/** Evaluates `name`; the parsed JSON result, or undefined for an empty one. */
async function evaluate(contract, name, ...args) {
    const text = utf8.decode(await contract.evaluateTransaction(name, ...args));
    return text ? JSON.parse(text) : undefined;
}

/**
 * Evaluates `name` until `ready` accepts the result: a read on one org's
 * peer right after another org's peer committed may run before this peer
 * has the block. Fails after 30 s.
 */
async function evaluateWhen(ready, contract, name, ...args) {
    const deadline = Date.now() + 30000;
    for (;;) {
        const result = await evaluate(contract, name, ...args);
        if (ready(result)) return result;
        assert.ok(Date.now() < deadline, `${name}(${args}) never became ready: ${JSON.stringify(result)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

/** Runs `action`, which must fail; returns the error's text (its details included). */
async function mustFail(what, action) {
    try {
        await action();
    } catch (e) {
        const details = (e.details ?? []).map((d) => d.message).join('; ');
        console.log(`${what} refused as expected: ${e.message} ${details}`);
        return `${e.message} ${details}`;
    }
    assert.fail(`${what} succeeded`);
}

const org1 = gatewayOf(1);
const org2 = gatewayOf(2);
try {
    const contract1 = org1.gateway.getNetwork(env.WEFT_CHANNEL).getContract(env.WEFT_CHAINCODE);
    const contract2 = org2.gateway.getNetwork(env.WEFT_CHANNEL).getContract(env.WEFT_CHAINCODE);
    const base = Date.now();
    const [first, second, past] = [`node${base}`, `node${base + 1}`, `node${base + 2}`];

    // Org1 creates two assets; each appraisal stays in Org1's collection.
    await submitWith(contract1, 'CreateAsset', 'asset_properties', {
        objectType: 'ValuableAsset', assetID: first, color: 'green', size: 20, appraisedValue: 100,
    });
    await submitWith(contract1, 'CreateAsset', 'asset_properties', {
        objectType: 'ValuableAsset', assetID: second, color: 'blue', size: 35, appraisedValue: 727,
    });

    // A range query over the shared collection.
    const listed = await evaluate(contract1, 'GetAssetByRange', first, past);
    assert.deepEqual(listed.map((a) => a.assetID), [first, second]);

    // No transfer before the buyer agrees.
    const early = await mustFail('TransferAsset before AgreeToTransfer', () =>
        contract1.submit('TransferAsset', {
            transientData: { asset_owner: JSON.stringify({ assetID: first, buyerMSP: org2.msp }) },
        }),
    );
    assert.match(early, /has not agreed/);

    // Org2 reads the shared asset and agrees at the same appraisal.
    const seen = await evaluateWhen((a) => a !== undefined, contract2, 'ReadAsset', first);
    assert.equal(seen.color, 'green');
    const seller = seen.owner;
    await submitWith(contract2, 'AgreeToTransfer', 'asset_value', { assetID: first, appraisedValue: 100 });

    // Org1 sees the agreement and transfers.
    const agreement = await evaluateWhen((a) => a !== undefined, contract1, 'ReadTransferAgreement', first);
    assert.equal(agreement.assetID, first);
    assert.notEqual(agreement.buyerID, seller);
    await submitWith(contract1, 'TransferAsset', 'asset_owner', { assetID: first, buyerMSP: org2.msp });
    const moved = await evaluate(contract1, 'ReadAsset', first);
    assert.equal(moved.owner, agreement.buyerID);

    // The seller's appraisal is gone; the buyer's remains.
    assert.equal(await evaluate(contract1, 'ReadAssetPrivateDetails', `${org1.msp}PrivateCollection`, first), undefined);
    const kept = await evaluate(contract2, 'ReadAssetPrivateDetails', `${org2.msp}PrivateCollection`, first);
    assert.equal(kept.appraisedValue, 100);
    // Org2's peer sees the transfer once it has the block.
    await evaluateWhen((a) => a?.owner === agreement.buyerID, contract2, 'ReadAsset', first);

    // Only the owner's org deletes.
    await mustFail('DeleteAsset by a non-owner org', () =>
        contract2.submit('DeleteAsset', { transientData: { asset_delete: JSON.stringify({ assetID: second }) } }),
    );
    await submitWith(contract1, 'DeleteAsset', 'asset_delete', { assetID: second });
    assert.equal(await evaluate(contract1, 'ReadAsset', second), undefined);

    console.log('FABRIC PRIVATE DATA CLIENT OK');
} finally {
    for (const org of [org1, org2]) {
        org.gateway.close();
        org.client.close();
    }
}
