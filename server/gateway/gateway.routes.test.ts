import test from 'ava';
import { request } from 'undici';
import { encodeCursor } from '../domain/index.js';
import { Unavailable } from '../../contract/errors.js';
import type { Op, ServiceName } from '../protocol/ops.js';
import { portsFrom, startTestGateway, type CallOptions } from './test-support.js';

/** This file's ports: 29500–29599. */
const nextPort = portsFrom(29500);

const at = (iso: string): number => Date.parse(iso);
const MINUTE = 60_000;

interface RouteCase {
  readonly title: string;
  readonly path: string;
  readonly request: CallOptions & { readonly signedIn?: boolean };
  readonly service: ServiceName;
  readonly op: Op;
  /** What the fake service answers; `{}` when absent. */
  readonly result?: unknown;
  readonly status?: number;
  /** Expected JSON answer; the service's result when absent. */
  readonly answer?: unknown;
}

/** Cursors as the store answers them in `next`. */
const eventCursor = encodeCursor('event', {
  start: at('2026-03-02T09:00Z'),
  end: at('2026-03-02T10:00Z'),
  eventId: 'e1',
});
const conflictCursor = encodeCursor('conflict', {
  start: at('2026-03-02T09:30Z'),
  end: at('2026-03-02T10:00Z'),
  first: { start: at('2026-03-02T09:00Z'), end: at('2026-03-02T10:00Z'), eventId: 'e1' },
  second: { start: at('2026-03-02T09:30Z'), end: at('2026-03-02T10:30Z'), eventId: 'e2' },
});

const scheduledResult = {
  event: { id: 'e1', title: 'Standup' },
  conflicts: [],
  imposedConflicts: ['carol'],
};

