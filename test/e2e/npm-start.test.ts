/**
 * The whole system as `npm start` runs it — 5 DB members, Redis primary + replica, 2 users
 * and 2 groups replicas, 2 gateways, all real processes over TLS — driven through the real
 * `agenda` CLI with `--json`, as a user would.
 */
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const GATEWAYS = 'https://127.0.0.1:8443,https://127.0.0.1:8444';

interface CliResult {
  readonly code: number;
  readonly json: Record<string, unknown> | null;
  readonly stderr: string;
}

let system: ChildProcess | null = null;
let dataDir = '';
let configDir = '';

/** Runs `agenda <args> --json`, feeding `input` on stdin. */
function agenda(args: string[], input?: string): Promise<CliResult> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/agenda.js'), ...args, '--json'], {
      cwd: REPO,
      env: {
        ...process.env,
        AGENDA_SERVER: GATEWAYS,
        AGENDA_CA: join(dataDir, 'pki/ca.pem'),
        AGENDA_CONFIG_DIR: configDir,
        NO_COLOR: '1',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdin.end(input ?? '');
    child.on('exit', (code) => {
      let json: Record<string, unknown> | null = null;
      try {
        json = JSON.parse(out.trim().split('\n').pop() ?? '') as Record<string, unknown>;
      } catch {
        json = null;
      }
      done({ code: code ?? -1, json, stderr: err });
    });
  });
}

/** Polls both gateways' /metrics until one reports an open event stream. */
async function untilStreamOpen(timeoutMs = 15_000): Promise<boolean> {
  // `/metrics` is for operators: present the operator's certificate.
  const pki = (file: string) => readFileSync(join(dataDir, 'pki', file));
  const dispatcher = new Agent({
    connect: { ca: pki('ca.pem'), cert: pki('operator.pem'), key: pki('operator-key.pem') },
  });
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      for (const base of GATEWAYS.split(',')) {
        const res = await request(`${base}/metrics`, { dispatcher }).catch(() => null);
        const text = res ? await res.body.text() : '';
        if (/^agenda_gateway_open_streams [1-9]/m.test(text)) return true;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  } finally {
    await dispatcher.close();
  }
}

const events = (r: CliResult) =>
  (r.json?.events ?? []) as { id: string; title: string; myStatus: string; status: string }[];

