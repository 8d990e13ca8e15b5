/**
 * The CalDAV handler with its ports faked: how requests are answered, what they cost the
 * abuse limits, which store reads and writes they make, and the refusals clients read (401
 * with the Basic challenge, DAV preconditions, 412 and 409 for writes). The real client's view
 * is in ./caldav.client.test.ts.
 */
import test from 'ava';
import {
  Conflict,
  Forbidden,
  InvalidInput,
  NotFound,
  RateLimited,
  Unauthenticated,
} from '../../contract/errors.js';
import type { Op } from '../protocol/ops.js';
import type { Identity } from './authentication.js';
import { CalDav, type DavRequest } from './caldav.js';
import { parseXml } from './dav-xml.js';

const PASSWORD = 'abcd-efgh-ijkl-mnop-qrst-uvwx-yz23-4567';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ALICE = basic('alice', PASSWORD);

const GYM_ICS =
  'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:gym\r\nSUMMARY:Gym\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
const RESOURCES = [
  { id: 'call', name: 'call', etag: '"0000000000000001"' },
  { id: 'gym', name: 'gym', etag: '"0000000000000002"' },
  { id: 'k3x9', name: 'team lunch@example.com', etag: '"0000000000000003"' },
];

interface Fake {
  readonly dav: CalDav;
  readonly ops: { op: Op; actor: string | null; write: boolean }[];
  /** What the users service answers a write (`dav.put`, `dav.delete`). */
  writes: (op: Op) => Promise<unknown>;
  readonly checks: { username: string; forgiven: boolean; ended: boolean }[];
  revoked: boolean;
  truncated: boolean;
  /** The most resources a read by names answers, the rest cut as the store's size limit does. */
  perRead: number;
  /** What the store answers `dav.sync`. */
  sync: (body: Record<string, unknown>) => unknown;
}

function fake(options: { limited?: boolean } = {}): Fake {
  const state: Fake = {
    ops: [],
    checks: [],
    revoked: false,
    truncated: false,
    perRead: Infinity,
    sync: () => ({ outcome: 'synced', token: '7', truncated: false, changed: [], removed: [] }),
    writes: () => Promise.resolve({ outcome: 'created', name: 'new', etag: '"00000000000000aa"' }),
    dav: undefined as unknown as CalDav,
  };
  const identity = (token: string): Identity => ({
    actor: 'alice',
    session: { generation: 0, did: 'd1' },
    credential: { kind: 'device', token },
    expiresAt: Date.now() + 900_000,
  });
  (state as { dav: CalDav }).dav = new CalDav({
    admitPasswordCheck: (username) => {
      if (options.limited === true) {
        return Promise.reject(new RateLimited('too many failed logins', { retryAfterMs: 30_000 }));
      }
      const check = { username, forgiven: false, ended: false };
      state.checks.push(check);
      return Promise.resolve({
        forgive: () => {
          check.forgiven = true;
          return Promise.resolve();
        },
        end: () => {
          check.ended = true;
        },
      });
    },
    admitRequest: () => Promise.resolve(),
    verifyDeviceToken: (token) => Promise.resolve(identity(token)),
    call: (op, who, _signal, options) => {
      state.ops.push({ op, actor: who?.actor ?? null, write: options?.write === true });
      if (op.type === 'device.authenticate') {
        if (op.username !== 'alice' || op.password !== PASSWORD || state.revoked) {
          return Promise.reject(new Unauthenticated('wrong username or app password'));
        }
        return Promise.resolve({ token: 'device-token', expiresAt: Date.now() + 900_000 });
      }
      if (op.type === 'query' && op.body.type === 'dav.calendar') {
        if (state.revoked) return Promise.reject(new Unauthenticated('this device was revoked'));
        const body = op.body;
        const chosen =
          body.names === undefined
            ? RESOURCES
            : RESOURCES.filter((r) => body.names?.includes(r.name)).slice(0, state.perRead);
        const cut =
          body.names !== undefined && body.names.filter((n) => n !== 'gone').length > chosen.length;
        return Promise.resolve({
          ctag: '42',
          truncated: state.truncated || cut,
          resources: chosen.map((r) => ({ ...r, ...(body.data ? { ics: GYM_ICS } : {}) })),
        });
      }
      if (op.type === 'query' && op.body.type === 'dav.sync') {
        return Promise.resolve(state.sync(op.body));
      }
      if (op.type === 'dav.put' || (op.type === 'command' && op.body.type === 'dav.delete')) {
        return state.writes(op);
      }
      return Promise.reject(new Error(`unexpected op ${op.type}`));
    },
  });
  return state;
}

function request(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body: string | null = null,
): DavRequest {
  return {
    method,
    path,
    header: (name) => headers[name],
    address: '192.0.2.1',
    body: () => Promise.resolve(body),
    signal: new AbortController().signal,
  };
}

/** The CalDAV answer to `req`, its body as one text (a multistatus's parts joined). */
async function handled(f: Fake, req: DavRequest) {
  const answer = await f.dav.handle(req);
  const { body } = answer;
  return { ...answer, body: typeof body === 'string' ? body : [...body.parts].join('') };
}

