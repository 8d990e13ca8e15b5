/**
 * CalDAV with real command-line clients: Debian's vdirsyncer (0.19) syncs the user's
 * calendar into a directory of .ics files, and khal (0.10.5) reads and writes that
 * directory, against the in-process system over HTTPS with its CA (both installed by
 * .ci/run). Only their command lines are run, each in a temporary directory with its own
 * configuration, as someone would set them up with an app password:
 * - an event made with the API comes down and khal lists it;
 * - an event made with `khal new` goes up and the API lists it at its times;
 * - edits and deletions on either side cross over;
 * - an event whose UID vdirsyncer keeps out of hrefs (`@`) goes up through the 308 to its
 *   UID's name;
 * - an event khal makes over an accepted one is refused (409), vdirsyncer says so naming
 *   what is in the way, syncs everything else, keeps the local event and uploads it once
 *   it is moved.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import {
  access,
  constants,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { PortRange } from '../bus/test-support.js';
import { startInProcessSystem, type InProcessSystem } from './in-process-system.js';

/** This file's ports. */
const ports = new PortRange(28_840, 28_859);
const VDIRSYNCER = '/usr/bin/vdirsyncer';
const KHAL = '/usr/bin/khal';
/** One command's limit: generous, for a loaded machine. */
const STEP_TIMEOUT_MS = 60_000;