const cases: readonly RouteCase[] = [
  {
    title: 'register needs no token and goes to users',
    path: '/v1/users',
    request: { body: { username: 'alice', password: 'correct horse', name: 'Alice' } },
    service: 'users',
    op: { type: 'account.register', username: 'alice', password: 'correct horse', name: 'Alice' },
    result: { user: { username: 'alice', name: 'Alice' } },
    status: 201,
  },
  {
    title: 'login needs no token',
    path: '/v1/sessions',
    request: { body: { username: 'alice', password: 'correct horse' } },
    service: 'users',
    op: { type: 'account.login', username: 'alice', password: 'correct horse' },
    result: { token: 't', expiresAt: '2026-01-01T00:00:00.000Z', user: { username: 'alice' } },
  },
  {
    title: 'me',
    path: '/v1/me',
    request: { signedIn: true },
    service: 'users',
    op: { type: 'account.me' },
  },
  {
    title: 'account deletion takes the password and goes to users',
    path: '/v1/account/delete',
    request: { signedIn: true, body: { password: 'correct horse' } },
    service: 'users',
    op: { type: 'account.delete', password: 'correct horse' },
    result: {
      deleted: true,
      username: 'alice',
      deletedAt: '2026-03-02T09:00:00.000Z',
      complete: true,
      removed: { eventsDeleted: 2, feedsRevoked: 1 },
    },
  },
  {
    title: 'create: offsets honoured, duration becomes end, repeat becomes recurrence',
    path: '/v1/events',
    request: {
      signedIn: true,
      body: {
        title: 'Standup',
        start: '2026-03-02T10:00:00+01:00',
        duration: '1h30m',
        repeat: 'FREQ=WEEKLY;BYDAY=MO',
        timeZone: 'Europe/Madrid',
        visibility: 'public',
        with: ['bob'],
        allowConflict: true,
      },
    },
    service: 'users',
    op: {
      type: 'command',
      body: {
        type: 'event.create',
        draft: {
          title: 'Standup',
          start: at('2026-03-02T09:00:00Z'),
          end: at('2026-03-02T09:00:00Z') + 90 * MINUTE,
          timeZone: 'Europe/Madrid',
          visibility: 'public',
          recurrence: 'FREQ=WEEKLY;BYDAY=MO',
        },
        with: ['bob'],
        allowConflict: true,
      },
    },
    result: scheduledResult,
    status: 201,
  },
  {
    title: 'create for a group goes to groups',
    path: '/v1/events',
    request: {
      signedIn: true,
      body: {
        title: 'Review',
        start: '2026-03-02T09:00:00Z',
        end: '2026-03-02T09:30:00-00:00',
        group: 'team',
      },
    },
    service: 'groups',
    op: {
      type: 'command',
      body: {
        type: 'event.create',
        draft: { title: 'Review', start: at('2026-03-02T09:00Z'), end: at('2026-03-02T09:30Z') },
        group: 'team',
      },
    },
    result: scheduledResult,
    status: 201,
  },
  {
    title: 'list events in an interval',
    path: '/v1/events?from=2026-03-01T00:00:00%2B02:00&to=2026-03-08T00:00:00Z',
    request: { signedIn: true },
    service: 'users',
    op: {
      type: 'query',
      body: { type: 'event.list', from: at('2026-02-28T22:00:00Z'), to: at('2026-03-08T00:00Z') },
    },
    result: { events: [], next: null },
  },
  {
    title: 'list events: a page after a cursor, and the cursor of the next one',
    path: `/v1/events?from=2026-03-01T00:00:00Z&to=2026-03-08T00:00:00Z&limit=2&after=${eventCursor}`,
    request: { signedIn: true },
    service: 'users',
    op: {
      type: 'query',
      body: {
        type: 'event.list',
        from: at('2026-03-01T00:00Z'),
        to: at('2026-03-08T00:00Z'),
        limit: 2,
        after: eventCursor,
      },
    },
    result: { events: [{ id: 'e2' }, { id: 'e3' }], next: 'opaque-next' },
  },
  {
    title: 'show an event',
    path: '/v1/events/e-1_x',
    request: { signedIn: true },
    service: 'users',
    op: { type: 'query', body: { type: 'event.show', eventId: 'e-1_x' } },
  },
  {
    title: 'update: new start with duration, recurrence ended, with becomes invite',
    path: '/v1/events/e1',
    request: {
      signedIn: true,
      method: 'PATCH',
      body: { start: '2026-03-03T08:00:00-05:00', duration: '45m', repeat: null, with: ['dan'] },
    },
    service: 'users',
    op: {
      type: 'command',
      body: {
        type: 'event.update',
        eventId: 'e1',
        changes: {
          start: at('2026-03-03T13:00:00Z'),
          end: at('2026-03-03T13:45:00Z'),
          recurrence: null,
        },
        invite: ['dan'],
      },
    },
    result: scheduledResult,
  },
  {
    title: 'cancel an event',
    path: '/v1/events/e1',
    request: { signedIn: true, method: 'DELETE' },
    service: 'users',
    op: { type: 'command', body: { type: 'event.cancel', eventId: 'e1' } },
  },
  {
    title: 'cancel one occurrence of a series',
    path: '/v1/events/e1?occurrence=2026-03-09T10:00:00%2B01:00',
    request: { signedIn: true, method: 'DELETE' },
    service: 'users',
    op: {
      type: 'command',
      body: {
        type: 'event.cancelOccurrence',
        eventId: 'e1',
        occurrenceStart: at('2026-03-09T09:00Z'),
      },
    },
  },
  {
    title: 'update one occurrence of a series on its own',
    path: '/v1/events/e1?occurrence=2026-03-09T10:00:00%2B01:00',
    request: {
      signedIn: true,
      method: 'PATCH',
      body: { title: 'Demo', start: '2026-03-09T14:00:00Z', duration: '30m', allowConflict: true },
    },
    service: 'users',
    op: {
      type: 'command',
      body: {
        type: 'event.updateOccurrence',
        eventId: 'e1',
        occurrenceStart: at('2026-03-09T09:00Z'),
        changes: {
          title: 'Demo',
          start: at('2026-03-09T14:00Z'),
          end: at('2026-03-09T14:30Z'),
        },
        allowConflict: true,
      },
    },
    result: scheduledResult,
  },
  {
    title: 'list invitations',
    path: '/v1/invitations',
    request: { signedIn: true },
    service: 'users',
    op: { type: 'query', body: { type: 'invitation.list' } },
  },
  {
    title: 'accept an invitation despite a conflict',
    path: '/v1/invitations/e1/accept',
    request: { signedIn: true, body: { allowConflict: true } },
    service: 'users',
    op: {
      type: 'command',
      body: { type: 'invitation.accept', eventId: 'e1', allowConflict: true },
    },
  },
  {
    title: 'accept with no body',
    path: '/v1/invitations/e1/accept',
    request: { signedIn: true, method: 'POST' },
    service: 'users',
    op: { type: 'command', body: { type: 'invitation.accept', eventId: 'e1' } },
  },
  {
    title: 'decline an invitation',
    path: '/v1/invitations/e1/decline',
    request: { signedIn: true, method: 'POST' },
    service: 'users',
    op: { type: 'command', body: { type: 'invitation.decline', eventId: 'e1' } },
  },
  {
    title: 'create a group',
    path: '/v1/groups',
    request: { signedIn: true, body: { name: 'team', kind: 'hierarchical' } },
    service: 'groups',
    op: { type: 'command', body: { type: 'group.create', name: 'team', kind: 'hierarchical' } },
    status: 201,
  },
  {
    title: 'list groups',
    path: '/v1/groups',
    request: { signedIn: true },
    service: 'groups',
    op: { type: 'query', body: { type: 'group.list' } },
  },
  {
    title: 'show a group (name percent-decoded)',
    path: '/v1/groups/r%26d',
    request: { signedIn: true },
    service: 'groups',
    op: { type: 'query', body: { type: 'group.show', group: 'r&d' } },
  },
  {
    title: 'add a member at a level',
    path: '/v1/groups/team/members',
    request: { signedIn: true, body: { username: 'bob', level: 2 } },
    service: 'groups',
    op: {
      type: 'command',
      body: { type: 'group.addMember', group: 'team', username: 'bob', level: 2 },
    },
  },
  {
    title: 'change a level',
    path: '/v1/groups/team/members/bob',
    request: { signedIn: true, method: 'PATCH', body: { level: 3 } },
    service: 'groups',
    op: {
      type: 'command',
      body: { type: 'group.changeLevel', group: 'team', username: 'bob', level: 3 },
    },
  },
  {
    title: 'remove a member',
    path: '/v1/groups/team/members/bob',
    request: { signedIn: true, method: 'DELETE' },
    service: 'groups',
    op: { type: 'command', body: { type: 'group.removeMember', group: 'team', username: 'bob' } },
  },
  {
    title: 'leave a group (dissolved)',
    path: '/v1/groups/team/leave',
    request: { signedIn: true, method: 'POST' },
    service: 'groups',
    op: { type: 'command', body: { type: 'group.leave', group: 'team' } },
    result: { group: null },
  },
  {
    title: "a group's agendas",
    path: '/v1/agendas?group=team&from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z',
    request: { signedIn: true },
    service: 'users',
    op: {
      type: 'query',
      body: {
        type: 'agenda.view',
        targets: { group: 'team' },
        from: at('2026-03-01T00:00Z'),
        to: at('2026-03-02T00:00Z'),
      },
    },
    result: { agendas: [] },
  },
  {
    title: "some users' agendas",
    path: '/v1/agendas?users=bob,%20carol&from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z',
    request: { signedIn: true },
    service: 'users',
    op: {
      type: 'query',
      body: {
        type: 'agenda.view',
        targets: { users: ['bob', 'carol'] },
        from: at('2026-03-01T00:00Z'),
        to: at('2026-03-02T00:00Z'),
      },
    },
  },
  {
    title: 'conflicts in an interval',
    path: '/v1/conflicts?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z',
    request: { signedIn: true },
    service: 'users',
    op: {
      type: 'query',
      body: { type: 'conflicts.list', from: at('2026-03-01T00:00Z'), to: at('2026-04-01T00:00Z') },
    },
  },
  {
    title: 'conflicts: the page after a cursor',
    path: `/v1/conflicts?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&after=${conflictCursor}`,
    request: { signedIn: true },
    service: 'users',
    op: {
      type: 'query',
      body: {
        type: 'conflicts.list',
        from: at('2026-03-01T00:00Z'),
        to: at('2026-04-01T00:00Z'),
        after: conflictCursor,
      },
    },
    result: { conflicts: [], next: null },
  },
  {
    title: "agendas: a page's size counts entries",
    path: '/v1/agendas?users=bob&from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z&limit=500',
    request: { signedIn: true },
    service: 'users',
    op: {
      type: 'query',
      body: {
        type: 'agenda.view',
        targets: { users: ['bob'] },
        from: at('2026-03-01T00:00Z'),
        to: at('2026-03-02T00:00Z'),
        limit: 500,
      },
    },
  },
  {
    title: 'common free time, duration in ms',
    path: '/v1/free?group=team&from=2026-03-02T08:00:00Z&to=2026-03-02T18:00:00Z&duration=PT45M',
    request: { signedIn: true },
    service: 'users',
    op: {
      type: 'query',
      body: {
        type: 'free.find',
        group: 'team',
        from: at('2026-03-02T08:00Z'),
        to: at('2026-03-02T18:00Z'),
        duration: 45 * MINUTE,
      },
    },
    result: { slots: [] },
  },
  {
    title: 'free time with named users',
    path: '/v1/free?users=bob,%20carol&from=2026-03-02T08:00:00Z&to=2026-03-02T18:00:00Z&duration=1h',
    request: { signedIn: true },
    service: 'users',
    op: {
      type: 'query',
      body: {
        type: 'free.find',
        users: ['bob', 'carol'],
        from: at('2026-03-02T08:00Z'),
        to: at('2026-03-02T18:00Z'),
        duration: 60 * MINUTE,
      },
    },
    result: { slots: [] },
  },
  {
    title: 'import a calendar',
    path: '/v1/import?allowConflict=true',
    request: {
      signedIn: true,
      body: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n',
      headers: { 'content-type': 'text/calendar; charset=utf-8' },
    },
    service: 'users',
    op: { type: 'agenda.import', ics: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n', allowConflict: true },
    result: { events: [], failed: [], skipped: [] },
  },
  {
    title: 'import reads floating times in the given zone',
    path: '/v1/import?timeZone=Europe/Madrid',
    request: {
      signedIn: true,
      body: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n',
      headers: { 'content-type': 'text/calendar' },
    },
    service: 'users',
    op: {
      type: 'agenda.import',
      ics: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n',
      defaultTimeZone: 'Europe/Madrid',
    },
    result: { events: [], failed: [], skipped: [] },
  },
  {
    // Outside attack 7: Google writes no CLASS, which RFC 5545 reads as PUBLIC.
    title: 'import gives the visibility asked for to events without CLASS',
    path: '/v1/import?visibility=busy',
    request: {
      signedIn: true,
      body: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n',
      headers: { 'content-type': 'text/calendar' },
    },
    service: 'users',
    op: {
      type: 'agenda.import',
      ics: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n',
      defaultVisibility: 'busy',
    },
    result: { events: [], failed: [], skipped: [] },
  },
];

for (const c of cases) {
  test(`${c.title}: ${c.request.method ?? (c.request.body === undefined ? 'GET' : 'POST')} ${c.path.split('?')[0] ?? ''}`, async (t) => {
    const g = await startTestGateway(t, nextPort());
    g.dispatcher.respond = () => c.result ?? {};
    const token = c.request.signedIn ? await g.token('alice') : null;
    const answer = await g.call(c.path, { ...c.request, token });
    t.is(answer.status, c.status ?? 200, answer.text);
    t.deepEqual(answer.json, c.answer ?? c.result ?? {});
    const sent = g.dispatcher.only();
    t.is(sent.service, c.service);
    t.is(sent.actor, c.request.signedIn ? 'alice' : null);
    t.deepEqual(sent.op, c.op);
  });
}

test('a malformed page size or cursor is refused before anything is sent', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const token = await g.token('alice');
  const week = 'from=2026-03-01T00:00:00Z&to=2026-03-08T00:00:00Z';
  const refusals: Array<[string, string]> = [
    [`/v1/events?${week}&limit=0`, 'limit'],
    [`/v1/events?${week}&limit=501`, 'limit'],
    [`/v1/events?${week}&limit=ten`, 'limit'],
    [`/v1/events?${week}&after=not%20a%20cursor`, 'after'],
    [`/v1/events?${week}&after=${Buffer.from('{"k":"event"}').toString('base64url')}`, 'after'],
    // A cursor of another list is not one of this list.
    [`/v1/events?${week}&after=${conflictCursor}`, 'after'],
    [`/v1/conflicts?${week}&after=${eventCursor}`, 'after'],
    [`/v1/agendas?group=team&${week}&after=${eventCursor}`, 'after'],
  ];
  for (const [path, field] of refusals) {
    const answer = await g.call(path, { token });
    t.is(answer.status, 400, path);
    t.like(answer.json, { error: { code: 'invalid', details: { field } } }, path);
  }
  t.is(g.dispatcher.calls.length, 0);
});

