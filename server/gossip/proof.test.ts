/**
 * Members vouch for their own news: what a proof binds (identity, incarnation, the cluster CA,
 * the certificate's name and role), and the attack it closes, on loopback: a party holding
 * the cluster key and a genuine certificate of its own declares another member dead at an
 * incarnation nobody can outbid. UDP ports 30064–30066 on loopback.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { createRedisTls } from '../bus/test-support.js';
import type { RedisTlsFiles } from '../bus/test-support.js';
import { GossipNode } from './node.js';
import { MemberSigner, ProofVerifier } from './proof.js';
import type { GossipMessage, MemberIdentity, MemberUpdate } from './types.js';
import { sendDatagram, waitFor } from './test-support.js';
import { GossipCodec } from './wire.js';

const KEY = 'cluster-key-for-proof-test-01234';
const HOST = '127.0.0.1';

let pki: Promise<RedisTlsFiles> | null = null;
test.after.always(async () => (await pki)?.remove());
function files(): Promise<RedisTlsFiles> {
  pki ??= createRedisTls();
  return pki;
}

const users: MemberIdentity = {
  id: 'users-1',
  role: 'users',
  address: `${HOST}:30065`,
  meta: { instance: '1' },
};

async function signed(identity: MemberIdentity, incarnation = 3): Promise<MemberUpdate> {
  const tls = await (await files()).member(identity.id, identity.role as 'users');
  const proof = new MemberSigner(tls).prove(identity, incarnation);
  return { ...identity, incarnation, state: 'alive', proof };
}

test('a proof binds the identity and incarnation a member signed, and nothing else', async (t) => {
  const verifier = new ProofVerifier((await files()).client.ca);
  const update = await signed(users);
  t.true(verifier.verify(update));
  // Accusations carry the accused's proof: any state at the signed incarnation verifies.
  t.true(verifier.verify({ ...update, state: 'dead' }));
  t.true(verifier.verify({ ...update, meta: { instance: '1' } }), 'key order does not matter');
  // Leaving takes the member's own proof for leaving; its proof of life is not one.
  t.false(verifier.verify({ ...update, state: 'left' }));
  const tls = await (await files()).member('users-1', 'users');
  const leaving = new MemberSigner(tls).prove(users, 3, true);
  t.true(verifier.verify({ ...update, state: 'left', proof: leaving }));
  t.false(verifier.verify({ ...update, state: 'alive', proof: leaving }));
  t.false(verifier.verify({ ...update, incarnation: Number.MAX_SAFE_INTEGER }));
  t.false(verifier.verify({ ...update, incarnation: 4 }));
  t.false(verifier.verify({ ...update, address: `${HOST}:9999` }));
  t.false(verifier.verify({ ...update, meta: { instance: '2' } }));
  t.false(verifier.verify({ ...update, role: 'groups' }));
  const { proof: _, ...unproven } = update;
  t.false(verifier.verify(unproven));
  t.false(verifier.verify({ ...update, proof: { cert: update.proof!.cert, sig: 'AAAA' } }));
  t.false(verifier.verify({ ...update, proof: { cert: 'not a certificate', sig: 'AAAA' } }));
});

test('only the member named by a certificate of its role from the cluster CA can vouch', async (t) => {
  const tls = await files();
  const verifier = new ProofVerifier(tls.client.ca);
  // Another member's genuine certificate, signing for users-1.
  const other = new MemberSigner(await tls.member('users-2', 'users'));
  t.false(
    verifier.verify({ ...users, incarnation: 1, state: 'alive', proof: other.prove(users, 1) }),
  );
  // The right name, the wrong role.
  const agent = new MemberSigner(await tls.member('users-1', 'vip-agent'));
  t.false(
    verifier.verify({ ...users, incarnation: 1, state: 'alive', proof: agent.prove(users, 1) }),
  );
  // The right name and role from another CA.
  const stranger = await createRedisTls();
  t.teardown(() => stranger.remove());
  const forged = new MemberSigner(await stranger.member('users-1', 'users'));
  t.false(
    verifier.verify({ ...users, incarnation: 1, state: 'alive', proof: forged.prove(users, 1) }),
  );
  // An observer's id is its own choice; its certificate is the operator's.
  const observer = { id: 'observer-anywhere-42', role: 'observer', address: `${HOST}:1`, meta: {} };
  const operator = new MemberSigner(tls.operator);
  t.true(
    verifier.verify({
      ...observer,
      incarnation: 0,
      state: 'alive',
      proof: operator.prove(observer, 0),
    }),
  );
  // An expired certificate vouches for nothing.
  const later = new ProofVerifier(tls.client.ca, () => Date.now() + 400 * 86_400_000);
  t.false(later.verify(await signed(users)));
});

test("one sender's made-up proofs cannot use up the checks another sender's genuine one needs", async (t) => {
  const tls = await files();
  const verifier = new ProofVerifier(tls.client.ca);
  const genuine = await signed(users, 9);
  const cert = genuine.proof!.cert;
  // Sixty made-up signatures under users-1's real certificate from one address: each costs
  // a check, and that address's budget runs out...
  for (let i = 0; i < 60; i++) {
    const sig = randomBytes(64).toString('base64');
    t.false(
      verifier.verify(
        { ...users, incarnation: 100 + i, state: 'alive', proof: { cert, sig } },
        '10.0.0.9',
      ),
    );
  }
  t.false(verifier.verify(genuine, '10.0.0.9'), 'that sender waits for the next second');
  // ...while a refutation relayed by another member is checked as ever.
  t.true(verifier.verify(genuine, '10.0.0.1'));
  // Known good proofs cost nothing, whoever passes them on.
  t.true(verifier.verify(genuine, '10.0.0.9'));
});

function send(message: GossipMessage, port: number): Promise<void> {
  return sendDatagram(new GossipCodec({ key: KEY }).encode(message), port);
}

test('a key holder cannot declare a member dead beyond its refutation, nor move it', async (t) => {
  const tls = await files();
  const node = async (self: MemberIdentity, role: 'gateway' | 'users') => {
    const material = await tls.member(self.id, role);
    return new GossipNode({
      self,
      seeds: [`${HOST}:30064`],
      clusterKey: KEY,
      proofs: { signer: new MemberSigner(material), verifier: new ProofVerifier(material.ca) },
      protocol: { protocolPeriodMs: 200, ackTimeoutMs: 80, gossipIntervalMs: 50 },
    });
  };
  const gateway = await node(
    { id: 'gateway-1', role: 'gateway', address: `${HOST}:30064`, meta: {} },
    'gateway',
  );
  const service = await node(users, 'users');
  t.teardown(() => Promise.all([gateway.close(), service.close()]));
  await Promise.all([gateway.start(), service.start()]);
  const seen = () => gateway.members().find((m) => m.id === 'users-1');
  await waitFor('the gateway to see users-1', () => seen()?.state === 'alive');
  const genuine = seen()!;

  // The attacker: the cluster key, a VIP agent's genuine certificate and the operator's,
  // and every proof users-1 ever sent; nothing of users-1's own key.
  const agent = new MemberSigner(await tls.member('vip-1', 'vip-agent'));
  const operator = new MemberSigner(tls.operator);
  const asObserver = { ...genuine, role: 'observer', incarnation: 2 ** 31 };
  const forgeries: MemberUpdate[] = [
    // Signed, but by someone else.
    { ...genuine, state: 'dead', incarnation: 1e9, proof: agent.prove(genuine, 1e9) },
    // Moved to the attacker's address, at a higher incarnation.
    { ...genuine, address: `${HOST}:30066`, incarnation: genuine.incarnation + 1 },
    // The operator's certificate vouches for observers, whose ids begin with "observer-":
    // not for users-1 posing as one, to push its incarnation out of reach.
    { ...asObserver, proof: operator.prove(asObserver, asObserver.incarnation) },
    // Leaving is users-1's own word: its proof of being alive does not say it left.
    { ...genuine, state: 'left' },
  ];
  for (const update of forgeries) {
    await send({ type: 'gossip', from: 'vip-1', updates: [update] }, 30064);
    await send({ type: 'sync', from: 'vip-1', updates: [], reply: true, members: [update] }, 30064);
  }
  // The old attack, dead at an incarnation users-1 could never outbid, does not even parse.
  const unreachable = { ...genuine, state: 'dead' as const, incarnation: Number.MAX_SAFE_INTEGER };
  await send({ type: 'gossip', from: 'vip-1', updates: [unreachable] }, 30064);
  await waitFor('the forgeries to be counted', () => gateway.stats().unproven >= 8);
  await waitFor('the unreachable one refused', () => gateway.stats().dropped.malformed >= 1);
  t.like(seen(), { state: 'alive', address: users.address, incarnation: genuine.incarnation });

  // What anyone can still do is accuse at the incarnation users-1 announced, with its own
  // proof: that is SWIM's suspicion, and users-1 refutes it.
  await send({ type: 'gossip', from: 'vip-1', updates: [{ ...genuine, state: 'dead' }] }, 30064);
  await waitFor(
    'users-1 to refute',
    () => seen()?.state === 'alive' && seen()!.incarnation > genuine.incarnation,
  );
  t.is(seen()?.address, users.address);
});
