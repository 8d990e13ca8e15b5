/**
 * The API is declared once (contract/api-routes.ts); these tests walk the declaration
 * and check that both of its users follow it at run time, where the compiler cannot look:
 * the gateway's router holds exactly the declared routes, in order; the CLI's client sends
 * every route to a path the router gives to that same route; and a real gateway applies each
 * route's declared authentication, query parameters and body schema.
 */
import test from 'ava';
import { AgendaApi, type CallableRoute, type RequestOf } from '../../cli/http/agenda-api.js';
import type { GatewayAnswer, GatewayCall, GatewayClient } from '../../cli/http/gateway-client.js';
import { followLiveUpdates } from '../../cli/http/live-updates.js';
import { InvalidInput } from '../../contract/errors.js';
import {
  API_ROUTES,
  queryNames,
  type RouteDeclaration,
  type RouteName,
} from '../../contract/api-routes.js';
import { apiHandlers, apiRouter, type BoundRoute } from '../../server/gateway/routes.js';
import type { Router } from '../../server/gateway/router.js';
import { portsFrom, startTestGateway } from '../../server/gateway/test-support.js';

/** This file's ports: 30040–30049. */
const nextPort = portsFrom(30040, 10);

const declared = Object.entries(API_ROUTES) as [RouteName, RouteDeclaration][];

function router(): Router<BoundRoute> {
  return apiRouter({
    ...apiHandlers,
    health: () => Promise.resolve({ ok: true }),
    readiness: () => Promise.resolve({ ok: true }),
    metrics: () => Promise.resolve({ contentType: 'text/plain', body: '' }),
  });
}

