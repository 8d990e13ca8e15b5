/**
 * A deleted account through the whole request path (the real gateway, bus, users and groups
 * services and store, ../../server/gateway/in-process-system.ts), called as the CLI calls it:
 * its password is asked for, its live stream closes, and its tokens — access, refresh or
 * feed — are refused on every route that takes one, as the declaration lists them, and its
 * devices' app passwords open no CalDAV.
 */
import test from 'ava';
import { request } from 'undici';
import type { CallableRoute, RequestOf } from '../../cli/http/agenda-api.js';
import { isAgendaError } from '../../contract/errors.js';
import { API_ROUTES, type RouteName } from '../../contract/api-routes.js';
import { PortRange } from '../../server/bus/test-support.js';
import { startInProcessSystem } from '../../server/gateway/in-process-system.js';
import { apiOf } from './support.js';

const ports = new PortRange(28_980, 28_999);

const WEEK = { from: '2030-03-01T00:00:00Z', to: '2030-03-08T00:00:00Z' };

/** A valid request for each route a signed-in user calls (checked below to cover them all). */
const requests: Partial<{ readonly [K in CallableRoute]: RequestOf<K> }> = {
  me: {},
  logout: {},
  changePassword: { body: { currentPassword: 'old-passphrase', newPassword: 'new-passphrase' } },
  deleteAccount: { body: { password: 'a passphrase of hers' } },
  createFeed: {},
  feeds: {},
  revokeFeed: { params: { feedId: 'f1' } },
  createDevice: { body: { label: 'phone' } },
  devices: {},
  revokeDevice: { params: { deviceId: 'd1' } },
  createEvent: { body: { title: 'Standup', start: '2030-03-04T09:00:00Z', duration: '15m' } },
  listEvents: { query: WEEK },
  searchEvents: { query: { ...WEEK, q: 'meeting' } },
  showEvent: { params: { eventId: 'e1' } },
  updateEvent: { params: { eventId: 'e1' }, body: { title: 'Retro' } },
  cancelEvent: { params: { eventId: 'e1' } },
  invitations: {},
  acceptInvitation: { params: { eventId: 'e1' }, body: { allowConflict: true } },
  declineInvitation: { params: { eventId: 'e1' } },
  createGroup: { body: { name: 'ghosts', kind: 'flat' } },
  groups: {},
  showGroup: { params: { group: 'team' } },
  addMember: { params: { group: 'team' }, body: { username: 'bob' } },
  changeLevel: { params: { group: 'team', username: 'bob' }, body: { level: 2 } },
  removeMember: { params: { group: 'team', username: 'bob' } },
  transferGroup: { params: { group: 'team' }, body: { to: 'bob' } },
  leaveGroup: { params: { group: 'team' } },
  joinGroup: { params: { group: 'team' } },
  declineGroup: { params: { group: 'team' }, body: { block: true } },
  unblockGroup: { params: { group: 'team' } },
  agendas: { query: { users: 'bob', ...WEEK } },
  conflicts: { query: WEEK },
  free: { query: { group: 'team', ...WEEK, duration: '1h' } },
  exportCalendar: {},
  importCalendar: { calendar: 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n' },
};

test('a deleted account: its stream closes, and its tokens open nothing anywhere', async (t) => {
  const system = await startInProcessSystem(t, ports);
  const api = (token?: string) => apiOf(t, system, token);
  const refusal = async (call: Promise<unknown>): Promise<string> => {
    try {
      await call;
    } catch (error) {
      return isAgendaError(error) ? error.code : String(error);
    }
    return 'answered';
  };
  const anonymous = api();
  const password = 'a passphrase of hers';
  await anonymous.call('register', { body: { username: 'alice', password } });
  await anonymous.call('register', { body: { username: 'bob', password: 'a passphrase of his' } });
  const { token, refreshToken } = await anonymous.call('login', {
    body: { username: 'alice', password },
  });
  const alice = api(token);
  const { url: feedUrl } = await alice.call('createFeed', {});
  const device = await alice.call('createDevice', { body: { label: 'phone' } });
  const caldav = () =>
    request(`${system.url}/dav/calendars/alice/agenda/`, {
      method: 'PROPFIND',
      dispatcher: system.agent,
      headers: {
        depth: '1',
        authorization: `Basic ${Buffer.from(`alice:${device.password}`).toString('base64')}`,
      },
    });
  const before = await caldav();
  await before.body.dump();
  t.is(before.statusCode, 207, 'CalDAV with the app password, before');
  await alice.call('createEvent', {
    body: { title: 'Planning', start: '2030-03-04T10:00:00Z', duration: '1h', with: ['bob'] },
  });

  const stream = await request(`${system.url}/v1/stream`, {
    dispatcher: system.agent,
    headers: { authorization: `Bearer ${token}` },
  });
  t.is(stream.statusCode, 200);
  let received = '';
  const ended = (async () => {
    for await (const chunk of stream.body) received += (chunk as Buffer).toString();
  })();

  t.is(
    await refusal(alice.call('deleteAccount', { body: { password: 'not hers' } })),
    'unauthenticated',
  );
  const deleted = await alice.call('deleteAccount', { body: { password } });
  t.like(deleted, {
    deleted: true,
    username: 'alice',
    complete: true,
    removed: { eventsCancelled: 1, feedsRevoked: 1, devicesRevoked: 1 },
  });
  // Her stream is told, then closed by the gateway.
  await ended;
  t.regex(received, /"kind":"session","change":"deleted"/);

  // Every route a signed-in user calls refuses her token.
  const userRoutes = (Object.keys(API_ROUTES) as RouteName[]).filter(
    (name) => API_ROUTES[name].auth === 'user' && name !== 'liveUpdates',
  );
  for (const name of userRoutes as CallableRoute[]) {
    const sent = requests[name];
    if (sent === undefined) {
      t.fail(`no request for ${name}: add one`);
      continue;
    }
    const call = alice.call(name, sent as RequestOf<typeof name>);
    t.is(await refusal(call), 'unauthenticated', name);
  }
  const again = await request(`${system.url}/v1/stream`, {
    dispatcher: system.agent,
    headers: { authorization: `Bearer ${token}` },
  });
  await again.body.dump();
  t.is(again.statusCode, 401, 'a new live stream');
  const feed = await request(feedUrl, { dispatcher: system.agent });
  await feed.body.dump();
  t.is(feed.statusCode, 401, 'the calendar feed');
  const after = await caldav();
  await after.body.dump();
  t.is(after.statusCode, 401, 'CalDAV with the app password, after');
  // Her session cannot be renewed, nobody signs in as her, and her name is not given again.
  t.is(
    await refusal(anonymous.call('refreshSession', { body: { refreshToken } })),
    'unauthenticated',
  );
  t.is(
    await refusal(anonymous.call('login', { body: { username: 'alice', password } })),
    'unauthenticated',
  );
  t.is(
    await refusal(anonymous.call('register', { body: { username: 'alice', password } })),
    'conflict',
  );
});