test('one occurrence is refused a rule or new invitees before anything is sent', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const token = await g.token('alice');
  const refusals: Array<[object, string]> = [
    [{ repeat: 'FREQ=DAILY' }, 'repeat'],
    [{ repeat: null }, 'repeat'],
    [{ with: ['dan'] }, 'with'],
  ];
  for (const [body, field] of refusals) {
    const answer = await g.call('/v1/events/e1?occurrence=2026-03-09T09:00:00Z', {
      token,
      method: 'PATCH',
      body,
    });
    t.is(answer.status, 400, field);
    t.like(answer.json, { error: { code: 'invalid', details: { field } } }, field);
  }
  const malformed = await g.call('/v1/events/e1?occurrence=monday', {
    token,
    method: 'PATCH',
    body: { title: 'x' },
  });
  t.like(malformed.json, { error: { code: 'invalid', details: { field: 'occurrence' } } });
  t.is(g.dispatcher.calls.length, 0);
});

test("export streams the store's pages in order as one text/calendar answer", async (t) => {
  const g = await startTestGateway(t, nextPort());
  const pages: Record<string, { ics: string; next: string | null }> = {
    first: { ics: 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\n', next: 's:1:a' },
    's:1:a': { ics: 'BEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\n', next: 'l' },
    l: { ics: 'END:VCALENDAR\r\n', next: null },
  };
  g.dispatcher.respond = ({ op }) =>
    op.type === 'query' && op.body.type === 'agenda.export' ? pages[op.body.after ?? 'first'] : {};
  const answer = await g.call('/v1/export?from=2026-01-01T00:00:00Z', {
    token: await g.token('alice'),
  });
  t.is(answer.status, 200);
  t.regex(String(answer.headers['content-type']), /^text\/calendar/);
  t.is(
    answer.text,
    Object.values(pages)
      .map((p) => p.ics)
      .join(''),
  );
  const from = at('2026-01-01T00:00Z');
  t.deepEqual(
    g.dispatcher.calls.map((c) => c.op),
    [
      { type: 'query', body: { type: 'agenda.export', from } },
      { type: 'query', body: { type: 'agenda.export', from, after: 's:1:a' } },
      { type: 'query', body: { type: 'agenda.export', from, after: 'l' } },
    ],
  );
});

test('an export whose first page fails is refused; one whose later page fails is cut short, never ended', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const token = await g.token('alice');
  g.dispatcher.respond = () => {
    throw new Unavailable('the store has no leader');
  };
  const refused = await g.call('/v1/export', { token });
  t.is(refused.status, 503);
  t.like(refused.json, { error: { code: 'unavailable' } });

  g.dispatcher.respond = ({ op }) => {
    if (op.type === 'query' && op.body.type === 'agenda.export' && op.body.after === undefined) {
      return { ics: 'BEGIN:VCALENDAR\r\n', next: 'l' };
    }
    throw new Unavailable('the store has no leader');
  };
  // The client sees an incomplete answer (the connection cut inside the chunked body), not
  // a calendar that looks whole.
  await t.throwsAsync(g.call('/v1/export', { token }));

  // A later page unanswered once is asked for again, and the calendar goes on.
  let failures = 0;
  g.dispatcher.respond = ({ op }) => {
    if (op.type !== 'query' || op.body.type !== 'agenda.export') return {};
    if (op.body.after === undefined) return { ics: 'BEGIN:VCALENDAR\r\n', next: 'e' };
    if (failures++ === 0) throw new Unavailable('the users service did not answer within 10 s');
    return { ics: 'END:VCALENDAR\r\n', next: null };
  };
  const resumed = await g.call('/v1/export', { token });
  t.is(resumed.status, 200);
  t.is(resumed.text, 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n');
});

test('a client that stops reading an export is cut once a part waits too long, and no page is fetched after', async (t) => {
  const g = await startTestGateway(t, nextPort(), { partDrainTimeoutMs: 300 });
  const page = 'X'.repeat(1 << 20);
  let pages = 0;
  // An export without end: only the client's reading (or not) stops it.
  g.dispatcher.respond = () => ({ ics: page, next: `s:${++pages}:a` });
  const response = await request(`${g.url}/v1/export`, {
    dispatcher: g.agent,
    headers: { authorization: `Bearer ${await g.token('alice')}` },
  });
  t.is(response.statusCode, 200);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const fetched = g.dispatcher.calls.length;
  t.true(fetched < 20, `${fetched} pages fetched for a client that read none`);
  await t.throwsAsync(response.body.text());
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.is(g.dispatcher.calls.length, fetched);
});

const FEED = {
  id: 'feed1',
  label: 'phone',
  createdAt: '2030-01-01T00:00:00.000Z',
  expiresAt: '2031-01-01T00:00:00.000Z',
};

test('a feed is created as an absolute URL, and its token opens the feed', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const feedToken = await g.feedToken('alice');
  g.dispatcher.respond = ({ op }) =>
    op.type === 'feed.create'
      ? { url: `/v1/feeds/${feedToken}/calendar.ics`, feed: FEED }
      : { ics: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n', next: null };

  const created = await g.call('/v1/feeds', { method: 'POST', token: await g.token('alice') });
  t.is(created.status, 200, created.text);
  const { url } = created.json as { url: string };
  t.is(url, `${g.url}/v1/feeds/${feedToken}/calendar.ics`);

  const feed = await g.call(new URL(url).pathname);
  t.is(feed.status, 200, feed.text);
  t.regex(String(feed.headers['content-type']), /^text\/calendar/);
  const exported = g.dispatcher.calls[1];
  t.is(exported?.actor, 'alice');
  t.deepEqual(exported?.op, { type: 'query', body: { type: 'agenda.export' } });
  // The feed token goes with the request, for the service to verify again.
  t.deepEqual(exported?.options.credential, { kind: 'feed', token: feedToken });
});

test('a signed-in request carries its session for the store to check; logout and password change are sent as such', async (t) => {
  const g = await startTestGateway(t, nextPort());
  g.dispatcher.respond = ({ op }) =>
    op.type === 'account.logout'
      ? { loggedOut: true }
      : {
          token: 'new',
          expiresAt: '2030-01-01T00:00:00.000Z',
          user: { username: 'alice', name: '' },
        };
  const token = await g.token('alice');
  const out = await g.call('/v1/sessions/current', { method: 'DELETE', token });
  t.is(out.status, 200, out.text);
  t.deepEqual(out.json, { loggedOut: true });
  const sent = g.dispatcher.calls[0];
  t.deepEqual(sent?.op, { type: 'account.logout' });
  t.deepEqual(sent?.options.credential, { kind: 'session', token });
  const changed = await g.call('/v1/account/password', {
    method: 'POST',
    token,
    body: { currentPassword: 'correct horse battery', newPassword: 'a new passphrase' },
  });
  t.is(changed.status, 200, changed.text);
  t.deepEqual(g.dispatcher.calls[1]?.op, {
    type: 'account.changePassword',
    currentPassword: 'correct horse battery',
    newPassword: 'a new passphrase',
  });
});

test('a session token that predates sessions that can end is refused: its holder logs in again', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const old = await g.craftedToken({ sid: undefined, gen: undefined });
  const answer = await g.call('/v1/me', { token: old });
  t.is(answer.status, 401);
  t.regex(answer.text, /predates sessions that can end/);
});