const dav = (
  f: Fake,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body: string | null = null,
) => handled(f, request(method, path, { authorization: ALICE, ...headers }, body));

test('the well-known URL redirects to the root, and OPTIONS says what is spoken, both without signing in', async (t) => {
  const f = fake();
  const wellKnown = await handled(f, request('PROPFIND', '/.well-known/caldav'));
  t.is(wellKnown.status, 301);
  t.is(wellKnown.headers.location, '/dav/');
  const options = await handled(f, request('OPTIONS', '/dav/calendars/alice/agenda/'));
  t.is(options.status, 200);
  t.is(options.headers.dav, '1, calendar-access');
  t.regex(options.headers.allow ?? '', /PROPFIND, REPORT/);
  t.deepEqual(f.ops, []);
});

test('no credentials, another scheme, a wrong or an account password: 401 with the Basic challenge, counted as failed logins', async (t) => {
  const f = fake();
  const none = await handled(f, request('PROPFIND', '/dav/'));
  t.is(none.status, 401);
  t.is(none.headers['www-authenticate'], 'Basic realm="Agenda", charset="UTF-8"');
  t.regex(none.body, /agenda device add/);
  t.is((await dav(f, 'PROPFIND', '/dav/', { authorization: 'Bearer x.y.z' })).status, 401);
  const wrong = await dav(f, 'PROPFIND', '/dav/', {
    authorization: basic('alice', 'correct horse battery'),
  });
  t.is(wrong.status, 401);
  t.is(wrong.headers['www-authenticate'], 'Basic realm="Agenda", charset="UTF-8"');
  // Checked once, not forgiven (a failed guess), and over.
  t.deepEqual(f.checks, [{ username: 'alice', forgiven: false, ended: true }]);
});

test('past the login limits a sign-in is refused 429 before any check runs', async (t) => {
  const f = fake({ limited: true });
  const limited = await dav(f, 'PROPFIND', '/dav/');
  t.is(limited.status, 429);
  t.is(limited.headers['retry-after'], '30');
  t.deepEqual(f.ops, []);
});

test('a sign-in is remembered: the next requests read with its device token, until the device is revoked', async (t) => {
  const f = fake();
  t.is((await dav(f, 'PROPFIND', '/dav/', { depth: '0' })).status, 207);
  t.is((await dav(f, 'PROPFIND', '/dav/calendars/alice/agenda/', { depth: '0' })).status, 207);
  t.deepEqual(
    f.ops.map((o) => `${o.op.type} ${o.actor ?? '-'}`),
    ['device.authenticate -', 'query alice', 'query alice'],
  );
  t.deepEqual(f.checks, [{ username: 'alice', forgiven: true, ended: true }]);
  f.revoked = true;
  const refused = await dav(f, 'PROPFIND', '/dav/calendars/alice/agenda/', { depth: '0' });
  t.is(refused.status, 401);
  // The remembered sign-in was forgotten: the next request signs in again, and is refused.
  t.is((await dav(f, 'PROPFIND', '/dav/', { depth: '0' })).status, 401);
  t.is(f.ops.filter((o) => o.op.type === 'device.authenticate').length, 2);
});

test('requests signing in with the same credentials at once share one password check', async (t) => {
  const f = fake();
  // A calendar app's first sync: many requests at once, none signed in yet. Each check
  // counts as a failed guess until answered, so sixteen checks had hit the limit of ten.
  const answers = await Promise.all(
    Array.from({ length: 16 }, () => dav(f, 'PROPFIND', '/dav/', { depth: '0' })),
  );
  t.deepEqual(
    answers.map((a) => a.status),
    Array.from({ length: 16 }, () => 207),
  );
  t.deepEqual(f.checks, [{ username: 'alice', forgiven: true, ended: true }]);
  t.is(f.ops.filter((o) => o.op.type === 'device.authenticate').length, 1);
  // A wrong password shared the same way is one failed guess, refused to every request.
  const wrong = { authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}` };
  const refused = await Promise.all(
    Array.from({ length: 4 }, () => dav(f, 'PROPFIND', '/dav/', { depth: '0', ...wrong })),
  );
  t.deepEqual(
    refused.map((a) => a.status),
    [401, 401, 401, 401],
  );
  t.is(f.checks.length, 2);
});

test('discovery: the root names the principal, the principal the home, the home its calendar', async (t) => {
  const f = fake();
  const propfind = (props: string) =>
    `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/"><d:prop>${props}</d:prop></d:propfind>`;
  const root = await dav(
    f,
    'PROPFIND',
    '/dav/',
    { depth: '0' },
    propfind('<d:current-user-principal/>'),
  );
  t.is(root.status, 207);
  t.regex(root.body, /<d:current-user-principal><d:href>\/dav\/principals\/alice\/<\/d:href>/);
  const principal = await dav(
    f,
    'PROPFIND',
    '/dav/principals/alice/',
    { depth: '0' },
    propfind('<c:calendar-home-set/><d:displayname/><x:unknown xmlns:x="urn:x"/>'),
  );
  t.regex(principal.body, /<c:calendar-home-set><d:href>\/dav\/calendars\/alice\/<\/d:href>/);
  // What is not known is answered 404 in its own propstat, in its own namespace.
  t.regex(principal.body, /<unknown xmlns="urn:x"\/><\/d:prop><d:status>HTTP\/1\.1 404 Not Found/);
  const home = await dav(
    f,
    'PROPFIND',
    '/dav/calendars/alice/',
    { depth: '1' },
    propfind('<d:resourcetype/><c:supported-calendar-component-set/><cs:getctag/>'),
  );
  const responses = parseXml(home.body).children;
  t.is(responses.length, 2);
  t.regex(
    home.body,
    /<d:href>\/dav\/calendars\/alice\/agenda\/<\/d:href><d:propstat><d:prop><d:resourcetype><d:collection\/><c:calendar\/><\/d:resourcetype><c:supported-calendar-component-set><c:comp name="VEVENT"\/><\/c:supported-calendar-component-set><cs:getctag>42<\/cs:getctag>/,
  );
});

