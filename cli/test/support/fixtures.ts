/**
 * Canned answers of the fake gateway, shaped like contract/api.ts says, and the
 * login every authenticated test starts from.
 */
import type { EventDetailsView, EventView, GroupView } from '../../../contract/views.js';
import type { ConflictingEvent } from '../../../contract/errors.js';
import type { LoginAnswer } from '../../../contract/api.js';
import { RecordedTerminal, runCommand } from './harness.js';
import EventList from '../../commands/event/list.js';
import Login from '../../commands/login.js';
import type { FakeGateway, TestTls } from './fake-gateway.js';

/** A confirmed one-off event of alice's. */
export function eventDetails(overrides: Partial<EventDetailsView> = {}): EventDetailsView {
  return {
    id: 'e1',
    title: 'Standup',
    start: '2026-03-02T09:00:00.000Z',
    end: '2026-03-02T09:15:00.000Z',
    status: 'confirmed',
    myStatus: 'accepted',
    organizer: 'alice',
    group: null,
    conflict: false,
    timeZone: 'Europe/Madrid',
    visibility: 'busy',
    description: '',
    location: '',
    recurrence: null,
    exceptions: [],
    attendees: [{ username: 'alice', status: 'accepted', role: 'organizer' }],
    revision: 1,
    ...overrides,
  };
}

/** One occurrence as lists show it. */
export function eventView(overrides: Partial<EventView> = {}): EventView {
  const { exceptions: _e, attendees: _a, revision: _r, ...view } = eventDetails();
  return { ...view, ...overrides };
}

export function groupView(overrides: Partial<GroupView> = {}): GroupView {
  return {
    name: 'team',
    kind: 'hierarchical',
    owner: 'alice',
    members: [
      { username: 'alice', level: 0 },
      { username: 'bob', level: 1 },
    ],
    invited: [],
    ...overrides,
  };
}

export const conflictingEvent: ConflictingEvent = {
  id: 'e9',
  title: 'Dentist',
  start: '2026-03-02T09:00:00.000Z',
  end: '2026-03-02T09:45:00.000Z',
};

/** The password every test user has. */
export const PASSWORD = 'correct horse battery';

/**
 * What `POST /v1/sessions` answers for `username`: an access token valid for an hour (unless
 * `accessMs` says otherwise) and a refresh token valid for 30 days; `n` numbers the answers
 * of one session (a login's is 0, `token-of-<username>`; the nth refresh's `token-<n>-of-…`).
 */
export function loginAnswer(username = 'alice', accessMs = 3_600_000, n = 0): LoginAnswer {
  return {
    token: n === 0 ? `token-of-${username}` : `token-${n}-of-${username}`,
    expiresAt: new Date(Date.now() + accessMs).toISOString(),
    refreshToken: `refresh-${n}-of-${username}`,
    refreshExpiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    user: { username, name: username === 'alice' ? 'Alice Liddell' : '' },
  };
}

/** The global flags pointing a command at `gateway` with the test CA and config dir. */
export function connectionFlags(
  gateway: { url: string } | string,
  tls: TestTls,
  configDir: string,
): string[] {
  const url = typeof gateway === 'string' ? gateway : gateway.url;
  return ['--server', url, '--ca', tls.caFile, '--config-dir', configDir];
}

/** Logs `username` in through `gateway` (which must answer `POST /v1/sessions`). */
export async function logIn(
  gateway: FakeGateway,
  tls: TestTls,
  configDir: string,
  options: { username?: string; profile?: string; terminal?: RecordedTerminal } = {},
): Promise<void> {
  const run = await runCommand(
    Login,
    [
      options.username ?? 'alice',
      '--password-stdin',
      ...connectionFlags(gateway, tls, configDir),
      ...(options.profile === undefined ? [] : ['--profile', options.profile]),
    ],
    options.terminal ?? new RecordedTerminal({ stdin: `${PASSWORD}\n` }),
  );
  if (run.exitCode !== 0) throw new Error(`login failed: ${run.stderr}`);
}

/**
 * `agenda event list --json` through `servers` (a `--server` list) with the login in
 * `configDir`, and how long it took in milliseconds.
 */
export async function timedJsonList(servers: string, configDir: string) {
  const started = Date.now();
  const run = await runCommand(EventList, [
    '--json',
    '--server',
    servers,
    '--config-dir',
    configDir,
  ]);
  return { run, elapsed: Date.now() - started };
}