test('the feed URL uses the configured public URL', async (t) => {
  const g = await startTestGateway(t, nextPort(), { publicUrl: 'https://agenda.example:8443/' });
  g.dispatcher.respond = () => ({ url: '/v1/feeds/a.b.c/calendar.ics', feed: FEED });
  const created = await g.call('/v1/feeds', { method: 'POST', token: await g.token('alice') });
  t.deepEqual(created.json, {
    url: 'https://agenda.example:8443/v1/feeds/a.b.c/calendar.ics',
    feed: FEED,
  });
});

test('idempotency-key names the request, per user, with a deadline; without it each request gets a fresh id', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const token = await g.token('alice');
  const keyed = await g.call('/v1/events/e1', {
    method: 'DELETE',
    token,
    headers: { 'idempotency-key': 'retry-me_42' },
  });
  t.is(keyed.headers['x-request-id'], 'retry-me_42');
  await g.call('/v1/events/e1', { method: 'DELETE', token });
  await g.call('/v1/events/e1', { method: 'DELETE', token });
  const again = { method: 'DELETE', token, headers: { 'idempotency-key': 'retry-me_42' } };
  await g.call('/v1/events/e1', again);
  await g.call('/v1/events/e1', { ...again, token: await g.token('bob') });
  const [first, second, third, retried, bobs] = g.dispatcher.calls;
  // The same user's retry travels under the same id; another user's same key never does.
  t.regex(first?.options.requestId ?? '', /^[A-Za-z0-9_-]{16,64}$/);
  t.is(retried?.options.requestId, first?.options.requestId);
  t.not(bobs?.options.requestId, first?.options.requestId);
  t.truthy(second?.options.requestId.match(/^[A-Za-z0-9_-]{16,64}$/));
  t.not(second?.options.requestId, third?.options.requestId);
  t.is(first?.options.deadlineMs, 10_000);
  t.false(first?.options.signal?.aborted ?? true);
});