test('the calendar at depth 1 lists its resources with their ETags; a cut listing says so (507)', async (t) => {
  const f = fake();
  const listing = await dav(f, 'PROPFIND', '/dav/calendars/alice/agenda', { depth: '1' });
  t.is(listing.status, 207);
  t.regex(
    listing.body,
    /<d:href>\/dav\/calendars\/alice\/agenda\/call\.ics<\/d:href><d:propstat><d:prop><d:resourcetype\/><d:getetag>"0000000000000001"<\/d:getetag>/,
  );
  t.deepEqual(f.ops.at(-1)?.op, { type: 'query', body: { type: 'dav.calendar', data: false } });
  f.truncated = true;
  const cut = await dav(f, 'PROPFIND', '/dav/calendars/alice/agenda/', { depth: '1' });
  t.regex(
    cut.body,
    /HTTP\/1\.1 507 Insufficient Storage<\/d:status><d:error><d:number-of-matches-within-limits\/>/,
  );
  const infinite = await dav(f, 'PROPFIND', '/dav/calendars/alice/agenda/', { depth: 'infinity' });
  t.is(infinite.status, 403);
  t.regex(infinite.body, /<d:propfind-finite-depth\/>/);
});

test('GET answers the text with its ETag, 304 when the client has it, 404 for what is not there', async (t) => {
  const f = fake();
  const got = await dav(f, 'GET', '/dav/calendars/alice/agenda/gym.ics');
  t.is(got.status, 200);
  t.is(got.headers.etag, '"0000000000000002"');
  t.is(got.headers['content-type'], 'text/calendar; charset=utf-8');
  t.is(got.body, GYM_ICS);
  const same = await dav(f, 'GET', '/dav/calendars/alice/agenda/gym.ics', {
    'if-none-match': '"0000000000000002"',
  });
  t.is(same.status, 304);
  t.is((await dav(f, 'GET', '/dav/calendars/alice/agenda/nope.ics')).status, 404);
  t.is((await dav(f, 'GET', '/dav/calendars/alice/agenda/..%2Fx.ics')).status, 404);
  t.is((await dav(f, 'GET', '/dav/elsewhere/')).status, 404);
});

test("another user's calendar is refused, whether they exist or not", async (t) => {
  const f = fake();
  for (const user of ['bob', 'nobody']) {
    const other = await dav(f, 'PROPFIND', `/dav/calendars/${user}/agenda/`, { depth: '1' });
    t.is(other.status, 403);
  }
  t.false(f.ops.some((o) => o.op.type === 'query'));
});

test('calendar-query reads the time range into the store read; other components match nothing', async (t) => {
  const f = fake();
  const query = (inner: string) =>
    `<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop><c:filter><c:comp-filter name="VCALENDAR">${inner}</c:comp-filter></c:filter></c:calendar-query>`;
  const week = await dav(
    f,
    'REPORT',
    '/dav/calendars/alice/agenda/',
    { depth: '1' },
    query(
      '<c:comp-filter name="VEVENT"><c:time-range start="20260302T000000Z" end="20260309T000000Z"/></c:comp-filter>',
    ),
  );
  t.is(week.status, 207);
  t.deepEqual(f.ops.at(-1)?.op, {
    type: 'query',
    body: {
      type: 'dav.calendar',
      from: Date.UTC(2026, 2, 2),
      to: Date.UTC(2026, 2, 9),
      data: true,
    },
  });
  t.regex(week.body, /<c:calendar-data>BEGIN:VCALENDAR/);
  const open = await dav(
    f,
    'REPORT',
    '/dav/calendars/alice/agenda/',
    {},
    query('<c:comp-filter name="VEVENT"><c:time-range start="20260302T000000Z"/></c:comp-filter>'),
  );
  t.is(open.status, 207);
  t.like(f.ops.at(-1)?.op, { body: { from: Date.UTC(2026, 2, 2), to: Date.UTC(2200, 0, 1) } });
  const before = f.ops.length;
  const todos = await dav(
    f,
    'REPORT',
    '/dav/calendars/alice/agenda/',
    {},
    query('<c:comp-filter name="VTODO"/>'),
  );
  t.is(todos.status, 207);
  t.is(parseXml(todos.body).children.length, 0);
  t.is(f.ops.length, before, 'nothing to read for a component the calendar does not hold');
  const byText = await dav(
    f,
    'REPORT',
    '/dav/calendars/alice/agenda/',
    {},
    query(
      '<c:comp-filter name="VEVENT"><c:prop-filter name="UID"><c:text-match>x</c:text-match></c:prop-filter></c:comp-filter>',
    ),
  );
  t.is(byText.status, 403);
  t.regex(
    byText.body,
    /<c:supported-filter\/><d:responsedescription>this calendar filters by component and time-range only, not by prop-filter/,
  );
  const backwards = await dav(
    f,
    'REPORT',
    '/dav/calendars/alice/agenda/',
    {},
    query(
      '<c:comp-filter name="VEVENT"><c:time-range start="20260309T000000Z" end="20260302T000000Z"/></c:comp-filter>',
    ),
  );
  t.is(backwards.status, 400);
  const local = await dav(
    f,
    'REPORT',
    '/dav/calendars/alice/agenda/',
    {},
    query('<c:comp-filter name="VEVENT"><c:time-range start="20260302T000000"/></c:comp-filter>'),
  );
  t.is(local.status, 400);
  t.regex(local.body, /not a UTC date-time/);
});

