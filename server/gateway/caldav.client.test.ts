/**
 * CalDAV with a real client: Debian's python3-caldav (installed by .ci/run) against the
 * in-process system (a gateway, the bus, the services and the store, every layer real). A
 * user adds a device through the API, and the client signs in with its app password,
 * discovers the calendar, lists a week by time range, lists everything, reads one event
 * and fetches them all with calendar-multiget; it creates an event, changes it (plainly and
 * over its ETag), is refused a conflict and a stale tag, follows a 308 to the UID's name of
 * an event it wrote elsewhere, and deletes one; it syncs by token (RFC 6578) through a
 * creation, a change and a removal; once the device is revoked, it is refused.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { PortRange } from '../bus/test-support.js';
import { startInProcessSystem, type InProcessSystem } from './in-process-system.js';

/** This file's ports. */
const ports = new PortRange(28_800, 28_839);
const PYTHON = '/usr/bin/python3';
const SCENARIO = fileURLToPath(new URL('./testdata/python-caldav-scenario.py', import.meta.url));

async function api(
  system: InProcessSystem,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const answer = await request(`${system.url}${path}`, {
    method,
    dispatcher: system.agent,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: answer.statusCode, json: (await answer.body.json()) as Record<string, unknown> };
}

/** Runs the Python scenario in `mode`; answers what it printed, or the failure with its stderr. */
function runScenario(
  mode: 'read' | 'write' | 'sync' | 'refused',
  env: Record<string, string>,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCENARIO, mode], {
      env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0)
        reject(new Error(`python3-caldav scenario ${mode} exited ${code}:\n${stderr}`));
      else resolve(JSON.parse(stdout) as Record<string, unknown>);
    });
  });
}