/** A valid request for every route the client calls; the type makes it cover them all. */
const requests: { readonly [K in CallableRoute]: RequestOf<K> } = {
  register: { body: { username: 'alice', password: 'secret' } },
  login: { body: { username: 'alice', password: 'secret' } },
  refreshSession: { body: { refreshToken: 'refresh-token' } },
  me: {},
  logout: {},
  changePassword: { body: { currentPassword: 'old-passphrase', newPassword: 'new-passphrase' } },
  deleteAccount: { body: { password: 'old-passphrase' } },
  feeds: {},
  revokeFeed: { params: { feedId: 'f1' } },
  devices: {},
  revokeDevice: { params: { deviceId: 'd1' } },
  createEvent: { body: { title: 'Standup', start: '2026-03-02T09:00:00Z', duration: '15m' } },
  listEvents: { query: { from: '2026-03-01T00:00:00Z', to: '2026-03-08T00:00:00Z' } },
  searchEvents: {
    query: { q: 'standup', from: '2026-03-01T00:00:00Z', to: '2026-03-08T00:00:00Z' },
  },
  showEvent: { params: { eventId: 'e1' } },
  updateEvent: { params: { eventId: 'e1' }, body: { title: 'Retro' } },
  cancelEvent: { params: { eventId: 'e1' } },
  invitations: {},
  acceptInvitation: { params: { eventId: 'e1' }, body: { allowConflict: true } },
  declineInvitation: { params: { eventId: 'e1' } },
  createGroup: { body: { name: 'team', kind: 'flat' } },
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
  agendas: { query: { group: 'team', from: '2026-03-01T00:00:00Z', to: '2026-03-08T00:00:00Z' } },
  conflicts: { query: { from: '2026-03-01T00:00:00Z', to: '2026-03-08T00:00:00Z' } },
  free: {
    query: {
      group: 'team',
      from: '2026-03-01T00:00:00Z',
      to: '2026-03-08T00:00:00Z',
      duration: '1h',
    },
  },
  exportCalendar: {},
  importCalendar: { calendar: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n' },
  createFeed: {},
  createDevice: {},
  feedCalendar: { params: { token: 'a.b.c' } },
  health: {},
  readiness: {},
  metrics: {},
};

/** A GatewayClient that records what it is asked to send and answers every member at once. */
function recordingGateway(sent: GatewayCall[], streams: string[]): GatewayClient {
  const answer = (call: GatewayCall): GatewayAnswer => ({
    status: 200,
    contentType: 'application/json',
    body: call.accept === undefined ? JSON.stringify(everyMember()) : 'text',
    server: new URL('https://127.0.0.1:1'),
  });
  const fake: Pick<GatewayClient, 'call' | 'json' | 'openStream'> = {
    call: (call) => {
      sent.push(call);
      return Promise.resolve(answer(call));
    },
    json: <T>(call: GatewayCall) => {
      sent.push(call);
      return Promise.resolve(everyMember() as T);
    },
    openStream: (path) => {
      streams.push(path);
      // A refusal no retry can fix, so that following the stream ends at once.
      return Promise.reject(new InvalidInput('recorded'));
    },
  };
  return fake as GatewayClient;
}

/** An answer carrying every member any JSON route declares, with `next` null to end lists. */
function everyMember(): Record<string, unknown> {
  const members: Record<string, unknown> = { next: null };
  for (const [, route] of declared) {
    if (route.answer.kind === 'json') members[route.answer.field] ??= [];
  }
  return members;
}

test('the router holds exactly the declared routes, in declaration order', (t) => {
  t.deepEqual(
    router().routes.map((route) => [route.handler.name, route.method, route.template]),
    declared.map(([name, route]) => [name, route.method, route.path]),
  );
});

test('the client sends every declared route to a path the router gives that same route', async (t) => {
  const sent: GatewayCall[] = [];
  const streams: string[] = [];
  const api = new AgendaApi(recordingGateway(sent, streams));
  const routes = router();
  const send = <K extends CallableRoute>(name: K) => api.call(name, requests[name]);
  for (const name of Object.keys(requests) as CallableRoute[]) {
    sent.length = 0;
    await send(name);
    t.is(sent.length, 1, name);
    const call = sent[0] as GatewayCall;
    const match = routes.match(call.method, call.path);
    t.is(match.kind === 'found' ? match.route.handler.name : match.kind, name, call.path);
    const route: RouteDeclaration = API_ROUTES[name];
    t.is(call.authenticated, route.auth === 'user', name);
    for (const key of Object.keys(call.query ?? {})) {
      t.true(queryNames(route).includes(key), `${name} sends ${key}`);
    }
  }
  // The live stream is the one route the client follows rather than calls.
  const updates = followLiveUpdates(recordingGateway(sent, streams), new AbortController().signal);
  await t.throwsAsync(updates.next(), { message: 'recorded' });
  const match = routes.match('GET', streams[0] ?? '');
  t.is(match.kind === 'found' ? match.route.handler.name : match.kind, 'liveUpdates');
});

test('a gateway applies each route’s declared authentication, query parameters and body', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const token = await g.token('alice');
  const path = (route: RouteDeclaration): string =>
    route.path.replace(/:([A-Za-z]+)/g, (_, name: string) =>
      name === 'eventId' ? 'e1' : name === 'token' ? 'not-a-token' : 'team',
    );
  for (const [name, route] of declared) {
    const method = route.method;
    if (route.auth !== 'none') {
      const anonymous = await g.call(path(route), { method });
      t.is(anonymous.status, 401, `${name} without credentials`);
    }
    if (route.auth === 'feed' || route.auth === 'operator') continue;
    const undeclared = await g.call(`${path(route)}?undeclared=1`, { method, token });
    t.is(undeclared.status, 400, `${name} with an undeclared query parameter`);
    t.like(undeclared.json, { error: { details: { field: 'undeclared' } } }, name);
    const body = route.body ?? { kind: 'none' };
    if (body.kind === 'json') {
      const extra = await g.call(path(route), { method, token, body: { undeclared: 1 } });
      t.is(extra.status, 400, `${name} with a field its schema does not have`);
      t.like(extra.json, { error: { details: { field: 'undeclared' } } }, name);
    }
    if (body.kind === 'calendar') {
      const missing = await g.call(`${path(route)}`, { method, token });
      t.is(missing.status, 400, `${name} without its iCalendar body`);
    }
  }
  t.is(g.dispatcher.calls.length, 0, 'no refused request reached a service');
});