test('calendar-multiget answers each href, 404 for those not in the calendar, and is bounded', async (t) => {
  const f = fake();
  const multiget = (hrefs: string[]) =>
    `<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop>${hrefs.map((h) => `<d:href>${h}</d:href>`).join('')}</c:calendar-multiget>`;
  const answer = await dav(
    f,
    'REPORT',
    '/dav/calendars/alice/agenda/',
    {},
    multiget([
      'https://agenda.example/dav/calendars/alice/agenda/gym.ics',
      '/dav/calendars/alice/agenda/gone.ics',
      '/dav/calendars/bob/agenda/gym.ics',
    ]),
  );
  t.is(answer.status, 207);
  t.deepEqual(f.ops.at(-1)?.op, {
    type: 'query',
    body: { type: 'dav.calendar', names: ['gym', 'gone'], data: false },
  });
  const statuses = parseXml(answer.body).children.map((r) => {
    const href = r.children[0]?.text ?? '';
    return `${href} ${/HTTP\/1\.1 (\d+)/.exec(answer.body.slice(answer.body.indexOf(href)))?.[1] ?? ''}`;
  });
  t.deepEqual(statuses, [
    '/dav/calendars/alice/agenda/gym.ics 200',
    '/dav/calendars/alice/agenda/gone.ics 404',
    '/dav/calendars/bob/agenda/gym.ics 404',
  ]);
  const many = Array.from({ length: 201 }, (_, i) => `/dav/calendars/alice/agenda/e${i}.ics`);
  const tooMany = await dav(f, 'REPORT', '/dav/calendars/alice/agenda/', {}, multiget(many));
  t.is(tooMany.status, 400);
  t.regex(tooMany.body, /at most 200 resources/);
});

test('a calendar-multiget the store answers in several reads (its size limit) answers every href, none 404 that exists (outside attack)', async (t) => {
  const f = fake();
  const multiget = (hrefs: string[]) =>
    `<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>${hrefs.map((h) => `<d:href>${h}</d:href>`).join('')}</c:calendar-multiget>`;
  const hrefs = ['call', 'gym', 'gone', 'team%20lunch%40example.com'].map(
    (name) => `/dav/calendars/alice/agenda/${name}.ics`,
  );
  const statusesOf = (body: string) =>
    parseXml(body).children.map((r) => {
      const href = r.children[0]?.text ?? '';
      return `${href} ${/HTTP\/1\.1 (\d+)/.exec(body.slice(body.indexOf(href)))?.[1] ?? ''}`;
    });
  // One resource a read: three reads, each for what the one before did not reach.
  f.perRead = 1;
  const answer = await dav(f, 'REPORT', '/dav/calendars/alice/agenda/', {}, multiget(hrefs));
  t.is(answer.status, 207);
  t.deepEqual(statusesOf(answer.body), [
    '/dav/calendars/alice/agenda/call.ics 200',
    '/dav/calendars/alice/agenda/gym.ics 200',
    '/dav/calendars/alice/agenda/gone.ics 404',
    '/dav/calendars/alice/agenda/team%20lunch%40example.com.ics 200',
  ]);
  t.deepEqual(
    f.ops.flatMap(({ op }) =>
      op.type === 'query' ? [(op.body as { names?: string[] }).names] : [],
    ),
    [
      ['call', 'gym', 'gone', 'team lunch@example.com'],
      ['gym', 'gone', 'team lunch@example.com'],
      ['gone', 'team lunch@example.com'],
    ],
  );
  // A read that reaches none of what is left (a resource larger than a read may carry)
  // answers those 507, not 404.
  f.perRead = 0;
  const stuck = await dav(f, 'REPORT', '/dav/calendars/alice/agenda/', {}, multiget(hrefs));
  t.deepEqual(statusesOf(stuck.body), [
    '/dav/calendars/alice/agenda/call.ics 507',
    '/dav/calendars/alice/agenda/gym.ics 507',
    '/dav/calendars/alice/agenda/gone.ics 507',
    '/dav/calendars/alice/agenda/team%20lunch%40example.com.ics 507',
  ]);
});

