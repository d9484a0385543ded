// The bench workload of `weft-network bench --client fabric-node`, driven by
// Fabric's official Node.js Gateway client (@hyperledger/fabric-gateway over
// @grpc/grpc-js), connected as a Fabric application connects. The Rust side
// (network/src/bench/node.rs) starts it, measures the servers' CPU around the
// measured phase and builds the report; this script only sends transactions
// and reports each one's outcome.
//
// Input: WEFT_BENCH, a JSON object (see node.rs, `NodeConfig`).
// Protocol on stdout, one line each:
//   ready                            set-up done (assets for transfer/read created)
//   s <sent_at> <latency> <outcome>  one transaction finished (seconds; outcome name)
//   end                              the measured phase is over
// and on stdin: `go` starts the measured phase; end of input ends the process.
import * as grpc from '@grpc/grpc-js';
import { connect, hash, signers, StatusCode } from '@hyperledger/fabric-gateway';
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const config = JSON.parse(process.env.WEFT_BENCH);
const statusNames = Object.fromEntries(Object.entries(StatusCode).map(([name, code]) => [code, name]));

/** P-256's group order: an ECDSA signature's S above half of it is "high". */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** A DER length and where its content starts (ECDSA signatures are short). */
function derLength(der, at) {
    if (der[at] < 0x80) return [der[at], at + 1];
    if (der[at] === 0x81) return [der[at + 1], at + 2];
    throw new Error('unexpected DER length in an ECDSA signature');
}

function derInteger(value) {
    let hex = value.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    let bytes = Buffer.from(hex, 'hex');
    if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

/** The signature with S replaced by N - S when S is high, as Fabric requires. */
function lowS(der) {
    let [, at] = derLength(der, 1); // SEQUENCE
    const [rLen, rAt] = derLength(der, at + 1);
    const r = der.subarray(rAt, rAt + rLen);
    at = rAt + rLen;
    const [sLen, sAt] = derLength(der, at + 1);
    const s = BigInt(`0x${Buffer.from(der.subarray(sAt, sAt + sLen)).toString('hex')}`);
    if (s <= P256_N / 2n) return der;
    const body = Buffer.concat([Buffer.from([0x02, r.length]), r, derInteger(P256_N - s)]);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/**
 * The signer and the digest the Gateway API hands it. `noble` is the SDK's
 * newPrivateKeySigner (what fabric-samples use: pure-JavaScript ECDSA over a
 * SHA-256 digest); `openssl` signs the whole message with Node's crypto.sign,
 * which hashes it itself.
 */
function signing(key) {
    const ed25519 = key.asymmetricKeyType === 'ed25519';
    if (config.signer === 'noble') {
        // Ed25519 signs the whole message; ECDSA a SHA-256 digest.
        return { signer: signers.newPrivateKeySigner(key), hash: ed25519 ? hash.none : hash.sha256 };
    }
    const sign = ed25519
        ? (message) => crypto.sign(null, message, key)
        : (message) => lowS(crypto.sign('sha256', message, { key, dsaEncoding: 'der' }));
    return { signer: async (message) => sign(message), hash: hash.none };
}

function gatewayFor(org) {
    const credentials = grpc.credentials.createSsl(
        readFileSync(org.tls_root),
        readFileSync(org.tls_key),
        readFileSync(org.tls_cert),
    );
    const client = new grpc.Client(org.peer, credentials);
    const key = crypto.createPrivateKey(readFileSync(org.sign_key));
    return connect({
        client,
        identity: { mspId: org.msp_id, credentials: readFileSync(org.sign_cert) },
        ...signing(key),
        evaluateOptions: () => ({ deadline: Date.now() + 30000 }),
        endorseOptions: () => ({ deadline: Date.now() + 60000 }),
        submitOptions: () => ({ deadline: Date.now() + 60000 }),
        commitStatusOptions: () => ({ deadline: Date.now() + 120000 }),
    });
}

const gateways = config.orgs.map(gatewayFor);
const contracts = gateways.map((g) => g.getNetwork(config.channel).getContract(config.chaincode));

/** Vigna's splitmix64 finaliser: the same key choice as the Rust client. */
function splitmix64(x) {
    const m = (1n << 64n) - 1n;
    let z = (BigInt(x) + 0x9e3779b97f4a7c15n) & m;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & m;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & m;
    return z ^ (z >> 31n);
}

const keys = config.workload === 'create' ? [] : Array.from({ length: Math.max(1, config.keys) }, (_, k) => `${config.run}-key${k}`);
const keyFor = (i) => keys[Number(splitmix64(i) % BigInt(keys.length))];

/** The outcome name of a failed transaction, as the Rust client reports it. */
function outcomeOf(error) {
    // The SDK names its errors (not all of their classes are exported).
    switch (error?.name) {
        case 'EndorseError':
            return 'ENDORSE_ERROR';
        case 'SubmitError':
            return 'SUBMIT_ERROR';
        case 'CommitStatusError':
            return 'STATUS_ERROR';
        default:
            return config.workload === 'read' ? 'EVALUATE_ERROR' : 'CLIENT_ERROR';
    }
}

async function one(i) {
    const contract = contracts[i % contracts.length];
    try {
        switch (config.workload) {
            case 'create': {
                const commit = await contract.submitAsync('CreateAsset', { arguments: [`${config.run}-${i}`, 'blue', '5', 'bench', '100'] });
                return statusNames[(await commit.getStatus()).code] ?? 'UNKNOWN';
            }
            case 'transfer': {
                const commit = await contract.submitAsync('TransferAsset', { arguments: [keyFor(i), `owner${i}`] });
                return statusNames[(await commit.getStatus()).code] ?? 'UNKNOWN';
            }
            case 'read':
                await contract.evaluateTransaction('ReadAsset', keyFor(i));
                return 'EVALUATED';
            default:
                throw new Error(`unknown workload ${config.workload}`);
        }
    } catch (error) {
        if (process.env.WEFT_BENCH_VERBOSE) console.error(error);
        return outcomeOf(error);
    }
}

/** Runs `task(i)` for each i of `items`, at most `limit` at a time. */
async function pool(items, limit, task) {
    let next = 0;
    const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
        while (next < items.length) await task(items[next++]);
    });
    await Promise.all(workers);
}

