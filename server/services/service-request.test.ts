/**
 * What a service acts on, from a bus request: the actor comes from the token that travels
 * with it, verified again here, so whoever can write to the bus (a stolen daemon certificate,
 * Redis reached some other way) cannot act as a user by naming them in the envelope.
 */
import test from 'ava';
import type { AgendaError } from '../../contract/errors.js';
import type { BusRequest } from '../bus/protocol.js';
import { createSigningKeyPair } from '../users/keys.js';
import { importTokenPublicKey } from '../users/public-keys.js';
import { TokenVerifier } from '../users/token-verifier.js';
import { TokenIssuer } from '../users/tokens.js';
import { serviceRequestFrom } from './service-handler.js';

async function keys() {
  const pair = await createSigningKeyPair();
  return {
    issuer: new TokenIssuer(pair.privateKey),
    verifier: new TokenVerifier({ publicKey: await importTokenPublicKey(pair.publicKeyPem) }),
  };
}

const envelope = (fields: Partial<BusRequest>): BusRequest => ({
  v: 1,
  id: 'r1',
  service: 'users',
  replyTo: 'gw-1',
  deadline: Date.now() + 10_000,
  actor: null,
  op: { type: 'account.me' },
  ...fields,
});

test('the actor and the session come from the verified token', async (t) => {
  const { issuer, verifier } = await keys();
  const { token, sid } = await issuer.session('alice', 3);
  const request = await serviceRequestFrom(
    envelope({ actor: 'alice', credential: { kind: 'session', token } }),
    verifier,
  );
  t.is(request.actor, 'alice');
  t.deepEqual(request.session, { generation: 3, sid });
});

test('naming a user without their token, or with another user’s, acts as nobody', async (t) => {
  const { issuer, verifier } = await keys();
  const bob = await issuer.session('bob', 0);
  const refused = async (fields: Partial<BusRequest>) =>
    (await t.throwsAsync<AgendaError>(serviceRequestFrom(envelope(fields), verifier)))?.code;
  t.is(await refused({ actor: 'alice' }), 'unauthenticated');
  t.is(
    await refused({ actor: 'alice', credential: { kind: 'session', token: bob.token } }),
    'unauthenticated',
  );
  const forger = await keys();
  const forged = await forger.issuer.session('alice', 0);
  t.is(
    await refused({ actor: 'alice', credential: { kind: 'session', token: forged.token } }),
    'unauthenticated',
  );
  t.is(
    await refused({ actor: 'bob', credential: { kind: 'feed', token: bob.token } }),
    'unauthenticated',
    'a session token is not a feed token',
  );
});

test('anonymous requests (register, login) carry no token and act as nobody', async (t) => {
  const { verifier } = await keys();
  const request = await serviceRequestFrom(envelope({}), verifier);
  t.is(request.actor, null);
  t.is(request.session, undefined);
});

test('M3: a feed token reads its feed and runs nothing else, whoever writes the request', async (t) => {
  const { issuer, verifier } = await keys();
  const { token } = await issuer.feed('alice', 0, 'feed-1', Date.now() + 60_000);
  const credential = { kind: 'feed' as const, token };
  const exported = await serviceRequestFrom(
    envelope({
      actor: 'alice',
      credential,
      op: { type: 'query', body: { type: 'agenda.export' } },
    }),
    verifier,
  );
  t.is(exported.actor, 'alice');
  t.deepEqual(exported.session, { generation: 0, fid: 'feed-1' });
  for (const op of [
    { type: 'command', body: { type: 'group.create', name: 'g', kind: 'team' } },
    { type: 'command', body: { type: 'event.create', draft: { title: 't', start: 0, end: 1 } } },
    { type: 'feed.create' },
    { type: 'feed.list' },
    { type: 'feed.revoke', id: 'feed-1' },
    { type: 'account.me' },
    { type: 'account.logout' },
    { type: 'account.delete', password: 'x' },
    { type: 'query', body: { type: 'event.list', from: 0, to: 1 } },
    { type: 'query', body: { type: 'group.list' } },
    { type: 'query', body: { type: 'agenda.export', nonsense: true } },
    'not an op',
  ]) {
    const error = await t.throwsAsync<AgendaError>(
      serviceRequestFrom(envelope({ actor: 'alice', credential, op }), verifier),
    );
    t.is(error?.code, 'unauthenticated', JSON.stringify(op));
    t.regex(error?.message ?? '', /feed token only reads its feed/);
  }
  // An access token still runs the export (the API's export route) and everything else.
  const { token: access } = await issuer.session('alice', 0);
  const viaApi = await serviceRequestFrom(
    envelope({
      actor: 'alice',
      credential: { kind: 'session', token: access },
      op: { type: 'command', body: { type: 'group.create', name: 'g', kind: 'team' } },
    }),
    verifier,
  );
  t.is(viaApi.actor, 'alice');
});

test('a device token reads and writes its calendar over CalDAV (dav.calendar, dav.sync, dav.put, dav.delete) and runs nothing else', async (t) => {
  const { issuer, verifier } = await keys();
  const { token } = await issuer.device('alice', 0, 'device-1');
  const credential = { kind: 'device' as const, token };
  for (const op of [
    { type: 'query', body: { type: 'dav.calendar', data: false } },
    { type: 'query', body: { type: 'dav.sync', token: null, data: false } },
    { type: 'dav.put', name: 'u1', ics: 'BEGIN:VCALENDAR', ifNoneMatch: ['*'] },
    { type: 'command', body: { type: 'dav.delete', name: 'u1', ifMatch: ['"0"'] } },
  ]) {
    const request = await serviceRequestFrom(
      envelope({ actor: 'alice', credential, op }),
      verifier,
    );
    t.deepEqual(request.session, { generation: 0, did: 'device-1' }, JSON.stringify(op));
  }
  for (const op of [
    { type: 'command', body: { type: 'event.create', draft: { title: 't', start: 0, end: 1 } } },
    { type: 'command', body: { type: 'event.cancel', eventId: 'e1' } },
    { type: 'command', body: { type: 'invitation.decline', eventId: 'e1' } },
    { type: 'command', body: { type: 'event.import', events: [] } },
    { type: 'agenda.import', ics: 'BEGIN:VCALENDAR' },
    { type: 'device.create' },
    { type: 'device.revoke', id: 'device-1' },
    { type: 'query', body: { type: 'event.list', from: 0, to: 1 } },
  ]) {
    const error = await t.throwsAsync<AgendaError>(
      serviceRequestFrom(envelope({ actor: 'alice', credential, op }), verifier),
    );
    t.is(error?.code, 'unauthenticated', JSON.stringify(op));
    t.regex(error?.message ?? '', /only opens its calendar over CalDAV/);
  }
});