test('unsupported reports, hostile XML and writes are refused with a reason', async (t) => {
  const f = fake();
  const freeBusy = await dav(
    f,
    'REPORT',
    '/dav/calendars/alice/agenda/',
    {},
    '<c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"/>',
  );
  t.is(freeBusy.status, 403);
  t.regex(freeBusy.body, /<d:supported-report\/>/);
  const laughs = await dav(
    f,
    'PROPFIND',
    '/dav/',
    { depth: '0' },
    '<!DOCTYPE a [<!ENTITY a "aaaa">]><d:propfind xmlns:d="DAV:">&a;</d:propfind>',
  );
  t.is(laughs.status, 400);
  t.regex(laughs.body, /DTD\) is refused/);
  const proppatch = await dav(f, 'PROPPATCH', '/dav/calendars/alice/agenda/', {}, '<x/>');
  t.is(proppatch.status, 405);
  t.is(proppatch.headers.allow, 'OPTIONS, GET, HEAD, PROPFIND, REPORT, PUT, DELETE');
  t.regex(proppatch.body, /events are written with PUT and removed with DELETE/);
  t.is((await dav(f, 'MKCALENDAR', '/dav/calendars/alice/other/')).status, 404);
  t.is((await dav(f, 'MOVE', '/dav/calendars/alice/agenda/gym.ics')).status, 405);
});

const NEW_ICS =
  'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:new\r\nDTSTART:20260302T090000Z\r\nDTEND:20260302T100000Z\r\nSUMMARY:New\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';

test('a PUT hands the object and its conditions to the users service as a write of the device: 201 when made, 204 when changed, with the new ETag', async (t) => {
  const f = fake();
  const made = await dav(
    f,
    'PUT',
    '/dav/calendars/alice/agenda/new.ics',
    { 'if-none-match': '*' },
    NEW_ICS,
  );
  t.is(made.status, 201);
  t.is(made.headers.etag, '"00000000000000aa"');
  t.like(f.ops.at(-1), {
    op: { type: 'dav.put', name: 'new', ics: NEW_ICS, ifNoneMatch: ['*'] },
    actor: 'alice',
    write: true,
  });
  f.writes = () => Promise.resolve({ outcome: 'updated', name: 'gym', etag: '"00000000000000bb"' });
  const changed = await dav(
    f,
    'PUT',
    '/dav/calendars/alice/agenda/gym.ics',
    { 'if-match': 'W/"0000000000000002", "0000000000000009"' },
    GYM_ICS,
  );
  t.is(changed.status, 204);
  t.is(changed.body, '');
  t.is(changed.headers.etag, '"00000000000000bb"');
  t.like(f.ops.at(-1)?.op, {
    type: 'dav.put',
    name: 'gym',
    ifMatch: ['"0000000000000002"', '"0000000000000009"'],
  });
  // A name that is a UID with any characters, percent-encoded in the path.
  await dav(f, 'PUT', '/dav/calendars/alice/agenda/team%20lunch%40example.com.ics', {}, GYM_ICS);
  t.like(f.ops.at(-1)?.op, { type: 'dav.put', name: 'team lunch@example.com' });
  // An attendee who declined by writing: the resource left the calendar, so no tag.
  f.writes = () => Promise.resolve({ outcome: 'updated', name: 'gym', etag: null });
  const declined = await dav(f, 'PUT', '/dav/calendars/alice/agenda/gym.ics', {}, GYM_ICS);
  t.is(declined.status, 204);
  t.is(declined.headers.etag, undefined);
});

test('a failed precondition is 412 with the tag the event has; what the calendar rules refuse keeps its status and reason, a conflict in a DAV:error of ours', async (t) => {
  const f = fake();
  f.writes = () => Promise.resolve({ outcome: 'precondition-failed', etag: '"0000000000000002"' });
  const stale = await dav(
    f,
    'PUT',
    '/dav/calendars/alice/agenda/gym.ics',
    { 'if-match': '"0000000000000001"' },
    GYM_ICS,
  );
  t.is(stale.status, 412);
  t.regex(stale.body, /tag is now "0000000000000002"/);
  f.writes = () =>
    Promise.reject(
      new Conflict('"New" overlaps "Standup" on 2026-03-02 09:30–09:45 UTC', [
        {
          id: 'standup',
          title: 'Standup',
          start: '2026-03-02T09:30:00.000Z',
          end: '2026-03-02T09:45:00.000Z',
        },
      ]),
    );
  const conflict = await dav(f, 'PUT', '/dav/calendars/alice/agenda/new.ics', {}, NEW_ICS);
  t.is(conflict.status, 409);
  t.is(conflict.headers['content-type'], 'application/xml; charset=utf-8');
  const error = parseXml(conflict.body);
  t.is(error.name, 'error');
  t.is(error.children[0]?.name, 'no-conflict');
  t.is(error.children[0]?.namespace, 'https://agenda.invalid/ns/caldav');
  t.regex(error.children[1]?.text ?? '', /overlaps "Standup"/);
  f.writes = () =>
    Promise.reject(
      new Forbidden('you are an attendee of "Gym": your calendar may change only your answer'),
    );
  const attendee = await dav(f, 'PUT', '/dav/calendars/alice/agenda/gym.ics', {}, GYM_ICS);
  t.is(attendee.status, 403);
  t.regex(attendee.body, /only your answer/);
  f.writes = () => Promise.reject(new InvalidInput('the object holds no event (VEVENT)'));
  const invalid = await dav(f, 'PUT', '/dav/calendars/alice/agenda/other.ics', {}, NEW_ICS);
  t.is(invalid.status, 400);
  t.regex(invalid.body, /no event/);
});

