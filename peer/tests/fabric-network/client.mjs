// Fabric's legacy Node SDK (fabric-network 2.2), unchanged and configured as
// for a Fabric network, against a weft network: a file-system wallet, a
// gateway with service discovery enabled (it learns the channel's peers,
// orderers and endorsement plan from the weft peer), submitTransaction,
// evaluateTransaction and contract events. Its TLS is Fabric's default: a
// root CA only, and the self-signed client certificate fabric-common makes.
// Run by peer/tests/it/fabric_network.rs.
import { Gateway, Wallets, DefaultEventHandlerStrategies } from 'fabric-network';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const env = process.env;
const t0 = Date.now();
const log = (m) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
const walletDir = mkdtempSync(join(tmpdir(), 'weft-wallet-'));
const wallet = await Wallets.newFileSystemWallet(walletDir);
await wallet.put('appUser', {
    credentials: {
        certificate: readFileSync(env.WEFT_SIGN_CERT, 'utf8'),
        privateKey: readFileSync(env.WEFT_SIGN_KEY, 'utf8'),
    },
    mspId: 'Org1MSP',
    type: 'X.509',
});
assert.ok(await wallet.get('appUser'), 'the wallet holds the identity');

// A connection profile naming only the gateway peer: everything else comes
// from discovery.
const connectionProfile = {
    name: 'weft',
    version: '1.0.0',
    client: { organization: 'Org1', connection: { timeout: { peer: { endorser: '60' } } } },
    organizations: { Org1: { mspid: 'Org1MSP', peers: ['peer0.org1.example.com'] } },
    peers: {
        'peer0.org1.example.com': {
            url: `grpcs://${env.WEFT_PEER}`,
            tlsCACerts: { pem: readFileSync(env.WEFT_TLS_ROOT, 'utf8') },
            grpcOptions: { 'ssl-target-name-override': '127.0.0.1' },
        },
    },
};

const gateway = new Gateway();
try {
    await gateway.connect(connectionProfile, {
        wallet,
        identity: 'appUser',
        discovery: { enabled: true, asLocalhost: false },
        eventHandlerOptions: { strategy: DefaultEventHandlerStrategies.MSPID_SCOPE_ALLFORTX, commitTimeout: 60 },
    });
    const network = await gateway.getNetwork('mychannel');
    const contract = network.getContract('basic');

    // What discovery told the SDK.
    const channel = network.getChannel();
    const endorsers = channel.getEndorsers().map((e) => `${e.mspid}@${e.endpoint.url}`);
    assert.ok(endorsers.some((e) => e.startsWith('Org2MSP@')), `discovered Org2's peer: ${endorsers}`);
    const orderers = channel.getCommitters().map((c) => c.endpoint.url);
    assert.ok(orderers.length > 0, 'discovered the orderers');
    log(`discovered endorsers ${endorsers.join(', ')} and orderers ${orderers.join(', ')}`);

    // Contract events, from the SDK's listener.
    const seen = [];
    let resolveEvents;
    const eventsDone = new Promise((resolve) => (resolveEvents = resolve));
    const id = `legacy-${Date.now()}`;
    const listener = async (event) => {
        const payload = JSON.parse(event.payload.toString('utf8'));
        if (payload.ID !== id) return;
        seen.push(event.eventName);
        if (seen.length === 2) resolveEvents();
    };
    await contract.addContractListener(listener);

    await contract.submitTransaction('CreateAsset', id, 'blue', '5', 'Ann', '700');
    const asset = JSON.parse((await contract.evaluateTransaction('ReadAsset', id)).toString('utf8'));
    assert.equal(asset.Owner, 'Ann');
    log(`created and read ${id} through discovery's endorsement plan`);
    const previous = (await contract.submitTransaction('TransferAsset', id, 'Bo')).toString('utf8');
    assert.equal(previous, 'Ann');

    await Promise.race([
        eventsDone,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`events seen: ${seen}`)), 60000).unref()),
    ]);
    contract.removeContractListener(listener);
    assert.deepEqual(seen, ['CreateAsset', 'TransferAsset']);
    log(`contract events: ${seen.join(', ')}`);

    // A chaincode error comes back with its message.
    await assert.rejects(contract.evaluateTransaction('ReadAsset', 'no-such-asset'), /no-such-asset/);
    log('FABRIC NETWORK OK');
} finally {
    gateway.disconnect();
    rmSync(walletDir, { recursive: true, force: true });
}