test.before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'agenda-e2e-'));
  configDir = join(dataDir, 'cli');
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'lab/local/start.ts')], {
    cwd: REPO,
    env: { ...process.env, AGENDA_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  system = child;
  await new Promise<void>((ready, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`npm start did not come up:\n${out}`)), 120_000);
    const onData = (c: Buffer) => {
      out += c.toString();
      if (out.includes('Agenda is up')) {
        clearTimeout(timer);
        ready();
      } else if (out.includes('could not start')) {
        clearTimeout(timer);
        fail(new Error(out));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
});

test.after.always(async () => {
  const child = system;
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test.serial(
  'operators see the cluster: five DB members with one leader, a Redis primary and replica, a supervisor',
  async (t) => {
    const r = await agenda(['cluster', 'status', '--data-dir', dataDir]);
    t.is(r.code, 0, r.stderr);
    const cluster = r.json?.cluster as {
      dbMembers: { up: boolean; role?: string }[];
      redis: { up: boolean; role?: string }[];
      supervisor?: { holder: string | null };
    };
    t.is(cluster.dbMembers.filter((m) => m.up).length, 5);
    t.is(cluster.dbMembers.filter((m) => m.role === 'leader').length, 1);
    t.deepEqual(cluster.redis.map((i) => i.role).sort(), ['primary', 'replica']);
    t.regex(cluster.supervisor?.holder ?? '', /^supervisor-/);
  },
);

test.serial('accounts: register, login, wrong password, whoami', async (t) => {
  t.is((await agenda(['register', 'alice', '--password-stdin'], 'alice-password\n')).code, 0);
  t.is(
    (await agenda(['register', 'bob', '--password-stdin', '--profile', 'bob'], 'bob-password\n'))
      .code,
    0,
  );
  t.is(
    (
      await agenda(
        ['register', 'carol', '--password-stdin', '--profile', 'carol'],
        'carol-password\n',
      )
    ).code,
    0,
  );
  const wrong = await agenda(
    ['login', 'alice', '--password-stdin', '--profile', 'mallory'],
    'not-it\n',
  );
  t.is(wrong.code, 2, 'a wrong password exits 2');
  const me = await agenda(['whoami']);
  t.is(me.code, 0);
  t.is((me.json?.user as { username: string } | undefined)?.username, 'alice');
});

test.serial("a superior's group event appears at once for a subordinate, live", async (t) => {
  t.is((await agenda(['group', 'create', 'team', '--hierarchical'])).code, 0);
  t.is((await agenda(['group', 'add', 'team', 'bob', '--level', '1'])).code, 0);
  // Membership is by consent: bob sees the invitation and joins.
  const invited = await agenda(['invite', 'list', '--profile', 'bob']);
  t.deepEqual(
    (invited.json?.groupInvitations as { group: string }[] | undefined)?.map((i) => i.group),
    ['team'],
  );
  t.is((await agenda(['group', 'join', 'team', '--profile', 'bob'])).code, 0);
  // Bob watches; the update must reach him within a second of the event being created.
  const watch = spawn(
    process.execPath,
    [join(REPO, 'bin/agenda.js'), 'watch', '--count', '1', '--json', '--profile', 'bob'],
    {
      cwd: REPO,
      env: {
        ...process.env,
        AGENDA_SERVER: GATEWAYS,
        AGENDA_CA: join(dataDir, 'pki/ca.pem'),
        AGENDA_CONFIG_DIR: configDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let watched = '';
  let watchedAt = 0;
  watch.stdout.on('data', (c: Buffer) => {
    watched += c.toString();
    watchedAt ||= Date.now();
  });
  const watchDone = new Promise((r) => watch.once('exit', r));
  // Wait until a gateway reports the stream open (its subscription is live by then).
  t.true(await untilStreamOpen(), 'the watch stream opened');
  const created = await agenda([
    'event',
    'add',
    'All hands',
    '--start',
    '2030-01-07T09:00:00Z',
    '--duration',
    '30m',
    '--group',
    'team',
  ]);
  const createdAt = Date.now();
  t.is(created.code, 0, created.stderr);
  await watchDone;
  t.regex(watched, /"change":"imposed"/);
  t.true(watchedAt - createdAt < 1_000, `live update after ${watchedAt - createdAt} ms`);
  const bobs = await agenda([
    'event',
    'list',
    '--profile',
    'bob',
    '--from',
    '2030-01-07T00:00:00Z',
    '--to',
    '2030-01-08T00:00:00Z',
  ]);
  const allHands = events(bobs).find((e) => e.title === 'All hands');
  t.is(allHands?.myStatus, 'accepted', 'no acceptance needed from a subordinate');
});

test.serial('conflicts are refused with exit 4 unless allowed', async (t) => {
  const clash = await agenda([
    'event',
    'add',
    'Clash',
    '--start',
    '2030-01-07T09:15:00Z',
    '--duration',
    '1h',
  ]);
  t.is(clash.code, 4);
  t.regex(clash.stderr, /All hands/);
  const allowed = await agenda([
    'event',
    'add',
    'Clash',
    '--start',
    '2030-01-07T09:15:00Z',
    '--duration',
    '1h',
    '--allow-conflict',
  ]);
  t.is(allowed.code, 0);
});

test.serial(
  'privacy: a busy event of a superior is a busy block for a subordinate; no shared group, no view',
  async (t) => {
    t.is(
      (
        await agenda([
          'event',
          'add',
          'Secret review',
          '--start',
          '2030-01-08T09:00:00Z',
          '--duration',
          '1h',
          '--visibility',
          'private',
        ])
      ).code,
      0,
    );
    const view = await agenda([
      'agenda',
      '--users',
      'alice',
      '--from',
      '2030-01-08T00:00:00Z',
      '--to',
      '2030-01-09T00:00:00Z',
      '--profile',
      'bob',
    ]);
    t.is(view.code, 0, view.stderr);
    const text = JSON.stringify(view.json);
    t.false(text.includes('Secret review'), 'no title leaks');
    t.true(text.includes('"busy":true'));
    const forbidden = await agenda([
      'agenda',
      '--users',
      'alice',
      '--from',
      '2030-01-08T00:00:00Z',
      '--to',
      '2030-01-09T00:00:00Z',
      '--profile',
      'carol',
    ]);
    t.is(forbidden.code, 3, 'carol shares no group with alice');
  },
);

test.serial('one occurrence changed on its own, then the series cancelled with it', async (t) => {
  const series = await agenda([
    'event',
    'add',
    'Weekly review',
    '--start',
    '2031-03-03T15:00:00Z',
    '--duration',
    '1h',
    '--repeat',
    'FREQ=WEEKLY;COUNT=4',
  ]);
  t.is(series.code, 0, series.stderr);
  const seriesId = (series.json?.event as { id: string }).id;
  const moved = await agenda([
    'event',
    'update',
    seriesId,
    '--occurrence',
    '2031-03-10',
    '--title',
    'Review (moved)',
    '--start',
    '2031-03-11T16:00:00Z',
  ]);
  t.is(moved.code, 0, moved.stderr);
  const listed = async () =>
    (
      (await agenda(['event', 'list', '--from', '2031-03-01T00:00Z', '--to', '2031-04-01T00:00Z']))
        .json?.events as { title: string; start: string; status: string }[]
    ).filter((e) => e.status !== 'cancelled');
  t.deepEqual(
    (await listed()).map((e) => `${e.start.slice(0, 10)} ${e.title}`),
    [
      '2031-03-03 Weekly review',
      '2031-03-11 Review (moved)',
      '2031-03-17 Weekly review',
      '2031-03-24 Weekly review',
    ],
  );
  t.is((await agenda(['event', 'cancel', seriesId])).code, 0);
  t.deepEqual(await listed(), []);
});

test.serial('flat group: one decline cancels the event for everyone', async (t) => {
  t.is((await agenda(['group', 'create', 'book-club', '--flat'])).code, 0);
  t.is((await agenda(['group', 'add', 'book-club', 'bob'])).code, 0);
  t.is((await agenda(['group', 'add', 'book-club', 'carol'])).code, 0);
  t.is((await agenda(['group', 'join', 'book-club', '--profile', 'bob'])).code, 0);
  t.is((await agenda(['group', 'join', 'book-club', '--profile', 'carol'])).code, 0);
  const created = await agenda([
    'event',
    'add',
    'Reading',
    '--start',
    '2030-02-01T18:00:00Z',
    '--duration',
    '2h',
    '--group',
    'book-club',
  ]);
  const id = (created.json?.event as { id: string; status: string } | undefined)?.id ?? '';
  t.is((created.json?.event as { status: string } | undefined)?.status, 'pending');
  t.is((await agenda(['invite', 'accept', id, '--profile', 'bob'])).code, 0);
  t.is((await agenda(['invite', 'decline', id, '--profile', 'carol'])).code, 0);
  const shown = await agenda(['event', 'show', id]);
  t.is((shown.json?.event as { status: string } | undefined)?.status, 'cancelled');
});

test.serial(
  'logout ends the session on the server: a copy of its token is refused by both gateways',
  async (t) => {
    t.is(
      (
        await agenda(
          ['register', 'dora', '--password-stdin', '--profile', 'dora'],
          'dora-password\n',
        )
      ).code,
      0,
    );
    const profile = JSON.parse(readFileSync(join(configDir, 'profiles', 'dora.json'), 'utf8')) as {
      login: { token: string };
    };
    const copy = profile.login.token;
    const ca = readFileSync(join(dataDir, 'pki/ca.pem'));
    const dispatcher = new Agent({ connect: { ca } });
    const me = async (base: string) =>
      (
        await request(`${base}/v1/me`, {
          dispatcher,
          headers: { authorization: `Bearer ${copy}` },
        })
      ).statusCode;
    try {
      for (const base of GATEWAYS.split(',')) t.is(await me(base), 200);
      const out = await agenda(['logout', '--profile', 'dora']);
      t.is(out.code, 0, out.stderr);
      t.like(out.json, { loggedOut: true, revoked: true });
      for (const base of GATEWAYS.split(',')) t.is(await me(base), 401, 'the copy is refused');
    } finally {
      await dispatcher.close();
    }
  },
);

test.serial('without a login the CLI exits 2 and says so', async (t) => {
  const anonymous = await agenda(['whoami', '--profile', 'nobody']);
  t.is(anonymous.code, 2);
  t.regex(anonymous.stderr, /login/);
});

test.serial(
  'a gateway and a users replica die mid-load: the CLI keeps working, nothing acknowledged is lost',
  async (t) => {
    t.timeout(180_000);
    const acked: string[] = [];
    const failed: string[] = [];
    for (let i = 0; i < 16; i++) {
      if (i === 5) {
        // kill -9 the first gateway and the first users replica (found by their config files).
        for (const name of ['gateway-1.json', 'users-1.json']) {
          const killed = spawnSync('pkill', ['-KILL', '-f', join(dataDir, name)]).status;
          t.is(killed, 0, `${name} was running and is killed`);
        }
      }
      const title = `Load ${i}`;
      const r = await agenda([
        'event',
        'add',
        title,
        '--start',
        `2030-03-${String(i + 1).padStart(2, '0')}T10:00:00Z`,
        '--duration',
        '30m',
      ]);
      if (r.code === 0) acked.push(title);
      else failed.push(`${title}: exit ${r.code} ${r.stderr}`);
    }
    t.deepEqual(failed, [], 'every write succeeded through the surviving gateway and replica');
    const listed = await agenda([
      'event',
      'list',
      '--from',
      '2030-03-01T00:00:00Z',
      '--to',
      '2030-04-01T00:00:00Z',
    ]);
    const titles = new Set(events(listed).map((e) => e.title));
    for (const title of acked) t.true(titles.has(title), `${title} is in the agenda`);
    t.is(events(listed).filter((e) => e.title.startsWith('Load ')).length, 16, 'and none twice');
  },
);

test.serial(
  'the Redis primary dies mid-load: the supervisor promotes the replica and no write is lost or doubled',
  async (t) => {
    t.timeout(180_000);
    const failed: string[] = [];
    for (let i = 0; i < 12; i++) {
      if (i === 4) {
        const killed = spawnSync('pkill', ['-KILL', '-f', 'redis-server.*6380']).status;
        t.is(killed, 0, 'the Redis primary was running and is killed');
      }
      const title = `Redis ${i}`;
      const day = String(i + 1).padStart(2, '0');
      const r = await agenda([
        'event',
        'add',
        title,
        '--start',
        `2030-04-${day}T10:00:00Z`,
        '--duration',
        '30m',
      ]);
      if (r.code !== 0) failed.push(`${title}: exit ${r.code} ${r.stderr}`);
    }
    t.deepEqual(failed, [], 'every write succeeded across the Redis failover');
    const listed = await agenda([
      'event',
      'list',
      '--from',
      '2030-04-01T00:00:00Z',
      '--to',
      '2030-05-01T00:00:00Z',
    ]);
    t.is(
      events(listed).filter((e) => e.title.startsWith('Redis ')).length,
      12,
      'each write exactly once',
    );
  },
);