test('a conflict says what is in the way and when, on the status line too, and how to get past it over CalDAV', async (t) => {
  // vdirsyncer shows only the status line of a refused PUT ("409, message='Conflict'"), and
  // CalDAV has no way to allow a conflict, which the API's message suggests doing.
  const f = fake();
  f.writes = () =>
    Promise.reject(
      new Conflict(
        'this event overlaps events you have accepted: "Réview" (allow conflicts to go ahead anyway)',
        [
          { id: 'r1', title: 'Réview', start: '2027-02-17T09:00:00Z', end: '2027-02-17T10:00:00Z' },
          { id: 'r1', title: 'Réview', start: '2027-02-24T09:00:00Z', end: '2027-02-24T10:00:00Z' },
          { id: 'n1', title: 'Night', start: '2027-02-17T23:00:00Z', end: '2027-02-18T01:00:00Z' },
        ],
      ),
    );
  const conflict = await dav(f, 'PUT', '/dav/calendars/alice/agenda/new.ics', {}, NEW_ICS);
  t.is(conflict.status, 409);
  t.is(
    conflict.reason,
    'Conflict with "R?view" 2027-02-17 09:00-10:00 UTC, "Night" 2027-02-17 23:00-2027-02-18 01:00 UTC',
  );
  const description = parseXml(conflict.body).children[1]?.text ?? '';
  t.is(
    description,
    'this event overlaps events you have accepted: "Réview". In the way: "Réview" 2027-02-17 09:00-10:00 UTC, "Night" 2027-02-17 23:00-2027-02-18 01:00 UTC. Move the event or make it free (TRANSP:TRANSPARENT), then write it again',
  );
  t.notRegex(description, /allow conflicts/);
  // Many in the way: three named, the rest counted; the phrase stays short and ASCII.
  f.writes = () =>
    Promise.reject(
      new Conflict(
        'x',
        Array.from({ length: 5 }, (_, i) => ({
          id: `e${i}`,
          title: 'A long title '.repeat(5),
          start: '2027-02-17T09:00:00Z',
          end: '2027-02-17T10:00:00Z',
        })),
      ),
    );
  const many = await dav(f, 'PUT', '/dav/calendars/alice/agenda/new.ics', {}, NEW_ICS);
  t.regex(parseXml(many.body).children[1]?.text ?? '', / and 2 more\./);
  t.true((many.reason ?? '').length <= 200);
  t.regex(many.reason ?? '', /^[\x20-\x7e]+$/);
});

test('a new event written to a name not its UID’s is sent there: 308 with its href', async (t) => {
  // vdirsyncer PUTs an event whose UID holds characters it keeps out of hrefs (`@`) to a
  // random name; it follows a 308 with the same PUT and keeps the href it was answered from.
  const f = fake();
  f.writes = () => Promise.resolve({ outcome: 'elsewhere', name: 'party@example.com' });
  const moved = await dav(
    f,
    'PUT',
    '/dav/calendars/alice/agenda/0b1c2d3e.ics',
    { 'if-none-match': '*' },
    NEW_ICS,
  );
  t.is(moved.status, 308);
  t.is(moved.headers.location, '/dav/calendars/alice/agenda/party%40example.com.ics');
  t.regex(moved.body, /UID is "party@example.com"/);
  t.like(f.ops.at(-1)?.op, { type: 'dav.put', name: '0b1c2d3e', ifNoneMatch: ['*'] });
});

test('a DELETE sends dav.delete with its If-Match: 204, 412 on another tag, 404 for nothing there', async (t) => {
  const f = fake();
  f.writes = () => Promise.resolve({ outcome: 'deleted', name: 'gym', etag: null });
  const gone = await dav(f, 'DELETE', '/dav/calendars/alice/agenda/gym.ics', {
    'if-match': '"0000000000000002"',
  });
  t.is(gone.status, 204);
  t.like(f.ops.at(-1), {
    op: {
      type: 'command',
      body: { type: 'dav.delete', name: 'gym', ifMatch: ['"0000000000000002"'] },
    },
    write: true,
  });
  f.writes = () => Promise.resolve({ outcome: 'precondition-failed', etag: '"0000000000000003"' });
  t.is((await dav(f, 'DELETE', '/dav/calendars/alice/agenda/gym.ics')).status, 412);
  f.writes = () => Promise.reject(new NotFound('no event gone.ics in your calendar'));
  t.is((await dav(f, 'DELETE', '/dav/calendars/alice/agenda/gone.ics')).status, 404);
});