// Set-up, not measured: the assets to transfer or read.
await pool([...keys.keys()], Math.min(64, config.concurrency), async (k) => {
    await contracts[k % contracts.length].submitTransaction('CreateAsset', keys[k], 'blue', '5', 'bench', '100');
});

const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
console.log('ready');
if ((await input.next()).value !== 'go') process.exit(1);

const started = performance.now();
const lines = [];
const flush = () => {
    if (lines.length) process.stdout.write(lines.splice(0).join(''));
};
const timer = setInterval(flush, 100);
async function measured(i) {
    const sent = performance.now();
    const outcome = await one(i);
    const done = performance.now();
    lines.push(`s ${(sent - started) / 1000} ${(done - sent) / 1000} ${outcome}\n`);
}
const all = Array.from({ length: config.transactions }, (_, i) => i);
if (config.rate) {
    // Open loop: transaction i is sent at i / rate seconds, with at most
    // `concurrency` in flight.
    let inFlight = 0;
    const waiting = [];
    const running = [];
    for (const i of all) {
        const due = started + (i * 1000) / config.rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        while (inFlight >= config.concurrency) await new Promise((resolve) => waiting.push(resolve));
        inFlight++;
        running.push(measured(i).finally(() => {
            inFlight--;
            waiting.shift()?.();
        }));
    }
    await Promise.all(running);
} else {
    await pool(all, config.concurrency, measured);
}
clearInterval(timer);
flush();
console.log('end');
// Stay up (and connected) until the Rust side has read the servers' CPU.
await input.next();
gateways.forEach((g) => g.close());
process.exit(0);