test('a malformed idempotency-key is refused before anything is sent', async (t) => {
  const g = await startTestGateway(t, nextPort());
  const answer = await g.call('/v1/events/e1', {
    method: 'DELETE',
    token: await g.token('alice'),
    headers: { 'idempotency-key': 'has spaces;and=more' },
  });
  t.is(answer.status, 400);
  t.like(answer.json, { error: { code: 'invalid', details: { field: 'idempotency-key' } } });
  t.is(g.dispatcher.calls.length, 0);
});

test('an anonymous request with a key travels under an id of that key and that request only', async (t) => {
  const g = await startTestGateway(t, nextPort());
  g.dispatcher.respond = () => ({ user: { username: 'alice', name: '' } });
  const register = (username: string) =>
    g.call('/v1/users', {
      body: { username, password: 'correct horse battery' },
      headers: { 'idempotency-key': 'same-key' },
    });
  await register('alice');
  await register('alice');
  await register('mallory');
  const [first, retried, other] = g.dispatcher.calls;
  t.is(retried?.options.requestId, first?.options.requestId);
  // Mallory choosing Alice's key must not share her request, nor receive her answer.
  t.not(other?.options.requestId, first?.options.requestId);
});

test('a refresh needs no access token, carries its refresh token to users, and travels under an id of its key and token', async (t) => {
  const g = await startTestGateway(t, nextPort());
  g.dispatcher.respond = () => ({ token: 'a.b.c', expiresAt: '2030-01-01T00:00:00.000Z' });
  const refresh = (refreshToken: string, key?: string) =>
    g.call('/v1/sessions/refresh', {
      body: { refreshToken },
      ...(key === undefined ? {} : { headers: { 'idempotency-key': key } }),
    });
  const answer = await refresh('r.e.f', 'same-key');
  t.is(answer.status, 200, answer.text);
  await refresh('r.e.f', 'same-key');
  await refresh('o.t.h', 'same-key');
  await refresh('r.e.f', 'other-key');
  await refresh('r.e.f');
  await refresh('r.e.f');
  const [first, again, otherToken, otherKey, unkeyed, unkeyedAgain] = g.dispatcher.calls;
  t.is(first?.service, 'users');
  t.is(first?.actor, null);
  t.deepEqual(first?.op, { type: 'account.refresh', refreshToken: 'r.e.f' });
  t.is(first?.options.credential, undefined);
  // A renewal whose answer was lost, sent again, meets the rotation it made.
  t.is(again?.options.requestId, first?.options.requestId);
  // Nobody without the very refresh token joins it, and another key is another renewal.
  t.not(otherToken?.options.requestId, first?.options.requestId);
  t.not(otherKey?.options.requestId, first?.options.requestId);
  t.not(unkeyed?.options.requestId, unkeyedAgain?.options.requestId);
  t.false(JSON.stringify(g.dispatcher.calls.map((c) => c.options)).includes('r.e.f'));
  const empty = await g.call('/v1/sessions/refresh', { body: {} });
  t.is(empty.status, 400);
});

