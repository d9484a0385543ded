// Fabric's own CA client (npm fabric-ca-client 2.2) against weft-ca, unchanged:
// enroll the bootstrap admin, register and enroll a user, manage identities and
// affiliations, revoke the user, fetch a CRL.
// Usage: node client.mjs https://127.0.0.1:PORT TLS_ROOT.pem — prints one JSON object.
import { readFileSync } from 'node:fs';
import FabricCAServices from 'fabric-ca-client';
import { User } from 'fabric-common';

const [url, tlsRoot] = process.argv.slice(2);
const ca = new FabricCAServices(url, { trustedRoots: [readFileSync(tlsRoot, 'utf8')], verify: true }, 'ca');
const out = {};

const admin = await ca.enroll({ enrollmentID: 'admin', enrollmentSecret: 'adminpw' });
out.adminCert = admin.certificate;
out.rootCert = admin.rootCertificate;
const registrar = User.createUser('admin', 'adminpw', 'Org1MSP', admin.certificate, admin.key.toBytes());

const secret = await ca.register(
  { enrollmentID: 'user1', affiliation: 'org1.department1', role: 'client',
    attrs: [{ name: 'app.role', value: 'auditor', ecert: true }] },
  registrar,
);
out.secretLength = secret.length;
const user = await ca.enroll({ enrollmentID: 'user1', enrollmentSecret: secret });
out.userCert = user.certificate;

const identities = ca.newIdentityService();
const created = await identities.create({ enrollmentID: 'user2', affiliation: 'org1', maxEnrollments: 2 }, registrar);
out.createdSecretLength = created.length;
const all = await identities.getAll(registrar);
out.identityIds = all.result.identities.map((i) => i.id).sort();
const one = await identities.getOne('user1', registrar);
out.user1 = one.result;
const updated = await identities.update('user2', { affiliation: 'org2', maxEnrollments: 3 }, registrar);
out.user2 = updated.result;
const removed = await identities.delete('user2', registrar);
out.removedId = removed.result.id;

const affiliations = ca.newAffiliationService();
await affiliations.create({ name: 'org3.dept1', force: true }, registrar);
await affiliations.update('org3', { name: 'org4', force: true }, registrar);
const tree = await affiliations.getAll(registrar);
out.affiliations = tree.result.affiliations.map((a) => a.name);
out.org4 = tree.result.affiliations.find((a) => a.name === 'org4').affiliations.map((a) => a.name);
const gone = await affiliations.delete({ name: 'org4', force: true }, registrar);
out.deletedAffiliation = gone.result.name;

const revoked = await ca.revoke({ enrollmentID: 'user1', reason: 'keycompromise' }, registrar);
out.revoked = revoked.result.RevokedCerts;
out.crl = await ca.generateCRL({}, registrar);
try {
  await ca.enroll({ enrollmentID: 'user1', enrollmentSecret: secret });
  out.reenrollAfterRevoke = 'accepted';
} catch (e) {
  out.reenrollAfterRevoke = String(e.message);
}
console.log(JSON.stringify(out));