const missing = (
  await Promise.all(
    [VDIRSYNCER, KHAL].map((file) =>
      access(file, constants.X_OK).then(
        () => null,
        () => file,
      ),
    ),
  )
).filter((file) => file !== null);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end (or its timeout); never throws. */
function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env, timeout: STEP_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 8 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function api(
  system: InProcessSystem,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const answer = await request(`${system.url}${path}`, {
    method,
    dispatcher: system.agent,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: answer.statusCode, json: (await answer.body.json()) as Record<string, unknown> };
}

interface Listed {
  readonly id: string;
  readonly title: string;
  readonly start: string;
  readonly end: string;
  readonly status: string;
}

const title =
  missing.length === 0
    ? 'vdirsyncer and khal sync both ways with an app password: made, changed and deleted on either side, an @ in a UID, a conflict refused and kept'
    : `vdirsyncer and khal (skipped: ${missing.join(' and ')} not installed; apt-get install vdirsyncer khal)`;

(missing.length === 0 ? test : test.skip)(title, async (t) => {
  t.timeout(180_000);
  const system = await startInProcessSystem(t, ports);
  const credentials = { username: 'alice', password: 'correct horse battery' };
  t.is((await api(system, 'POST', '/v1/users', '', credentials)).status, 201);
  const token = (await api(system, 'POST', '/v1/sessions', '', credentials)).json.token as string;
  const create = async (body: Record<string, unknown>) => {
    const made = await api(system, 'POST', '/v1/events', token, {
      timeZone: 'Europe/Paris',
      ...body,
    });
    t.is(made.status, 201, JSON.stringify(made.json));
    return (made.json.event as { id: string }).id;
  };
  const listed = async (from: string, to: string): Promise<Listed[]> => {
    const answer = await api(system, 'GET', `/v1/events?from=${from}&to=${to}`, token);
    t.is(answer.status, 200);
    return answer.json.events as Listed[];
  };
  const shown = async (id: string) =>
    (await api(system, 'GET', `/v1/events/${id}`, token)).json.event as Listed;
  // As the CLI makes it: local times with their offset, in the user's zone.
  const dentist = await create({
    title: 'Dentist',
    start: '2027-02-03T14:00:00+01:00',
    duration: '1h',
  });
  const device = await api(system, 'POST', '/v1/devices', token, { label: 'khal' });
  t.is(device.status, 201);

  const dir = await mkdtemp(join(tmpdir(), 'agenda-vdirsyncer-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const ca = join(dir, 'ca.pem');
  await writeFile(ca, system.caPem);
  // The local collection exists, so `vdirsyncer discover` has nothing to ask.
  const local = join(dir, 'calendars', 'agenda');
  await mkdir(local, { recursive: true });
  await writeFile(
    join(dir, 'vdirsyncer.conf'),
    [
      '[general]',
      `status_path = "${dir}/status/"`,
      '',
      '[pair agenda]',
      'a = "agenda_remote"',
      'b = "agenda_local"',
      'collections = ["from a"]',
      'conflict_resolution = "a wins"',
      '',
      '[storage agenda_remote]',
      'type = "caldav"',
      `url = "${device.json.url as string}"`,
      'username = "alice"',
      `password = "${device.json.password as string}"`,
      `verify = "${ca}"`,
      '',
      '[storage agenda_local]',
      'type = "filesystem"',
      `path = "${dir}/calendars/"`,
      'fileext = ".ics"',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'khal.conf'),
    [
      '[calendars]',
      '[[agenda]]',
      `path = ${local}/`,
      'type = calendar',
      '[sqlite]',
      `path = ${dir}/khal.db`,
      '[locale]',
      'timeformat = %H:%M',
      'dateformat = %Y-%m-%d',
      'longdateformat = %Y-%m-%d',
      'datetimeformat = %Y-%m-%d %H:%M',
      'longdatetimeformat = %Y-%m-%d %H:%M',
      'local_timezone = Europe/Paris',
      'default_timezone = Europe/Paris',
      '[default]',
      'default_calendar = agenda',
      '',
    ].join('\n'),
  );
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_DATA_HOME: join(dir, 'data'),
    TZ: 'Europe/Paris',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    VDIRSYNCER_CONFIG: join(dir, 'vdirsyncer.conf'),
  };
  const vdirsyncer = (...args: string[]) => run(VDIRSYNCER, args, env);
  const khal = async (...args: string[]) => {
    const done = await run(KHAL, ['-c', join(dir, 'khal.conf'), ...args], env);
    t.is(done.code, 0, `khal ${args.join(' ')}: ${done.stderr}`);
    return done;
  };
  const sync = async () => {
    const done = await vdirsyncer('sync');
    t.is(done.code, 0, `vdirsyncer sync:\n${done.stderr}`);
    return done;
  };
  /** What khal lists in February 2027, one `start end title` a line. */
  const khalList = async () =>
    (
      await khal(
        'list',
        '--format',
        '{start} {end} {title}',
        '--day-format',
        '',
        '2027-02-01',
        '28d',
      )
    ).stdout
      .split('\n')
      .filter((line) => line.trim() !== '');
  const files = async () => (await readdir(local)).sort();
  const fileWith = async (text: string) => {
    for (const name of await readdir(local)) {
      if ((await readFile(join(local, name), 'utf8')).includes(text)) return join(local, name);
    }
    throw new Error(`no local file holds ${text}`);
  };

  // 1. Discovered from the root URL (principal, home, the one calendar), then down.
  const discovered = await vdirsyncer('discover');
  t.is(discovered.code, 0, discovered.stderr);
  t.regex(discovered.stderr, /"agenda" \("Agenda of alice"\)/);
  t.regex(
    (await sync()).stderr,
    new RegExp(`Copying \\(uploading\\) item ${dentist} to agenda_local`),
  );
  t.deepEqual(await files(), [`${dentist}.ics`]);
  t.deepEqual(await khalList(), ['2027-02-03 14:00 2027-02-03 15:00 Dentist']);

  // 2. Made in khal, up with the next sync, listed by the API at its times (Paris is UTC+1).
  await khal('new', '-a', 'agenda', '2027-02-10', '10:00', '11:00', 'Made in khal');
  const khalFile = await fileWith('SUMMARY:Made in khal');
  const uploaded = await sync();
  t.regex(uploaded.stderr, /Copying \(uploading\) item \S+ to agenda_remote/);
  const [fromKhal, ...others] = await listed('2027-02-10T00:00:00Z', '2027-02-11T00:00:00Z');
  t.like(fromKhal, {
    title: 'Made in khal',
    start: '2027-02-10T09:00:00.000Z',
    end: '2027-02-10T10:00:00.000Z',
    status: 'confirmed',
  });
  t.deepEqual(others, []);
  // Nothing comes back down, nothing doubles.
  t.notRegex((await sync()).stderr, /Copying|Deleting/);
  t.is((await files()).length, 2);
  t.is((await listed('2027-02-01T00:00:00Z', '2027-03-01T00:00:00Z')).length, 2);
  const khalId = (fromKhal as Listed).id;

  // 3. Changed on either side: the API renames khal's event; the dentist is edited in its file.
  const renamed = await api(system, 'PATCH', `/v1/events/${khalId}`, token, {
    title: 'Made in khal, renamed',
  });
  t.is(renamed.status, 200);
  const dentistFile = join(local, `${dentist}.ics`);
  await writeFile(
    dentistFile,
    (await readFile(dentistFile, 'utf8')).replace(
      'SUMMARY:Dentist',
      'SUMMARY:Dentist (bring X-rays)',
    ),
  );
  const crossed = await sync();
  t.regex(crossed.stderr, /Copying \(updating\) item \S+ to agenda_local/);
  t.regex(crossed.stderr, new RegExp(`Copying \\(updating\\) item ${dentist} to agenda_remote`));
  t.deepEqual(await khalList(), [
    '2027-02-03 14:00 2027-02-03 15:00 Dentist (bring X-rays)',
    '2027-02-10 10:00 2027-02-10 11:00 Made in khal, renamed',
  ]);
  t.like(await shown(dentist), {
    title: 'Dentist (bring X-rays)',
    start: '2027-02-03T13:00:00.000Z',
    end: '2027-02-03T14:00:00.000Z',
    status: 'confirmed',
  });

  // Deleted on either side: the API cancels the dentist; khal's file is removed.
  t.is((await api(system, 'DELETE', `/v1/events/${dentist}`, token)).status, 200);
  await rm(khalFile);
  const deleted = await sync();
  t.regex(deleted.stderr, new RegExp(`Deleting item ${dentist} from agenda_local`));
  t.regex(deleted.stderr, /Deleting item \S+ from agenda_remote/);
  t.deepEqual(await files(), []);
  t.deepEqual(await khalList(), []);
  t.is((await shown(khalId)).status, 'cancelled');
  t.is((await shown(dentist)).status, 'cancelled');

  // 4. A UID with an `@` (an invitation imported into khal): vdirsyncer PUTs it to a random
  // name, follows the 308 to the UID's, and keeps that href.
  await writeFile(
    join(dir, 'party.ics'),
    [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//Example//Invitation//EN',
      'BEGIN:VEVENT',
      'UID:party-2027@example.com',
      'DTSTAMP:20261201T120000Z',
      'DTSTART:20270220T180000Z',
      'DTEND:20270220T220000Z',
      'SUMMARY:Party',
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n'),
  );
  await khal('import', '--batch', '-a', 'agenda', join(dir, 'party.ics'));
  await sync();
  t.like((await listed('2027-02-20T00:00:00Z', '2027-02-21T00:00:00Z'))[0], {
    title: 'Party',
    start: '2027-02-20T18:00:00.000Z',
    end: '2027-02-20T22:00:00.000Z',
  });
  t.notRegex((await sync()).stderr, /Copying|Deleting/);
  t.is((await files()).length, 1);

  // 5. A conflict: khal makes an event over the accepted review. The PUT is refused (409);
  // vdirsyncer reports it naming the review and fails (exit 1), yet syncs the rest (the lunch
  // made meanwhile comes down); the local event stays, and nothing is written remotely.
  await create({ title: 'Review', start: '2027-02-17T10:00:00+01:00', duration: '1h' });
  await sync();
  await khal('new', '-a', 'agenda', '2027-02-17', '10:30', '11:30', 'Overlapping');
  const lunch = await create({
    title: 'Lunch',
    start: '2027-02-18T12:00:00+01:00',
    duration: '1h',
  });
  for (let attempt = 0; attempt < 2; attempt++) {
    const refused = await vdirsyncer('sync');
    t.is(refused.code, 1, refused.stderr);
    t.regex(
      refused.stderr,
      /error: Unknown error occurred for agenda\/agenda: 409, message='Conflict with "Review" 2027-02-17 09:00-10:00 UTC'/,
    );
    t.deepEqual(
      (await listed('2027-02-17T00:00:00Z', '2027-02-18T00:00:00Z')).map((e) => e.title),
      ['Review'],
    );
  }
  t.true((await files()).includes(`${lunch}.ics`));
  t.deepEqual(await khalList(), [
    '2027-02-17 10:00 2027-02-17 11:00 Review',
    '2027-02-17 10:30 2027-02-17 11:30 Overlapping',
    '2027-02-18 12:00 2027-02-18 13:00 Lunch',
    '2027-02-20 19:00 2027-02-20 23:00 Party',
  ]);
  // Moved past the review in its file, it goes up.
  const overlapping = await fileWith('SUMMARY:Overlapping');
  await writeFile(
    overlapping,
    (await readFile(overlapping, 'utf8'))
      .replaceAll('20270217T103000', '20270217T110000')
      .replaceAll('20270217T113000', '20270217T120000'),
  );
  await sync();
  t.deepEqual(
    (await listed('2027-02-17T00:00:00Z', '2027-02-18T00:00:00Z')).map((e) => [e.title, e.start]),
    [
      ['Review', '2027-02-17T09:00:00.000Z'],
      ['Overlapping', '2027-02-17T10:00:00.000Z'],
    ],
  );
  t.is((await files()).length, 4);
  t.deepEqual(
    system.log.filter((line) => line.level === 'warn').map((line) => line.message),
    [],
  );
});