test('refreshes are counted per address, as logins are', async (t) => {
  const g = await startTestGateway(t, nextPort(), {
    abuseLimits: { refreshesPerAddress: { points: 2, durationSec: 60 } },
  });
  g.dispatcher.respond = () => ({ token: 'a.b.c', expiresAt: '2030-01-01T00:00:00.000Z' });
  const refresh = (from?: string) =>
    g.call('/v1/sessions/refresh', {
      body: { refreshToken: 'r.e.f' },
      ...(from === undefined ? {} : { from }),
    });
  t.is((await refresh()).status, 200);
  t.is((await refresh()).status, 200);
  const third = await refresh();
  t.is(third.status, 429);
  t.like(third.json, { error: { code: 'rate_limited', details: { limit: 'refresh-address' } } });
  t.is((await refresh('127.0.0.2')).status, 200, 'another address has its own count');
  t.is(g.dispatcher.calls.length, 3);
});

test('a login travels under a fresh id even with a key: sharing one would hand its token to a stranger', async (t) => {
  const g = await startTestGateway(t, nextPort());
  g.dispatcher.respond = () => ({ token: 'a.b.c', expiresAt: '2030-01-01T00:00:00.000Z' });
  const login = () =>
    g.call('/v1/sessions', {
      body: { username: 'alice', password: 'correct horse battery' },
      headers: { 'idempotency-key': 'same-key' },
    });
  await login();
  await login();
  const [first, second] = g.dispatcher.calls;
  t.not(second?.options.requestId, first?.options.requestId);
});
