// Fabric's official client (@hyperledger/fabric-gateway) against a weft peer,
// unchanged: submit, evaluate, async submit with commit status, chaincode
// events and error details. Run by peer/tests/it/fabric_client.rs.
import * as grpc from '@grpc/grpc-js';
import { connect, hash, signers } from '@hyperledger/fabric-gateway';
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';

const env = process.env;
const utf8 = new TextDecoder();
const credentials = grpc.credentials.createSsl(
    readFileSync(env.WEFT_TLS_ROOT),
    readFileSync(env.WEFT_TLS_KEY),
    readFileSync(env.WEFT_TLS_CERT),
);
const client = new grpc.Client(env.WEFT_PEER, credentials, { 'grpc.ssl_target_name_override': '127.0.0.1' });
const gateway = connect({
    client,
    identity: { mspId: env.WEFT_MSP_ID, credentials: readFileSync(env.WEFT_SIGN_CERT) },
    signer: signers.newPrivateKeySigner(crypto.createPrivateKey(readFileSync(env.WEFT_SIGN_KEY))),
    hash: hash.sha256,
    evaluateOptions: () => ({ deadline: Date.now() + 10000 }),
    endorseOptions: () => ({ deadline: Date.now() + 30000 }),
    submitOptions: () => ({ deadline: Date.now() + 10000 }),
    commitStatusOptions: () => ({ deadline: Date.now() + 60000 }),
});

try {
    const network = gateway.getNetwork('mychannel');
    const contract = network.getContract('basic');
    const id = `node-${Date.now()}`;

    await contract.submitTransaction('CreateAsset', id, 'yellow', '5', 'Tom', '1300');
    const asset = JSON.parse(utf8.decode(await contract.evaluateTransaction('ReadAsset', id)));
    assert.equal(asset.Owner, 'Tom');
    assert.equal(asset.AppraisedValue, 1300);
    console.log(`created and read ${id}`);

    const commit = await contract.submitAsync('TransferAsset', { arguments: [id, 'Max'] });
    assert.equal(utf8.decode(commit.getResult()), 'Tom');
    const status = await commit.getStatus();
    assert.ok(status.successful, `TransferAsset committed with code ${status.code}`);
    console.log(`TransferAsset ${status.transactionId} committed in block ${status.blockNumber}`);

    // Chaincode events from the block of the CreateAsset on.
    const events = await network.getChaincodeEvents('basic', { startBlock: status.blockNumber - 1n });
    const seen = [];
    try {
        for await (const event of events) {
            const payload = JSON.parse(utf8.decode(event.payload));
            if (payload.ID !== id) continue;
            seen.push(event.eventName);
            if (seen.length === 2) break;
        }
    } finally {
        events.close();
    }
    assert.deepEqual(seen, ['CreateAsset', 'TransferAsset']);
    console.log(`events: ${seen.join(', ')}`);

    // A chaincode error reaches the client with its message and the org that reported it.
    await assert.rejects(contract.evaluateTransaction('ReadAsset', 'no-such-asset'), (err) => {
        const text = `${err.message} ${JSON.stringify(err.details ?? [])}`;
        assert.match(text, /no-such-asset/);
        return true;
    });
    console.log('errors carry details');
    console.log('FABRIC CLIENT OK');
} finally {
    gateway.close();
    client.close();
}