test('writes are bounded: no collection is written, conditions are tags or *, a PUT has a body, and another user’s calendar is refused before anything is sent', async (t) => {
  const f = fake();
  const before = f.ops.length;
  const collection = await dav(f, 'PUT', '/dav/calendars/alice/agenda/', {}, NEW_ICS);
  t.is(collection.status, 405);
  t.is((await dav(f, 'DELETE', '/dav/calendars/alice/')).status, 405);
  const badTag = await dav(
    f,
    'PUT',
    '/dav/calendars/alice/agenda/new.ics',
    { 'if-match': 'unquoted' },
    NEW_ICS,
  );
  t.is(badTag.status, 400);
  t.regex(badTag.body, /quoted entity tags/);
  const empty = await dav(f, 'PUT', '/dav/calendars/alice/agenda/new.ics');
  t.is(empty.status, 400);
  t.regex(empty.body, /text\/calendar/);
  t.is((await dav(f, 'PUT', '/dav/calendars/alice/agenda/a%07b.ics', {}, NEW_ICS)).status, 404);
  t.is((await dav(f, 'PUT', `/dav/calendars/alice/agenda/${'u'.repeat(501)}.ics`)).status, 404);
  t.is((await dav(f, 'PUT', '/dav/calendars/bob/agenda/new.ics', {}, NEW_ICS)).status, 403);
  t.is((await dav(f, 'DELETE', '/dav/calendars/bob/agenda/gym.ics')).status, 403);
  // Only sign-ins went out: nothing was written.
  t.true(f.ops.slice(before).every((o) => o.op.type === 'device.authenticate'));
});

test('the calendar says events may be written and the principal names its calendar address; hrefs are the resources’ names, percent-encoded', async (t) => {
  const f = fake();
  const options = await handled(f, request('OPTIONS', '/dav/calendars/alice/agenda/gym.ics'));
  t.is(options.headers.allow, 'OPTIONS, GET, HEAD, PROPFIND, REPORT, PUT, DELETE');
  const calendar = await dav(f, 'PROPFIND', '/dav/calendars/alice/agenda/', { depth: '1' });
  t.regex(
    calendar.body,
    /<d:current-user-privilege-set><d:privilege><d:read\/><\/d:privilege><d:privilege><d:write-content\/><\/d:privilege><d:privilege><d:bind\/><\/d:privilege><d:privilege><d:unbind\/><\/d:privilege><\/d:current-user-privilege-set>/,
  );
  t.regex(
    calendar.body,
    /<d:href>\/dav\/calendars\/alice\/agenda\/team%20lunch%40example\.com\.ics<\/d:href>/,
  );
  const principal = await dav(f, 'PROPFIND', '/dav/principals/alice/', { depth: '0' });
  t.regex(
    principal.body,
    /<c:calendar-user-address-set><d:href>mailto:alice@agenda\.invalid<\/d:href><\/c:calendar-user-address-set>/,
  );
});

const syncReport = (token: string, more = '') =>
  `<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level>${more}<d:prop><d:getetag/></d:prop></d:sync-collection>`;

test('sync-collection answers the changed members with their tags, the removed ones as 404, and the token to go on from', async (t) => {
  const f = fake();
  f.sync = (body) =>
    body.token === null
      ? {
          outcome: 'synced',
          token: '12',
          truncated: false,
          changed: RESOURCES,
          removed: [],
        }
      : {
          outcome: 'synced',
          token: '15',
          truncated: false,
          changed: [RESOURCES[1]],
          removed: ['team lunch@example.com'],
        };
  const first = await dav(
    f,
    'REPORT',
    '/dav/calendars/alice/agenda/',
    { depth: '1' },
    syncReport(''),
  );
  t.is(first.status, 207);
  t.deepEqual(f.ops.at(-1)?.op, {
    type: 'query',
    body: { type: 'dav.sync', token: null, data: false },
  });
  const root = parseXml(first.body);
  t.deepEqual(
    root.children.map((c) => c.name),
    ['response', 'response', 'response', 'sync-token'],
  );
  t.is(root.children.at(-1)?.text, 'https://agenda.invalid/sync/12');
  t.regex(
    first.body,
    /<d:response><d:href>\/dav\/calendars\/alice\/agenda\/gym\.ics<\/d:href><d:propstat><d:prop><d:getetag>"0000000000000002"<\/d:getetag><\/d:prop><d:status>HTTP\/1\.1 200 OK<\/d:status><\/d:propstat><\/d:response>/,
  );

  const next = await dav(
    f,
    'REPORT',
    '/dav/calendars/alice/agenda/',
    {},
    syncReport(
      'https://agenda.invalid/sync/12',
      '<d:limit><d:nresults>5000</d:nresults></d:limit>',
    ),
  );
  t.is(next.status, 207);
  t.deepEqual(f.ops.at(-1)?.op, {
    type: 'query',
    body: { type: 'dav.sync', token: '12', data: false, limit: 2000 },
  });
  t.regex(next.body, /<d:href>\/dav\/calendars\/alice\/agenda\/gym\.ics<\/d:href><d:propstat>/);
  t.regex(
    next.body,
    /<d:response><d:href>\/dav\/calendars\/alice\/agenda\/team%20lunch%40example\.com\.ics<\/d:href><d:status>HTTP\/1\.1 404 Not Found<\/d:status><\/d:response>/,
  );
  t.regex(next.body, /<d:sync-token>https:\/\/agenda\.invalid\/sync\/15<\/d:sync-token>/);
});

