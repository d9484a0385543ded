// Fabric's official client (@hyperledger/fabric-gateway) against a weft peer,
// unchanged and configured as for a Fabric network: submit, evaluate, the
// staged flow, async submit with commit status, chaincode events, block
// events (from a start block, and from the next commit when none is given),
// filtered block events and error details. Run by
// peer/tests/it/fabric_client.rs, over server-authenticated TLS (Fabric's
// sample applications: a root CA only) or mutual TLS (WEFT_TLS_CERT set: a
// client certificate, and its hash bound into event requests).
import * as grpc from '@grpc/grpc-js';
import { connect, hash, signers } from '@hyperledger/fabric-gateway';
import { common } from '@hyperledger/fabric-protos';
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';

const env = process.env;
const utf8 = new TextDecoder();
const mutual = Boolean(env.WEFT_TLS_CERT);
const credentials = mutual
    ? grpc.credentials.createSsl(
          readFileSync(env.WEFT_TLS_ROOT),
          readFileSync(env.WEFT_TLS_KEY),
          readFileSync(env.WEFT_TLS_CERT),
      )
    : grpc.credentials.createSsl(readFileSync(env.WEFT_TLS_ROOT));
const client = new grpc.Client(env.WEFT_PEER, credentials, { 'grpc.ssl_target_name_override': '127.0.0.1' });
const tlsClientCertificateHash = mutual
    ? crypto.createHash('sha256').update(new crypto.X509Certificate(readFileSync(env.WEFT_TLS_CERT)).raw).digest()
    : undefined;
const gateway = connect({
    client,
    identity: { mspId: env.WEFT_MSP_ID, credentials: readFileSync(env.WEFT_SIGN_CERT) },
    signer: signers.newPrivateKeySigner(crypto.createPrivateKey(readFileSync(env.WEFT_SIGN_KEY))),
    hash: hash.sha256,
    tlsClientCertificateHash,
    evaluateOptions: () => ({ deadline: Date.now() + 10000 }),
    endorseOptions: () => ({ deadline: Date.now() + 30000 }),
    submitOptions: () => ({ deadline: Date.now() + 10000 }),
    commitStatusOptions: () => ({ deadline: Date.now() + 60000 }),
});

/** The first `n` items of `events` that `keep` accepts; the stream is closed after. */
async function take(events, n, keep = () => true) {
    const out = [];
    try {
        for await (const event of events) {
            if (!keep(event)) continue;
            out.push(event);
            if (out.length === n) break;
        }
    } finally {
        events.close();
    }
    return out;
}

/** The txids in a block's envelopes (their channel headers). */
function blockTxIds(block) {
    return block.getData().getDataList_asU8().map((bytes) => {
        const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(bytes).getPayload_asU8());
        return common.ChannelHeader.deserializeBinary(payload.getHeader().getChannelHeader_asU8()).getTxId();
    });
}

try {
    const network = gateway.getNetwork('mychannel');
    const contract = network.getContract('basic');
    const id = `node-${mutual ? 'mtls' : 'tls'}-${Date.now()}`;

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

    // The staged flow: proposal, endorsement, submission and status, each a step.
    const proposal = contract.newProposal('UpdateAsset', { arguments: [id, 'green', '7', 'Max', '1400'] });
    const endorsed = await proposal.endorse();
    const submitted = await endorsed.submit();
    const staged = await submitted.getStatus();
    assert.ok(staged.successful, `staged UpdateAsset committed with code ${staged.code}`);
    assert.equal(staged.transactionId, proposal.getTransactionId());
    console.log(`staged flow committed ${staged.transactionId} in block ${staged.blockNumber}`);

    // Chaincode events from the block of the CreateAsset on.
    const events = await network.getChaincodeEvents('basic', { startBlock: status.blockNumber - 1n });
    const seen = (await take(events, 2, (e) => JSON.parse(utf8.decode(e.payload)).ID === id)).map((e) => e.eventName);
    assert.deepEqual(seen, ['CreateAsset', 'TransferAsset']);
    console.log(`chaincode events: ${seen.join(', ')}`);

    // Block events from a start block: that block first.
    const [fromStart] = await take(await network.getBlockEvents({ startBlock: status.blockNumber }), 1);
    assert.equal(BigInt(fromStart.getHeader().getNumber()), status.blockNumber);
    // Filtered block events: the transaction's id and validation code.
    const [filtered] = await take(await network.getFilteredBlockEvents({ startBlock: status.blockNumber }), 1);
    const ftx = filtered.getFilteredTransactionsList().find((t) => t.getTxid() === status.transactionId);
    assert.ok(ftx, 'the filtered block holds the transaction');
    assert.equal(ftx.getTxValidationCode(), 0, 'VALID');
    console.log(`block and filtered block events from block ${status.blockNumber}`);

    // Block events with no start block begin at the next commit: the first
    // block is the one holding a transaction submitted after listening began.
    const live = await network.getBlockEvents();
    const later = await contract.submitAsync('TransferAsset', { arguments: [id, 'Zoe'] });
    const laterStatus = await later.getStatus();
    const [next] = await take(live, 1);
    assert.equal(BigInt(next.getHeader().getNumber()), laterStatus.blockNumber, 'the next commit, not an older block');
    assert.ok(blockTxIds(next).includes(later.getTransactionId()));
    const liveFiltered = await network.getFilteredBlockEvents();
    const last = await contract.submitAsync('TransferAsset', { arguments: [id, 'Ann'] });
    const lastStatus = await last.getStatus();
    const [nextFiltered] = await take(liveFiltered, 1);
    assert.equal(BigInt(nextFiltered.getNumber()), lastStatus.blockNumber);
    console.log(`block events from the next commit: block ${laterStatus.blockNumber}, filtered ${lastStatus.blockNumber}`);

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
