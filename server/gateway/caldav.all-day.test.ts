/**
 * All-day events over CalDAV, against the in-process system (every layer real): they are
 * served as dates (`VALUE=DATE`), which calendar apps show as all-day, and a write back of
 * those dates reads them in the event's own zone, so an edit or an answer from the app
 * leaves the event at its midnights; a new all-day event written by an app is read in UTC
 * and served back as the same dates. A series' UNTIL goes out as a date and comes back as
 * that day's end: the same occurrences, so an unchanged write changes nothing and keeps the
 * attendees' answers. Floating times written over an event are read in its zone too.
 */
import test from 'ava';
import { request } from 'undici';
import { PortRange } from '../bus/test-support.js';
import { startInProcessSystem, type InProcessSystem } from './in-process-system.js';

/** This file's ports. */
const ports = new PortRange(28_740, 28_759);

/** A JSON answer's field, as text. */
function field(text: string, ...path: string[]): unknown {
  let value: unknown = JSON.parse(text);
  for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}

async function call(
  system: InProcessSystem,
  method: string,
  path: string,
  options: { body?: string; json?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const answer = await request(`${system.url}${path}`, {
    method: method as 'GET',
    dispatcher: system.agent,
    headers: {
      ...(options.json === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(options.json === undefined ? {} : { body: JSON.stringify(options.json) }),
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  return { status: answer.statusCode, headers: answer.headers, text: await answer.body.text() };
}

/** A user registered, logged in and with a device: their API and CalDAV headers. */
async function person(
  system: InProcessSystem,
  name: string,
): Promise<{ bearer: Record<string, string>; basic: Record<string, string> }> {
  const password = 'correct horse battery';
  await call(system, 'POST', '/v1/users', { json: { username: name, password } });
  const login = await call(system, 'POST', '/v1/sessions', { json: { username: name, password } });
  const bearer = { authorization: `Bearer ${String(field(login.text, 'token'))}` };
  const device = await call(system, 'POST', '/v1/devices', {
    headers: bearer,
    json: { label: 'phone' },
  });
  const secret = String(field(device.text, 'password'));
  return {
    bearer,
    basic: { authorization: `Basic ${Buffer.from(`${name}:${secret}`).toString('base64')}` },
  };
}

test("an unchanged write of an all-day series with UNTIL changes nothing, and keeps the attendees' answers", async (t) => {
  const system = await startInProcessSystem(t, ports);
  const alice = await person(system, 'alice');
  const bob = await person(system, 'bob');
  const made = await call(system, 'POST', '/v1/events', {
    headers: alice.bearer,
    json: {
      title: 'Team days',
      start: '2026-09-01T00:00:00+02:00',
      end: '2026-09-02T00:00:00+02:00',
      timeZone: 'Europe/Madrid',
      repeat: 'FREQ=WEEKLY;UNTIL=20260928T220000Z',
      with: ['bob'],
      transparent: true,
    },
  });
  t.is(made.status, 201, made.text);
  const id = String(field(made.text, 'event', 'id'));
  const invitation = await call(system, 'POST', `/v1/invitations/${id}/accept`, {
    headers: bob.bearer,
    json: {},
  });
  t.is(invitation.status, 200, invitation.text);
  const href = (user: string) => `/dav/calendars/${user}/agenda/${id}.ics`;
  const got = await call(system, 'GET', href('alice'), { headers: alice.basic });
  t.regex(got.text, /\r\nRRULE:FREQ=WEEKLY;UNTIL=20260929\r\n/);
  const written = await call(system, 'PUT', href('alice'), {
    body: got.text,
    headers: {
      ...alice.basic,
      'content-type': 'text/calendar',
      'if-match': String(got.headers.etag),
    },
  });
  t.is(written.status, 204, written.text);
  t.is(written.headers.etag, got.headers.etag, 'nothing changed');
  const seen = (who: { bearer: Record<string, string> }) =>
    call(system, 'GET', `/v1/events/${id}`, { headers: who.bearer });
  t.like(field((await seen(alice)).text, 'event'), {
    recurrence: 'FREQ=WEEKLY;UNTIL=20260928T220000Z',
  });
  t.like(field((await seen(bob)).text, 'event'), { myStatus: 'accepted' });

  // Bob declines from his app, the dates and the UNTIL as he was given them.
  const his = await call(system, 'GET', href('bob'), { headers: bob.basic });
  const declined = his.text.replace(
    /(ATTENDEE[^\r\n]*PARTSTAT=)ACCEPTED([^\r\n]*mailto:bob@)/,
    '$1DECLINED$2',
  );
  t.not(declined, his.text);
  const answer = await call(system, 'PUT', href('bob'), {
    body: declined,
    headers: {
      ...bob.basic,
      'content-type': 'text/calendar',
      'if-match': String(his.headers.etag),
    },
  });
  t.is(answer.status, 204, answer.text);
  t.like(field((await seen(bob)).text, 'event'), { myStatus: 'declined' });
});

test('floating times written over an event are read in its zone', async (t) => {
  const system = await startInProcessSystem(t, ports);
  const alice = await person(system, 'alice');
  const made = await call(system, 'POST', '/v1/events', {
    headers: alice.bearer,
    json: {
      title: 'Standup',
      start: '2026-07-06T10:00:00-04:00',
      end: '2026-07-06T11:00:00-04:00',
      timeZone: 'America/New_York',
    },
  });
  const id = String(field(made.text, 'event', 'id'));
  const href = `/dav/calendars/alice/agenda/${id}.ics`;
  const got = await call(system, 'GET', href, { headers: alice.basic });
  const floating = got.text
    .replace(/DTSTART;TZID=America\/New_York:/, 'DTSTART:')
    .replace(/DTEND;TZID=America\/New_York:/, 'DTEND:');
  t.regex(floating, /\r\nDTSTART:20260706T100000\r\n/);
  const put = await call(system, 'PUT', href, {
    body: floating,
    headers: { ...alice.basic, 'content-type': 'text/calendar' },
  });
  t.is(put.status, 204, put.text);
  t.like(
    field((await call(system, 'GET', `/v1/events/${id}`, { headers: alice.bearer })).text, 'event'),
    {
      start: '2026-07-06T14:00:00.000Z',
      timeZone: 'America/New_York',
    },
  );
});

test('all-day events go out as dates and come back at the same midnights of their own zone', async (t) => {
  const system = await startInProcessSystem(t, ports);
  const { bearer, basic } = await person(system, 'alice');
  // Christmas Eve in Madrid, made through the API: Madrid's midnight to the next.
  const made = await call(system, 'POST', '/v1/events', {
    headers: bearer,
    json: {
      title: 'Nochebuena',
      start: '2026-12-24T00:00:00+01:00',
      end: '2026-12-25T00:00:00+01:00',
      timeZone: 'Europe/Madrid',
    },
  });
  t.is(made.status, 201, made.text);
  const id = String(field(made.text, 'event', 'id'));
  const href = `/dav/calendars/alice/agenda/${id}.ics`;

  const got = await call(system, 'GET', href, { headers: basic });
  t.is(got.status, 200);
  t.regex(got.text, /\r\nDTSTART;VALUE=DATE:20261224\r\n/);
  t.regex(got.text, /\r\nDTEND;VALUE=DATE:20261225\r\n/);

  // The app renames it and writes it back, dates and all: still Madrid's midnights.
  const renamed = got.text.replace('SUMMARY:Nochebuena', 'SUMMARY:Cena de Nochebuena');
  const put = await call(system, 'PUT', href, {
    body: renamed,
    headers: {
      ...basic,
      'content-type': 'text/calendar',
      'if-match': String(got.headers.etag),
    },
  });
  t.is(put.status, 204, put.text);
  const event = field(
    (await call(system, 'GET', `/v1/events/${id}`, { headers: bearer })).text,
    'event',
  );
  t.like(event, {
    title: 'Cena de Nochebuena',
    start: '2026-12-23T23:00:00.000Z',
    end: '2026-12-24T23:00:00.000Z',
    timeZone: 'Europe/Madrid',
  });

  // A new all-day event from the app: read in UTC, served back as the same dates.
  const uid = 'holiday-1@example.com';
  const fresh = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Example//App//EN',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20261201T100000Z',
    'DTSTART;VALUE=DATE:20261231',
    'DTEND;VALUE=DATE:20270101',
    'SUMMARY:Nochevieja',
    'TRANSP:TRANSPARENT',
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
  const created = await call(system, 'PUT', `/dav/calendars/alice/agenda/${uid}.ics`, {
    body: fresh,
    headers: { ...basic, 'content-type': 'text/calendar', 'if-none-match': '*' },
  });
  t.is(created.status, 201, created.text);
  const back = await call(system, 'GET', `/dav/calendars/alice/agenda/${uid}.ics`, {
    headers: basic,
  });
  t.regex(back.text, /\r\nDTSTART;VALUE=DATE:20261231\r\n/);
  t.regex(back.text, /\r\nDTEND;VALUE=DATE:20270101\r\n/);
});

test('an event on chosen dates (RDATE) written by an app is listed on them, and its unchanged write changes nothing', async (t) => {
  const system = await startInProcessSystem(t, ports);
  const { bearer, basic } = await person(system, 'alice');
  const href = '/dav/calendars/alice/agenda/bins.ics';
  // A new event lives at its UID's name.
  const body = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//SabreDAV//SabreDAV//EN',
    'BEGIN:VEVENT',
    'UID:bins',
    'DTSTAMP:20260902T102000Z',
    'DTSTART;VALUE=DATE:20261003',
    'DTEND;VALUE=DATE:20261004',
    'RDATE;VALUE=DATE:20261031,20261225',
    'SUMMARY:Bin collection (special)',
    'TRANSP:TRANSPARENT',
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
  const put = await call(system, 'PUT', href, {
    body,
    headers: { ...basic, 'content-type': 'text/calendar', 'if-none-match': '*' },
  });
  t.is(put.status, 201, put.text);
  const listed = await call(
    system,
    'GET',
    '/v1/events?from=2026-10-01T00:00:00Z&to=2027-01-01T00:00:00Z',
    { headers: bearer },
  );
  t.deepEqual(
    (field(listed.text, 'events') as { start: string; title: string }[]).map((e) => e.start),
    ['2026-10-03T00:00:00.000Z', '2026-10-31T00:00:00.000Z', '2026-12-25T00:00:00.000Z'],
  );
  const got = await call(system, 'GET', href, { headers: basic });
  t.regex(got.text, /\r\nRDATE;VALUE=DATE:20261031\r\nRDATE;VALUE=DATE:20261225\r\n/);
  const again = await call(system, 'PUT', href, {
    body: got.text,
    headers: { ...basic, 'content-type': 'text/calendar', 'if-match': String(got.headers.etag) },
  });
  t.is(again.status, 204, again.text);
  t.is(again.headers.etag, got.headers.etag, 'nothing changed');
});