test('python3-caldav discovers the calendar, lists by time range, reads, multigets, writes, deletes and syncs by token with an app password', async (t) => {
  const system = await startInProcessSystem(t, ports);
  const register = await api(system, 'POST', '/v1/users', {
    username: 'alice',
    password: 'correct horse battery',
  });
  t.is(register.status, 201);
  const login = await api(system, 'POST', '/v1/sessions', {
    username: 'alice',
    password: 'correct horse battery',
  });
  const token = login.json.token as string;
  const create = (body: Record<string, unknown>) => api(system, 'POST', '/v1/events', body, token);
  t.is(
    (
      await create({
        title: 'Standup',
        start: '2026-03-02T09:00:00Z',
        duration: '15m',
        repeat: 'FREQ=DAILY;COUNT=5',
      })
    ).status,
    201,
  );
  t.is(
    (await create({ title: 'Dentist', start: '2026-03-04T14:00:00Z', duration: '1h' })).status,
    201,
  );
  t.is(
    (await create({ title: 'Conference', start: '2026-04-20T08:00:00Z', duration: '8h' })).status,
    201,
  );

  const device = await api(system, 'POST', '/v1/devices', { label: 'laptop' }, token);
  t.is(device.status, 201);
  const password = device.json.password as string;
  t.regex(password, /^([a-z2-7]{4}-){7}[a-z2-7]{4}$/);
  t.is(device.json.url, `${system.url}/dav/`);

  const dir = await mkdtemp(join(tmpdir(), 'agenda-caldav-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const ca = join(dir, 'ca.pem');
  await writeFile(ca, system.caPem);
  const env = {
    DAV_URL: device.json.url as string,
    DAV_USERNAME: 'alice',
    DAV_PASSWORD: password,
    DAV_CA: ca,
    DAV_FROM: '2026-03-02T00:00:00+00:00',
    DAV_TO: '2026-03-09T00:00:00+00:00',
  };
  const seen = await runScenario('read', env);
  t.is(seen.principal, `${system.url}/dav/principals/alice/`);
  t.deepEqual(seen.calendars, [`${system.url}/dav/calendars/alice/agenda/`]);
  t.is(seen.name, 'Agenda of alice');
  t.deepEqual(seen.components, ['VEVENT']);
  t.deepEqual(seen.week, ['Dentist', 'Standup']);
  // The client expands the series itself (its five mornings) when the server answers it
  // unexpanded (CALDAV:expand is not served: ./CALDAV.md).
  t.deepEqual(seen.expanded, ['Dentist x1', 'Standup x5']);
  t.deepEqual(seen.all, ['Conference', 'Dentist', 'Standup']);
  t.deepEqual(seen.multiget, ['Conference', 'Dentist', 'Standup']);
  const read = seen.read as { url: string; summary: string; etag: string; data: string };
  t.regex(read.url, /\/dav\/calendars\/alice\/agenda\/[A-Za-z0-9_-]+\.ics$/);
  t.regex(read.etag, /^"[0-9a-f]{16}"$/);
  t.regex(read.data, /BEGIN:VEVENT/);

  const wrote = await runScenario('write', env);
  t.is(wrote.created_url, `${system.url}/dav/calendars/alice/agenda/py-1%40example.com.ics`);
  t.is(wrote.created, 'Haircut');
  t.is(wrote.updated, 'Haircut (short)');
  t.regex(wrote.first_tag as string, /^"[0-9a-f]{16}"$/);
  t.not(wrote.second_tag, wrote.first_tag);
  t.is(wrote.if_match, 204);
  t.is(wrote.stale_if_match, 412);
  t.is(wrote.if_none_match, 412);
  t.regex(String(wrote.conflict), /409/);
  t.regex(String(wrote.conflict), /Haircut/);
  const refusals = wrote.refusals as Record<string, [number, string]>;
  t.is(refusals.garbage?.[0], 400);
  t.regex(refusals.garbage?.[1] ?? '', /not an iCalendar calendar/);
  t.is(refusals.todo?.[0], 403);
  t.is(refusals.two?.[0], 400);
  t.regex(refusals.two?.[1] ?? '', /one event \(one UID/);
  // Written to another name, a new event is sent to its UID's (308) and requests follows.
  t.is(wrote.misnamed, 201);
  t.is(wrote.misnamed_at_uid, 'Misnamed');
  t.false(wrote.misnamed_at_name);
  t.true(wrote.deleted);
  t.deepEqual(wrote.left, ['Conference', 'Dentist', 'Misnamed', 'Standup']);
  // The API sees what the client wrote: the haircut was made, changed, then cancelled.
  const listed = await api(
    system,
    'GET',
    '/v1/events?from=2026-03-05T00:00:00Z&to=2026-03-06T00:00:00Z',
    undefined,
    token,
  );
  t.is(listed.status, 200);
  t.deepEqual(
    (listed.json.events as { title: string; status: string }[]).map((e) => [e.title, e.status]),
    [
      ['Standup', 'confirmed'],
      ['Haircut (shorter)', 'cancelled'],
    ],
  );

  // Synced by token (RFC 6578): everything once, then each change once, a removal as one.
  const synced = await runScenario('sync', env);
  // 'Misnamed' is the event the write scenario sent to a name not its UID's (then moved).
  t.deepEqual(synced.initial, ['Conference', 'Dentist', 'Misnamed', 'Standup']);
  t.regex(synced.token as string, /^https:\/\/agenda\.invalid\/sync\/\d+$/);
  t.is(synced.property, synced.token);
  t.deepEqual(synced.quiet, []);
  t.is(synced.quiet_token, synced.token);
  t.is(synced.made_url, `${system.url}/dav/calendars/alice/agenda/py-sync%40example.com.ics`);
  t.like(synced.after_create, { updated: ['Yoga'], deleted: [] });
  t.like(synced.after_update, { updated: ['Yoga (moved)'], deleted: [] });
  t.like(synced.after_delete, { updated: [], deleted: [synced.made_url] });
  t.like(synced.after_nothing, {
    updated: [],
    deleted: [],
    token: (synced.after_delete as { token: string }).token,
  });
  t.deepEqual(synced.final, ['Conference', 'Dentist', 'Misnamed', 'Standup']);
  // A token the calendar does not answer from is 403 (DAV:valid-sync-token): this client
  // raises it rather than starting over by itself.
  t.regex(String(synced.stale), /^AuthorizationError: .*Forbidden/);

  // The account password never opens CalDAV.
  t.like(await runScenario('refused', { ...env, DAV_PASSWORD: 'correct horse battery' }), {
    refused: true,
  });
  // Revoked, the device's password opens nothing, though the gateway had remembered it.
  const id = (device.json.device as { id: string }).id;
  t.is((await api(system, 'DELETE', `/v1/devices/${id}`, undefined, token)).status, 200);
  t.like(await runScenario('refused', env), { refused: true });
  t.deepEqual(
    system.log.filter((line) => line.level === 'warn').map((line) => line.message),
    [],
  );
});