test('a cut sync says 507 on the collection with a token to go on from; calendar data rides along when asked for', async (t) => {
  const f = fake();
  f.sync = () => ({
    outcome: 'synced',
    token: '12.gym',
    truncated: true,
    changed: [{ ...RESOURCES[1], ics: GYM_ICS }],
    removed: [],
  });
  const cut = await dav(
    f,
    'REPORT',
    '/dav/calendars/alice/agenda/',
    {},
    '<d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:sync-token/><d:sync-level>infinite</d:sync-level><d:limit><d:nresults>1</d:nresults></d:limit><d:prop><d:getetag/><c:calendar-data/></d:prop></d:sync-collection>',
  );
  t.is(cut.status, 207);
  t.like(f.ops.at(-1)?.op, { body: { type: 'dav.sync', token: null, data: true, limit: 1 } });
  t.regex(cut.body, /<c:calendar-data>BEGIN:VCALENDAR/);
  t.regex(
    cut.body,
    /<d:response><d:href>\/dav\/calendars\/alice\/agenda\/<\/d:href><d:status>HTTP\/1\.1 507 Insufficient Storage<\/d:status><d:error><d:number-of-matches-within-limits\/><\/d:error><\/d:response><d:sync-token>https:\/\/agenda\.invalid\/sync\/12\.gym<\/d:sync-token>/,
  );
});

test('a sync token that is not ours, or that the store no longer answers from, is 403 DAV:valid-sync-token; malformed requests are 400', async (t) => {
  const f = fake();
  const before = f.ops.length;
  for (const token of ['http://other.example/sync/1', 'https://agenda.invalid/sync/', 'x']) {
    const refused = await dav(f, 'REPORT', '/dav/calendars/alice/agenda/', {}, syncReport(token));
    t.is(refused.status, 403, token);
    t.regex(refused.body, /<d:error [^>]*><d:valid-sync-token\/><d:responsedescription>/);
  }
  t.false(f.ops.slice(before).some((o) => o.op.type === 'query'));
  f.sync = () => ({
    outcome: 'invalid-token',
    reason: 'this sync token is older than the removals this calendar remembers',
  });
  const old = await dav(
    f,
    'REPORT',
    '/dav/calendars/alice/agenda/',
    {},
    syncReport('https://agenda.invalid/sync/3'),
  );
  t.is(old.status, 403);
  t.regex(old.body, /<d:valid-sync-token\/><d:responsedescription>this sync token is older/);
  const level = await dav(
    f,
    'REPORT',
    '/dav/calendars/alice/agenda/',
    {},
    '<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>2</d:sync-level></d:sync-collection>',
  );
  t.is(level.status, 400);
  t.is(
    (
      await dav(
        f,
        'REPORT',
        '/dav/calendars/alice/agenda/',
        {},
        '<d:sync-collection xmlns:d="DAV:"/>',
      )
    ).status,
    400,
  );
  const limit = await dav(
    f,
    'REPORT',
    '/dav/calendars/alice/agenda/',
    {},
    syncReport('', '<d:limit><d:nresults>0</d:nresults></d:limit>'),
  );
  t.is(limit.status, 400);
  // On anything but the calendar it is not a report served.
  const home = await dav(f, 'REPORT', '/dav/calendars/alice/', {}, syncReport(''));
  t.is(home.status, 403);
  t.regex(home.body, /<d:supported-report\/>/);
});

test('the calendar names sync-collection among its reports and answers DAV:sync-token when asked for it by name', async (t) => {
  const f = fake();
  const all = await dav(f, 'PROPFIND', '/dav/calendars/alice/agenda/', { depth: '0' });
  t.regex(
    all.body,
    /<d:supported-report><d:report><d:sync-collection\/><\/d:report><\/d:supported-report>/,
  );
  // Not among allprop's (RFC 6578 §4), and so not read.
  t.notRegex(all.body, /sync-token/);
  t.false(f.ops.some((o) => o.op.type === 'query' && o.op.body.type === 'dav.sync'));
  const asked = await dav(
    f,
    'PROPFIND',
    '/dav/calendars/alice/agenda/',
    { depth: '0' },
    '<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><d:sync-token/><cs:getctag/></d:prop></d:propfind>',
  );
  t.is(asked.status, 207);
  t.regex(asked.body, /<d:sync-token>https:\/\/agenda\.invalid\/sync\/7<\/d:sync-token>/);
  t.deepEqual(f.ops.at(-1)?.op, {
    type: 'query',
    body: { type: 'dav.sync', token: null, data: false, tokenOnly: true },
  });
  // The home at depth 1 describes the calendar with it too.
  const home = await dav(
    f,
    'PROPFIND',
    '/dav/calendars/alice/',
    { depth: '1' },
    '<d:propfind xmlns:d="DAV:"><d:prop><d:sync-token/></d:prop></d:propfind>',
  );
  t.regex(
    home.body,
    /<d:href>\/dav\/calendars\/alice\/agenda\/<\/d:href><d:propstat><d:prop><d:sync-token>https:\/\/agenda\.invalid\/sync\/7<\/d:sync-token>/,
  );
});
