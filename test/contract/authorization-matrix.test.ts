/**
 * The authorization matrix (issue 13, part 8): every route the API declares
 * (contract/api-routes.ts) × every relation a caller can stand in to the person whose things
 * the route touches, each cell with its exact answer — the HTTP status, the error code, and
 * for a read that succeeds what it shows — written down in one table ({@link ROWS}) and
 * asked of the whole request path: the real gateway, bus, users and groups services and
 * store (../../server/gateway/in-process-system.ts).
 *
 * The person is olga. Around her, built once through the API ({@link buildWorld}):
 * - `ranks`, a hierarchical group owned by sam (level 0), where olga and pat are at level 1
 *   and sue at 2; ivy is invited at level 2 and has not joined; leo joined and left; rex
 *   joined and was removed by sam; dora was a member, then deleted her account;
 * - `team`, a flat group of olga's, with fay;
 * - olga changed her password once, and logged one session out;
 * - olga's week: sam's group meeting imposed on her, her appointment with ana (accepted) and
 *   ines (pending), a busy, a private and a public event of her own, oscar's review she
 *   accepted, and her own briefing of the `ranks` group (imposed on sue, pending for sam and
 *   pat); ivy and leo have events of their own in the same hours, which must count for no
 *   one else.
 *
 * Relations are who asks ({@link RELATIONS}): olga herself, the people related to her as
 * above, a stranger, the deleted account (its token), nobody, tokens that must open nothing
 * (forged, expired, for a user who never existed, logged out, from before a password change,
 * a feed's or a refresh token where a session token goes), and each internal role's
 * certificate from the cluster CA. Inside the cluster, which role may run which store
 * command and query is the DB service's table (server/store/access.ts), proved for every
 * type × role by server/db/access.test.ts, and what each role's Redis user may do is
 * server/bus/acl.ts (server/bus/acl.test.ts, lab/redis-auth.test.ts): not repeated here. At
 * the gateway a role's certificate opens no user's route and only the operator's opens
 * /metrics, which the role columns below pin.
 *
 * Reads are asked first, of the shared world. Then writes: a cell expected to be refused is
 * asked of the shared world too (it must change nothing), while a cell expected to succeed
 * acts on its own copy of the target, made as the original was, so that no answer depends
 * on another cell's success. Last, each account changes its password and deletes itself.
 * A mismatch prints the whole matrix, actual status per cell with the expected beside it,
 * and what each wrong cell answered (`AGENDA_MATRIX_PRINT=1` prints it anyway). Ports
 * 28920–28939.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { request, type Agent } from 'undici';
import type { RequestOf } from '../../cli/http/agenda-api.js';
import {
  API_ROUTES,
  type AnswerOf,
  type ApiRoutes,
  type RouteDeclaration,
  type RouteName,
} from '../../contract/api-routes.js';
import type { AgendasAnswer, LoginAnswer } from '../../contract/api.js';
import { httpStatusFor, type ErrorCode } from '../../contract/errors.js';
import type { AgendaEntry, EventDetailsView, GroupView } from '../../contract/views.js';
import { CLUSTER_ROLES, type ClusterRole } from '../../base/pki.js';
import { layoutLines, layoutTable, loadDisplayWidths, type TableColumn } from '../../base/table.js';
import { PortRange } from '../../server/bus/test-support.js';
import {
  startInProcessSystem,
  type InProcessSystem,
} from '../../server/gateway/in-process-system.js';

const ports = new PortRange(28_920, 28_939);

// ---------------------------------------------------------------------------------------
// Who asks

/** The people of the world, by the relation each stands in to olga (or to her things). */
const PEOPLE = {
  /** Olga herself: the owner of the agenda, the organizer of her events. */
  self: 'olga',
  /** Invited to olga's appointment, and accepted; shares no group with her. */
  attendee: 'ana',
  /** Invited to olga's appointment, not yet answered; shares no group with her. */
  invitee: 'ines',
  /** Organizes an event olga accepted; shares no group with her. */
  organizer: 'oscar',
  /** Owner of `ranks`, level 0: olga's superior. */
  superior: 'sam',
  /** Level 1 of `ranks`, as olga. */
  peer: 'pat',
  /** Level 2 of `ranks`: olga's subordinate. */
  subordinate: 'sue',
  /** Member of olga's flat group `team`. */
  flatPeer: 'fay',
  /** Invited to `ranks` at level 2, not joined: not a member for any purpose. */
  invited: 'ivy',
  /** Joined `ranks`, then left. */
  formerLeft: 'leo',
  /** Joined `ranks`, then removed by sam. */
  formerRemoved: 'rex',
  /** Registered, and nothing to anyone. */
  stranger: 'stan',
  /** Was in `ranks` and at olga's appointment, then deleted the account; asks with its token. */
  deleted: 'dora',
} as const;

type Person = keyof typeof PEOPLE;
/** The relations of signed-in, living users: every row must say what each of them gets. */
const LIVE = [
  'self',
  'attendee',
  'invitee',
  'organizer',
  'superior',
  'peer',
  'subordinate',
  'flatPeer',
  'invited',
  'formerLeft',
  'formerRemoved',
  'stranger',
] as const satisfies readonly Person[];
type Live = (typeof LIVE)[number];

type RoleRelation = `cert:${ClusterRole}` | 'cert:none';
const ROLE_RELATIONS: readonly RoleRelation[] = [
  ...CLUSTER_ROLES.map((role): RoleRelation => `cert:${role}`),
  'cert:none',
];

/**
 * Callers who are nobody, by the bearer token they present: none; one for olga signed by a
 * key the system does not trust; olga's, expired a day ago; one signed by the users
 * service's own key for a user who never existed; one of olga's sessions that logged out;
 * one of hers from before she changed her password; her feed's token and a refresh token of
 * hers, each where a session token goes.
 */
const TOKENS_OF_NOBODY = [
  'anonymous',
  'forged',
  'expired',
  'neverExisted',
  'loggedOut',
  'oldPassword',
  'feedToken',
  'refreshToken',
] as const;
type NobodysToken = (typeof TOKENS_OF_NOBODY)[number];

/**
 * Every relation, in the matrix's column order: the people, the tokens of nobody, then a
 * client certificate of the cluster CA naming each role (or none), without a token.
 */
const RELATIONS = [
  ...LIVE,
  'deleted',
  ...TOKENS_OF_NOBODY,
  ...ROLE_RELATIONS,
] as const satisfies readonly string[];
type Relation = Person | NobodysToken | RoleRelation;

/** Who cannot be a signed-in user: a user's route refuses them all as unauthenticated. */
const SIGNED_OUT: readonly Relation[] = ['deleted', ...TOKENS_OF_NOBODY, ...ROLE_RELATIONS];

const SHORT: Readonly<Record<string, string>> = {
  self: 'self',
  attendee: 'att',
  invitee: 'inv',
  organizer: 'org',
  superior: 'sup',
  peer: 'peer',
  subordinate: 'sub',
  flatPeer: 'flat',
  invited: 'pend',
  formerLeft: 'left',
  formerRemoved: 'rmvd',
  stranger: 'strg',
  deleted: 'dele',
  anonymous: 'anon',
  forged: 'forg',
  expired: 'expd',
  neverExisted: 'ghst',
  loggedOut: 'lgdo',
  oldPassword: 'oldpw',
  feedToken: 'feed',
  refreshToken: 'rfsh',
};
const shortName = (relation: Relation): string =>
  SHORT[relation] ?? relation.replace('cert:', '').replace('vip-agent', 'vip').slice(0, 5);

// ---------------------------------------------------------------------------------------
// What they get

/** One cell's answer: the status, and for a refusal its code, for a success what it shows. */
interface Expected {
  readonly status: number;
  readonly code?: ErrorCode;
  readonly sees?: string;
}

/** A refusal with `code`, at the status the error vocabulary maps it to. */
const no = (code: ErrorCode): Expected => ({ status: httpStatusFor(code), code });

/** The same answer for each of `relations`. */
function each(
  relations: readonly Relation[],
  expected: Expected,
): Partial<Record<Relation, Expected>> {
  return Object.fromEntries(relations.map((r) => [r, expected]));
}

/** A user's route: everyone signed out is refused before anything is looked at. */
const SIGNED_OUT_REFUSED = each(SIGNED_OUT, no('unauthenticated'));

/** What one cell works with. */
interface Cell {
  readonly relation: Relation;
  /** The username of a person relation. */
  readonly user: string | undefined;
  readonly world: World;
  /** The cell's own copy of the target (only for a success on a route that writes). */
  readonly copy: Copy | undefined;
  /** A distinct number per cell, for times and names that must not collide. */
  readonly n: number;
}

/** A target made for one cell: ids and names by what they stand for. */
type Copy = Readonly<Record<string, string>>;

/** When a row runs: reads first, writes next, and the accounts' own end last. */
type Phase = 'read' | 'write' | 'account';

interface RowSpec<K extends RouteName> {
  /** Which target, when a route has more than one kind worth a row. */
  readonly variant?: string;
  readonly phase: Phase;
  readonly request: (cell: Cell) => RequestOf<K>;
  /** Makes the target a success acts on; without it a success acts on the shared world. */
  readonly copy?: (cell: Cell) => Promise<Copy>;
  /** The session token a success presents instead of the relation's (e.g. one to log out). */
  readonly session?: (cell: Cell) => Promise<string>;
  /** What a success shows, as the expectations spell it. */
  readonly sees?: (answer: AnswerOf<ApiRoutes[K]>, cell: Cell) => string;
  /** What a success changed that later rows must know (a new password). */
  readonly after?: (answer: AnswerOf<ApiRoutes[K]>, cell: Cell) => void;
  readonly expect: Partial<Record<Relation, Expected>>;
}

/** A row of the matrix, whatever its route. */
interface Row extends Omit<RowSpec<RouteName>, 'request' | 'sees' | 'after'> {
  readonly route: RouteName;
  readonly request: (cell: Cell) => RequestParts;
  readonly sees?: (answer: unknown, cell: Cell) => string;
  readonly after?: (answer: unknown, cell: Cell) => void;
}

function row<K extends RouteName>(route: K, spec: RowSpec<K>): Row {
  // The request and answer are typed by the route where the row is written; the runner
  // sends any route's request and reads any answer alike.
  return { route, ...spec } as unknown as Row;
}

/** The expectation of a success on `route`: its declared status, showing `sees`. */
function ok(route: RouteName, sees?: string): Expected {
  const answer = API_ROUTES[route].answer;
  return {
    status: answer.kind === 'json' ? answer.status : 200,
    ...(sees === undefined ? {} : { sees }),
  };
}

// ---------------------------------------------------------------------------------------
// The world

const WEEK = { from: '2090-03-04T00:00:00Z', to: '2090-03-11T00:00:00Z' };
const MONDAY = '2090-03-04';
const passwordOf = (user: string) => `${user} keeps a long passphrase`;
/** Olga changes hers while the world is made: the sessions before it must open nothing. */
const OLGA_NEW_PASSWORD = 'olga picked another long passphrase';

/** Olga's commitments in {@link WEEK}, by start: how the test names a busy block it sees. */
const OLGA_WEEK: Readonly<Record<string, string>> = {
  '2090-03-04T09:00:00.000Z': 'Ranks meeting',
  '2090-03-04T10:00:00.000Z': 'Appointment',
  '2090-03-04T12:00:00.000Z': 'Dentist',
  '2090-03-04T13:00:00.000Z': 'Diary',
  '2090-03-04T14:00:00.000Z': 'Talk',
  '2090-03-04T15:00:00.000Z': 'Review',
  '2090-03-05T09:00:00.000Z': 'Briefing',
};

interface World {
  readonly system: InProcessSystem;
  /** Access tokens by username. */
  readonly sessions: Map<string, string>;
  readonly passwords: Map<string, string>;
  /** The deleted account's last access token and its feed's token. */
  readonly deleted: { readonly token: string; readonly feedToken: string };
  /** Olga's feed. */
  readonly feed: { readonly token: string; readonly id: string };
  /** Olga's device (an app password for CalDAV). */
  readonly device: { readonly id: string };
  /** Olga's appointment with ana and ines, and her briefing of `ranks`. */
  readonly appointment: string;
  readonly briefing: string;
  /** The bearer tokens of {@link TOKENS_OF_NOBODY}. */
  readonly tokens: Readonly<Record<Exclude<NobodysToken, 'anonymous'>, string>>;
  readonly certificates: ReadonlyMap<RoleRelation, Agent>;
  /** Numbers copies and cells. */
  counter: number;
  /** The last copy of `ranks` made, whose invitation ivy answers before the next is made. */
  lastRanksCopy?: string;
}

/** An answer as a cell sees it. */
interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  readonly json: unknown;
}

interface RequestParts {
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: unknown;
  readonly calendar?: string;
}

/** Sends `parts` to `name` as the declaration says, with `token` and through `agent`. */
async function send(
  system: InProcessSystem,
  name: RouteName,
  parts: RequestParts,
  credentials: { readonly token?: string; readonly agent?: Agent },
): Promise<Answer> {
  const route: RouteDeclaration = API_ROUTES[name];
  const path = route.path.replace(/:([A-Za-z]+)/g, (_, param: string) =>
    encodeURIComponent(parts.params?.[param] ?? ''),
  );
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(parts.query ?? {})) {
    if (value !== undefined) query.set(key, value);
  }
  const search = query.size === 0 ? '' : `?${query.toString()}`;
  const headers: Record<string, string> = {};
  if (credentials.token !== undefined) headers.authorization = `Bearer ${credentials.token}`;
  let body: string | undefined;
  if (route.body?.kind === 'json' && parts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(parts.body);
  } else if (route.body?.kind === 'calendar') {
    headers['content-type'] = 'text/calendar';
    body = parts.calendar ?? '';
  }
  const response = await request(`${system.url}${path}${search}`, {
    dispatcher: credentials.agent ?? system.agent,
    method: route.method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const contentType = String(response.headers['content-type'] ?? '');
  if (contentType.startsWith('text/event-stream')) {
    // A live stream that opened: its answer is that it opened.
    response.body.destroy();
    return { status: response.statusCode, contentType, text: '', json: undefined };
  }
  const text = await response.body.text();
  let json: unknown;
  if (contentType.startsWith('application/json')) json = JSON.parse(text);
  return { status: response.statusCode, contentType, text, json };
}

/** The error code and message of a refusal's body. */
function refusalOf(answer: Answer): { code?: string; message?: string } {
  const error = (answer.json as { error?: { code?: string; message?: string } } | undefined)?.error;
  return {
    ...(error?.code === undefined ? {} : { code: error.code }),
    ...(error?.message === undefined ? {} : { message: error.message }),
  };
}

/** A user's call while the world is made: it must succeed. */
async function must<K extends RouteName>(
  world: Pick<World, 'system' | 'sessions'>,
  user: string | null,
  name: K,
  parts: RequestOf<K>,
): Promise<AnswerOf<ApiRoutes[K]>> {
  const token = user === null ? undefined : world.sessions.get(user);
  const answer = await send(
    world.system,
    name,
    parts as RequestParts,
    token === undefined ? {} : { token },
  );
  if (answer.status >= 300) {
    throw new Error(`${user ?? 'nobody'} ${name}: ${answer.status} ${answer.text}`);
  }
  return (answer.json ?? answer.text) as AnswerOf<ApiRoutes[K]>;
}

/** Makes the world described at the top, through the API. */
async function buildWorld(system: InProcessSystem): Promise<World> {
  const sessions = new Map<string, string>();
  const passwords = new Map<string, string>();
  const setup = { system, sessions };
  for (const user of Object.values(PEOPLE)) {
    passwords.set(user, passwordOf(user));
    await must(setup, null, 'register', { body: { username: user, password: passwordOf(user) } });
    const login = await must(setup, null, 'login', {
      body: { username: user, password: passwordOf(user) },
    });
    sessions.set(user, login.token);
  }
  // Olga's sessions that ended: one by her password change, one by logging out.
  const oldPassword = sessions.get('olga') ?? '';
  const changed = await must(setup, 'olga', 'changePassword', {
    body: { currentPassword: passwordOf('olga'), newPassword: OLGA_NEW_PASSWORD },
  });
  passwords.set('olga', OLGA_NEW_PASSWORD);
  sessions.set('olga', changed.token);
  const loggedOut = (await olgaLogin(setup)).token;
  await send(system, 'logout', {}, { token: loggedOut });
  const unspent = await olgaLogin(setup);
  await ranksGroup(setup, 'ranks', { withDora: true });
  await must(setup, 'olga', 'createGroup', { body: { name: 'team', kind: 'flat' } });
  await must(setup, 'olga', 'addMember', { params: { group: 'team' }, body: { username: 'fay' } });
  await must(setup, 'fay', 'joinGroup', { params: { group: 'team' } });

  const at = (time: string) => `${MONDAY}T${time}:00Z`;
  // Their own hours, before the group meeting is imposed: sue's clashes with it.
  await must(setup, 'sue', 'createEvent', {
    body: { title: 'Physio', start: at('09:30'), duration: '30m' },
  });
  await must(setup, 'ivy', 'createEvent', {
    body: { title: 'Yoga', start: at('09:30'), duration: '30m' },
  });
  await must(setup, 'ivy', 'createEvent', {
    body: { title: 'Swim', start: at('16:00'), duration: '1h' },
  });
  await must(setup, 'leo', 'createEvent', {
    body: { title: 'Run', start: at('17:00'), duration: '30m' },
  });
  // Mornings of April, where the group events written by the matrix land.
  for (const user of ['sue', 'ivy']) {
    await must(setup, user, 'createEvent', {
      body: {
        title: 'Standup',
        start: '2090-04-01T07:00:00Z',
        duration: '15m',
        repeat: 'FREQ=DAILY;COUNT=60',
      },
    });
  }
  const meeting = await must(setup, 'sam', 'createEvent', {
    body: { title: 'Ranks meeting', start: at('09:00'), duration: '1h', group: 'ranks' },
  });
  if (meeting.imposedConflicts.join() !== 'sue') {
    throw new Error(`the meeting clashes for ${meeting.imposedConflicts.join()}, not sue alone`);
  }
  const appointment = await must(setup, 'olga', 'createEvent', {
    body: {
      title: 'Appointment',
      start: at('10:00'),
      duration: '1h',
      with: ['ana', 'ines', 'dora'],
    },
  });
  for (const user of ['ana', 'dora']) {
    await must(setup, user, 'acceptInvitation', { params: { eventId: appointment.event.id } });
  }
  await must(setup, 'olga', 'createEvent', {
    body: { title: 'Dentist', start: at('12:00'), duration: '1h' },
  });
  await must(setup, 'olga', 'createEvent', {
    body: { title: 'Diary', start: at('13:00'), duration: '1h', visibility: 'private' },
  });
  await must(setup, 'olga', 'createEvent', {
    body: { title: 'Talk', start: at('14:00'), duration: '1h', visibility: 'public' },
  });
  const review = await must(setup, 'oscar', 'createEvent', {
    body: { title: 'Review', start: at('15:00'), duration: '1h', with: ['olga'] },
  });
  await must(setup, 'olga', 'acceptInvitation', { params: { eventId: review.event.id } });
  const briefing = await must(setup, 'olga', 'createEvent', {
    body: { title: 'Briefing', start: '2090-03-05T09:00:00Z', duration: '1h', group: 'ranks' },
  });

  const feed = await must(setup, 'olga', 'createFeed', {});
  const device = await must(setup, 'olga', 'createDevice', { body: { label: 'phone' } });
  const doraFeed = await must(setup, 'dora', 'createFeed', {});
  await formerMembers(setup, 'ranks');
  const doraToken = sessions.get('dora') ?? '';
  await must(setup, 'dora', 'deleteAccount', { body: { password: passwordOf('dora') } });
  sessions.delete('dora');

  const certificates = new Map<RoleRelation, Agent>();
  for (const relation of ROLE_RELATIONS) {
    const role = relation === 'cert:none' ? null : (relation.slice('cert:'.length) as ClusterRole);
    certificates.set(relation, await system.clientWithCertificate(role));
  }
  return {
    system,
    sessions,
    passwords,
    deleted: { token: doraToken, feedToken: feedTokenOf(doraFeed.url) },
    feed: { token: feedTokenOf(feed.url), id: feed.feed.id },
    device: { id: device.device.id },
    appointment: appointment.event.id,
    briefing: briefing.event.id,
    tokens: {
      forged: await system.tokens.foreign('olga'),
      expired: await system.tokens.expired('olga'),
      neverExisted: await system.tokens.session('nemo'),
      loggedOut,
      oldPassword,
      feedToken: feedTokenOf(feed.url),
      refreshToken: unspent.refreshToken,
    },
    certificates,
    counter: 0,
  };
}

/** A new session of olga's. */
function olgaLogin(world: Pick<World, 'system' | 'sessions'>): Promise<LoginAnswer> {
  return must(world, null, 'login', { body: { username: 'olga', password: OLGA_NEW_PASSWORD } });
}

function feedTokenOf(url: string): string {
  const token = /\/v1\/feeds\/([^/]+)\/calendar\.ics$/.exec(url)?.[1];
  if (token === undefined) throw new Error(`no token in the feed URL ${url}`);
  return decodeURIComponent(token);
}

/**
 * A `ranks`-like group: sam owns it; olga and pat join at level 1, sue (and dora, in the
 * original) at 2, leo and rex at 2 to leave and be removed later; ivy is invited at 2.
 */
async function ranksGroup(
  world: Pick<World, 'system' | 'sessions'>,
  group: string,
  options: { readonly withDora: boolean },
): Promise<void> {
  await must(world, 'sam', 'createGroup', { body: { name: group, kind: 'hierarchical' } });
  const joining: [string, number][] = [
    ['olga', 1],
    ['pat', 1],
    ['sue', 2],
    ['leo', 2],
    ['rex', 2],
    ...(options.withDora ? ([['dora', 2]] as [string, number][]) : []),
  ];
  for (const [username, level] of [...joining, ['ivy', 2] as [string, number]]) {
    await must(world, 'sam', 'addMember', { params: { group }, body: { username, level } });
  }
  for (const [username] of joining) {
    await must(world, username, 'joinGroup', { params: { group } });
  }
}

/** Leo leaves the group and sam removes rex: both former members from then on. */
async function formerMembers(
  world: Pick<World, 'system' | 'sessions'>,
  group: string,
): Promise<void> {
  await must(world, 'leo', 'leaveGroup', { params: { group } });
  await must(world, 'sam', 'removeMember', { params: { group, username: 'rex' } });
}

/** A copy of `ranks` as it stands for the matrix (without dora, who is gone). */
async function ranksCopy(cell: Cell): Promise<Copy> {
  const group = `ranks-${++cell.world.counter}`;
  // One inviter keeps at most 10 of a user's invitations waiting (contract/limits.ts): ivy
  // declines the last copy's, whatever became of it, so sam may invite her to this one.
  if (cell.world.lastRanksCopy !== undefined) {
    const token = cell.world.sessions.get('ivy');
    await send(
      cell.world.system,
      'declineGroup',
      { params: { group: cell.world.lastRanksCopy } },
      token === undefined ? {} : { token },
    );
  }
  cell.world.lastRanksCopy = group;
  await ranksGroup(cell.world, group, { withDora: false });
  await formerMembers(cell.world, group);
  return { group };
}

/** A copy of olga's appointment: ana accepted, ines invited. */
async function appointmentCopy(cell: Cell): Promise<Copy> {
  const n = ++cell.world.counter;
  const created = await must(cell.world, 'olga', 'createEvent', {
    body: {
      title: 'Appointment',
      start: `2090-05-${String(1 + (n % 28)).padStart(2, '0')}T${String(n % 24).padStart(2, '0')}:00:00Z`,
      duration: '30m',
      with: ['ana', 'ines'],
      allowConflict: true,
    },
  });
  await must(cell.world, 'ana', 'acceptInvitation', {
    params: { eventId: created.event.id },
    body: { allowConflict: true },
  });
  return { eventId: created.event.id };
}

/** A copy of olga's briefing of `ranks`: imposed on sue, pending for sam and pat. */
async function briefingCopy(cell: Cell): Promise<Copy> {
  const n = ++cell.world.counter;
  const created = await must(cell.world, 'olga', 'createEvent', {
    body: {
      title: 'Briefing',
      start: `2090-06-${String(1 + (n % 28)).padStart(2, '0')}T${String(n % 24).padStart(2, '0')}:00:00Z`,
      duration: '30m',
      group: 'ranks',
      allowConflict: true,
    },
  });
  return { eventId: created.event.id };
}

// ---------------------------------------------------------------------------------------
// How answers are read

const hhmm = (iso: string) => iso.slice(11, 16);

/** A person's own list of titles, in order; `-` for none. */
const titles = (list: readonly { readonly title: string }[]) =>
  list.length === 0 ? '-' : list.map((e) => e.title).join(', ');

/**
 * An agenda entry as the matrix spells it: the title when shown in full, `~Title` for a busy
 * block (named by its time: the viewer got no title), `!leak` for a block carrying more than
 * start, end and `busy`.
 */
function entryOf(entry: AgendaEntry): string {
  const name = OLGA_WEEK[entry.start] ?? `?${entry.start}`;
  if ('busy' in entry) {
    return Object.keys(entry).sort().join() === 'busy,end,start' ? `~${name}` : `!leak ${name}`;
  }
  return entry.title;
}

function agendasOf(answer: AgendasAnswer): string {
  return answer.agendas
    .map((a) => (a.user === 'olga' ? `olga: ${a.entries.map(entryOf).join(', ')}` : a.user))
    .join(' | ');
}

/** Members with levels, then who is invited. */
function groupOf(group: GroupView | null): string {
  if (group === null) return 'dissolved';
  const people = (list: GroupView['members']) =>
    list.map((m) => (m.level === null ? m.username : `${m.username}:${m.level}`)).join(' ');
  return `${people(group.members)}; invited ${group.invited.length === 0 ? '-' : people(group.invited)}`;
}

/** The viewer's answer, then each attendee's (`a`ccepted, `p`ending, `d`eclined). */
function attendanceOf(event: EventDetailsView): string {
  const others = [...event.attendees]
    .sort((a, b) => (a.username < b.username ? -1 : 1))
    .map((a) => `${a.username}:${a.status[0] ?? '?'}`);
  return `${event.myStatus}; ${others.join(' ')}`;
}

/** The SUMMARY of each VEVENT of a calendar, sorted. */
function summariesOf(ics: string): string {
  const found = [...ics.matchAll(/^SUMMARY:(.*)$/gm)].map((m) => (m[1] ?? '').trim()).sort();
  return found.length === 0 ? '-' : found.join(', ');
}

// ---------------------------------------------------------------------------------------
// The table

const EVERYONE: readonly Relation[] = RELATIONS;
/** `code` for every living user but `except`. */
const allBut = (except: readonly Live[], code: ErrorCode) =>
  each(
    LIVE.filter((r) => !except.includes(r)),
    no(code),
  );
const RANKS_MEMBERS = [
  'self',
  'superior',
  'peer',
  'subordinate',
] as const satisfies readonly Live[];
const NOT_IN_RANKS = LIVE.filter((r) => !(RANKS_MEMBERS as readonly Live[]).includes(r));

/** Olga's week as each viewer may see it (MISSION §1, server/domain/agenda-view.ts). */
const OLGA_SEEN_BY = {
  // Everything: it is hers.
  self: 'Ranks meeting, Appointment, Dentist, Diary, Talk, Review, Briefing',
  // Her busy events in full, as her superior; the private one is a block, superiors included.
  superior: 'Ranks meeting, Appointment, Dentist, ~Diary, Talk, Review, Briefing',
  // Blocks but for the public talk and the events they attend themselves.
  peer: 'Ranks meeting, ~Appointment, ~Dentist, ~Diary, Talk, ~Review, Briefing',
  subordinate: 'Ranks meeting, ~Appointment, ~Dentist, ~Diary, Talk, ~Review, Briefing',
  flatPeer: '~Ranks meeting, ~Appointment, ~Dentist, ~Diary, Talk, ~Review, ~Briefing',
};

const ROWS: readonly Row[] = [
  // ---- Public routes: who asks changes nothing, whatever credentials come along.
  row('register', {
    phase: 'write',
    request: (c) => ({ body: { username: `newcomer${c.n}`, password: passwordOf('newcomer') } }),
    expect: each(EVERYONE, ok('register')),
  }),
  row('login', {
    phase: 'read',
    request: () => ({ body: { username: 'olga', password: OLGA_NEW_PASSWORD } }),
    sees: (answer) => answer.user.username,
    expect: each(EVERYONE, ok('login', 'olga')),
  }),
  row('refreshSession', {
    phase: 'write',
    // Each cell renews a session of olga's of its own: a refresh token is spent once.
    copy: async (c) => ({ refreshToken: (await olgaLogin(c.world)).refreshToken }),
    request: (c) => ({ body: { refreshToken: c.copy?.refreshToken ?? 'none' } }),
    sees: (answer) => answer.user.username,
    expect: each(EVERYONE, ok('refreshSession', 'olga')),
  }),
  row('health', { phase: 'read', request: () => ({}), expect: each(EVERYONE, ok('health')) }),
  row('readiness', { phase: 'read', request: () => ({}), expect: each(EVERYONE, ok('readiness')) }),
  // ---- The operator's route: the operator's certificate and nothing else.
  row('metrics', {
    phase: 'read',
    request: () => ({}),
    sees: (text) => (text.includes('agenda_gateway_') ? 'metrics' : text.slice(0, 40)),
    expect: {
      ...each([...LIVE, 'deleted', ...TOKENS_OF_NOBODY], no('unauthenticated')),
      ...each(ROLE_RELATIONS, no('forbidden')),
      'cert:operator': ok('metrics', 'metrics'),
    },
  }),
  // ---- The feed: its token in the path is the only credential. Each caller puts there the
  // best they have: olga her feed's token, the deleted account its feed's, the others the
  // token they present elsewhere (a session token is no feed token), or nothing at all.
  row('feedCalendar', {
    phase: 'read',
    request: (c) => ({
      params: {
        token:
          c.relation === 'self'
            ? c.world.feed.token
            : c.relation === 'deleted'
              ? c.world.deleted.feedToken
              : (tokenOf(c) ?? 'none'),
      },
    }),
    sees: summariesOf,
    expect: {
      ...each(EVERYONE, no('unauthenticated')),
      ...each(
        ['self', 'feedToken'],
        ok('feedCalendar', 'Appointment, Briefing, Dentist, Diary, Ranks meeting, Review, Talk'),
      ),
    },
  }),

  // ---- The caller's own account and lists: every living user gets their own, nobody else's.
  row('me', {
    phase: 'read',
    request: () => ({}),
    sees: (answer, c) => (answer.user.username === c.user ? 'own' : answer.user.username),
    expect: { ...SIGNED_OUT_REFUSED, ...each(LIVE, ok('me', 'own')) },
  }),
  row('logout', {
    phase: 'write',
    // A session of the caller's own to end: the world's sessions are needed later.
    session: async (c) =>
      (
        await must(c.world, null, 'login', {
          body: { username: c.user ?? '', password: c.world.passwords.get(c.user ?? '') ?? '' },
        })
      ).token,
    request: () => ({}),
    expect: { ...SIGNED_OUT_REFUSED, ...each(LIVE, ok('logout')) },
  }),
  row('listEvents', {
    phase: 'read',
    request: () => ({ query: WEEK }),
    sees: (answer) => titles(answer.events),
    expect: {
      ...SIGNED_OUT_REFUSED,
      self: ok('listEvents', OLGA_SEEN_BY.self),
      attendee: ok('listEvents', 'Appointment'),
      invitee: ok('listEvents', 'Appointment'),
      organizer: ok('listEvents', 'Review'),
      superior: ok('listEvents', 'Ranks meeting, Briefing'),
      peer: ok('listEvents', 'Ranks meeting, Briefing'),
      subordinate: ok('listEvents', 'Ranks meeting, Physio, Briefing'),
      flatPeer: ok('listEvents', '-'),
      // Her own hours only: the group's meetings are not hers until she joins.
      invited: ok('listEvents', 'Yoga, Swim'),
      // Taken off the group's future events when they left.
      formerLeft: ok('listEvents', 'Run'),
      formerRemoved: ok('listEvents', '-'),
      stranger: ok('listEvents', '-'),
    },
  }),
  // Search looks only among the caller's own events, as the list does: "Briefing" is found
  // by exactly those who list it.
  row('searchEvents', {
    phase: 'read',
    request: () => ({ query: { ...WEEK, q: 'briefing' } }),
    sees: (answer) => titles(answer.events),
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(LIVE, ok('searchEvents', '-')),
      ...each(['self', 'superior', 'peer', 'subordinate'] as const, ok('searchEvents', 'Briefing')),
    },
  }),
  row('invitations', {
    phase: 'read',
    request: () => ({}),
    sees: (answer) =>
      `${titles(answer.invitations)}; groups ${answer.groupInvitations.map((g) => g.group).join() || '-'}`,
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(LIVE, ok('invitations', '-; groups -')),
      invitee: ok('invitations', 'Appointment; groups -'),
      superior: ok('invitations', 'Briefing; groups -'),
      peer: ok('invitations', 'Briefing; groups -'),
      invited: ok('invitations', '-; groups ranks'),
    },
  }),
  row('groups', {
    phase: 'read',
    request: () => ({}),
    sees: (answer) => answer.groups.map((g) => g.name).join() || '-',
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(LIVE, ok('groups', '-')),
      self: ok('groups', 'ranks,team'),
      ...each(['superior', 'peer', 'subordinate'] as const, ok('groups', 'ranks')),
      flatPeer: ok('groups', 'team'),
    },
  }),
  row('conflicts', {
    phase: 'read',
    request: () => ({ query: WEEK }),
    sees: (answer) =>
      answer.conflicts.map((c) => c.events.map((e) => e.title).join(' × ')).join('; ') || '-',
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(LIVE, ok('conflicts', '-')),
      // Imposed by her superior although it clashed: shown as a conflict.
      subordinate: ok('conflicts', 'Ranks meeting × Physio'),
    },
  }),
  row('exportCalendar', {
    phase: 'read',
    request: () => ({}),
    sees: summariesOf,
    expect: {
      ...SIGNED_OUT_REFUSED,
      self: ok(
        'exportCalendar',
        'Appointment, Briefing, Dentist, Diary, Ranks meeting, Review, Talk',
      ),
      attendee: ok('exportCalendar', 'Appointment'),
      invitee: ok('exportCalendar', 'Appointment'),
      organizer: ok('exportCalendar', 'Review'),
      superior: ok('exportCalendar', 'Briefing, Ranks meeting'),
      peer: ok('exportCalendar', 'Briefing, Ranks meeting'),
      subordinate: ok('exportCalendar', 'Briefing, Physio, Ranks meeting, Standup'),
      flatPeer: ok('exportCalendar', '-'),
      invited: ok('exportCalendar', 'Standup, Swim, Yoga'),
      formerLeft: ok('exportCalendar', 'Run'),
      formerRemoved: ok('exportCalendar', '-'),
      stranger: ok('exportCalendar', '-'),
    },
  }),
  row('importCalendar', {
    phase: 'write',
    request: (c) => ({
      calendar: [
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'PRODID:-//matrix//EN',
        'BEGIN:VEVENT',
        `UID:matrix-${c.n}@example.com`,
        'DTSTAMP:20300101T000000Z',
        `DTSTART:209007${String(1 + (c.n % 28)).padStart(2, '0')}T120000Z`,
        'DURATION:PT30M',
        'SUMMARY:Imported',
        'END:VEVENT',
        'END:VCALENDAR',
        '',
      ].join('\r\n'),
    }),
    sees: (answer) => answer.events.map((e) => e.action).join() || `failed ${answer.failed.length}`,
    expect: { ...SIGNED_OUT_REFUSED, ...each(LIVE, ok('importCalendar', 'created')) },
  }),
  row('createFeed', {
    phase: 'write',
    request: () => ({}),
    expect: { ...SIGNED_OUT_REFUSED, ...each(LIVE, ok('createFeed')) },
  }),
  row('feeds', {
    phase: 'read',
    request: () => ({}),
    sees: (answer) => `${answer.feeds.length}`,
    expect: { ...SIGNED_OUT_REFUSED, ...each(LIVE, ok('feeds', '0')), self: ok('feeds', '1') },
  }),
  row('revokeFeed', {
    phase: 'write',
    // Olga's feed: a success revokes a new one of hers, the others ask for her first one.
    copy: async (c) => {
      const feed = await must(c.world, 'olga', 'createFeed', {});
      return { feedId: feed.feed.id };
    },
    request: (c) => ({ params: { feedId: c.copy?.feedId ?? c.world.feed.id } }),
    expect: { ...SIGNED_OUT_REFUSED, ...allBut(['self'], 'not_found'), self: ok('revokeFeed') },
  }),
  row('createDevice', {
    phase: 'write',
    request: () => ({ body: { label: 'laptop' } }),
    expect: { ...SIGNED_OUT_REFUSED, ...each(LIVE, ok('createDevice')) },
  }),
  row('devices', {
    phase: 'read',
    request: () => ({}),
    sees: (answer) => `${answer.devices.length}`,
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(LIVE, ok('devices', '0')),
      self: ok('devices', '1'),
    },
  }),
  row('revokeDevice', {
    phase: 'write',
    // Olga's device: a success revokes a new one of hers, the others ask for her first one.
    copy: async (c) => {
      const device = await must(c.world, 'olga', 'createDevice', { body: { label: 'copy' } });
      return { deviceId: device.device.id };
    },
    request: (c) => ({ params: { deviceId: c.copy?.deviceId ?? c.world.device.id } }),
    expect: { ...SIGNED_OUT_REFUSED, ...allBut(['self'], 'not_found'), self: ok('revokeDevice') },
  }),
  row('liveUpdates', {
    phase: 'read',
    request: () => ({}),
    expect: { ...SIGNED_OUT_REFUSED, ...each(LIVE, ok('liveUpdates')) },
  }),
  row('createGroup', {
    phase: 'write',
    request: (c) => ({ body: { name: `own-${c.n}`, kind: 'flat' } }),
    sees: (answer, c) => (answer.group?.owner === c.user ? 'owner' : String(answer.group?.owner)),
    expect: { ...SIGNED_OUT_REFUSED, ...each(LIVE, ok('createGroup', 'owner')) },
  }),

  // ---- Olga's events: the people on the list see them; the organizer alone changes them.
  ...(['appointment', 'briefing'] as const).flatMap((target) => {
    const attendees: readonly Live[] =
      target === 'appointment' ? ['attendee', 'invitee'] : ['superior', 'peer', 'subordinate'];
    const copy = target === 'appointment' ? appointmentCopy : briefingCopy;
    const eventId = (c: Cell) => c.copy?.eventId ?? c.world[target];
    // Nobody else learns the event exists: the same answer as for an id nobody has.
    const outsiders = allBut(['self', ...attendees], 'not_found');
    const declined: Partial<Record<Relation, Expected>> =
      target === 'appointment'
        ? each(attendees, ok('declineInvitation', 'declined'))
        : {
            ...each(['superior', 'peer'] as const, ok('declineInvitation', 'declined')),
            // Imposed by a superior (olga is above sue): it cannot be declined.
            subordinate: no('forbidden'),
          };
    return [
      row('showEvent', {
        variant: target,
        phase: 'read',
        request: (c) => ({ params: { eventId: eventId(c) } }),
        sees: (answer) => attendanceOf(answer.event),
        expect: {
          ...SIGNED_OUT_REFUSED,
          ...outsiders,
          ...(target === 'appointment'
            ? {
                self: ok('showEvent', 'accepted; ana:a ines:p olga:a'),
                attendee: ok('showEvent', 'accepted; ana:a ines:p olga:a'),
                invitee: ok('showEvent', 'pending; ana:a ines:p olga:a'),
              }
            : {
                self: ok('showEvent', 'accepted; olga:a pat:p sam:p sue:a'),
                superior: ok('showEvent', 'pending; olga:a pat:p sam:p sue:a'),
                peer: ok('showEvent', 'pending; olga:a pat:p sam:p sue:a'),
                subordinate: ok('showEvent', 'accepted; olga:a pat:p sam:p sue:a'),
              }),
        },
      }),
      row('updateEvent', {
        variant: target,
        phase: 'write',
        copy,
        request: (c) => ({ params: { eventId: eventId(c) }, body: { title: 'Renamed' } }),
        sees: (answer) => answer.event.title,
        expect: {
          ...SIGNED_OUT_REFUSED,
          ...outsiders,
          ...each(attendees, no('forbidden')),
          self: ok('updateEvent', 'Renamed'),
        },
      }),
      row('cancelEvent', {
        variant: target,
        phase: 'write',
        copy,
        request: (c) => ({ params: { eventId: eventId(c) } }),
        sees: (answer) => answer.event.status,
        expect: {
          ...SIGNED_OUT_REFUSED,
          ...outsiders,
          ...each(attendees, no('forbidden')),
          self: ok('cancelEvent', 'cancelled'),
        },
      }),
      row('acceptInvitation', {
        variant: target,
        phase: 'write',
        copy,
        request: (c) => ({ params: { eventId: eventId(c) }, body: { allowConflict: true } }),
        sees: (answer) => answer.event.myStatus,
        expect: {
          ...SIGNED_OUT_REFUSED,
          ...outsiders,
          ...each(attendees, ok('acceptInvitation', 'accepted')),
          // The organizer answers no invitation of her own.
          self: no('invalid'),
        },
      }),
      row('declineInvitation', {
        variant: target,
        phase: 'write',
        copy,
        request: (c) => ({ params: { eventId: eventId(c) } }),
        sees: (answer) => answer.event.myStatus,
        expect: {
          ...SIGNED_OUT_REFUSED,
          ...outsiders,
          ...declined,
          self: no('invalid'),
        },
      }),
    ];
  }),
  // Anyone may invite anyone to an appointment: it waits for the invitee's answer.
  row('createEvent', {
    variant: 'with olga',
    phase: 'write',
    request: (c) => ({
      body: {
        title: 'Invitation',
        start: `2090-07-${String(1 + (c.n % 28)).padStart(2, '0')}T08:00:00Z`,
        duration: '30m',
        with: ['olga'],
        allowConflict: true,
      },
    }),
    sees: (answer) =>
      answer.event.attendees
        .map((a) => (a.username === 'olga' ? `olga:${a.status}` : a.role))
        .join(' '),
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(
        LIVE.filter((r) => r !== 'self'),
        ok('createEvent', 'organizer olga:pending'),
      ),
      self: no('invalid'),
    },
  }),
  // A group event: members only; imposed on those ranked below the organizer, and only
  // members' clashes are reported (sue's and ivy's April standups are at the same time).
  row('createEvent', {
    variant: 'group ranks',
    phase: 'write',
    request: (c) => ({
      body: {
        title: 'Group event',
        start: `2090-04-${String(1 + (c.n % 28)).padStart(2, '0')}T07:00:00Z`,
        duration: '30m',
        group: 'ranks',
        allowConflict: true,
      },
    }),
    sees: (answer) =>
      `${attendanceOf(answer.event)}; clash ${answer.imposedConflicts.join() || '-'}`,
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(NOT_IN_RANKS, no('forbidden')),
      superior: ok('createEvent', 'accepted; olga:a pat:a sam:a sue:a; clash sue'),
      self: ok('createEvent', 'accepted; olga:a pat:p sam:p sue:a; clash sue'),
      peer: ok('createEvent', 'accepted; olga:p pat:a sam:p sue:a; clash sue'),
      subordinate: ok('createEvent', 'accepted; olga:p pat:p sam:p sue:a; clash -'),
    },
  }),

  // ---- Olga's agenda and her group's time.
  row('agendas', {
    variant: 'users=olga',
    phase: 'read',
    request: () => ({ query: { users: 'olga', ...WEEK } }),
    sees: agendasOf,
    expect: {
      ...SIGNED_OUT_REFUSED,
      // Only who shares a group with her: attending her events is not enough.
      ...allBut(['self', 'superior', 'peer', 'subordinate', 'flatPeer'], 'forbidden'),
      self: ok('agendas', `olga: ${OLGA_SEEN_BY.self}`),
      superior: ok('agendas', `olga: ${OLGA_SEEN_BY.superior}`),
      peer: ok('agendas', `olga: ${OLGA_SEEN_BY.peer}`),
      subordinate: ok('agendas', `olga: ${OLGA_SEEN_BY.subordinate}`),
      flatPeer: ok('agendas', `olga: ${OLGA_SEEN_BY.flatPeer}`),
    },
  }),
  row('agendas', {
    variant: 'group=ranks',
    phase: 'read',
    request: () => ({ query: { group: 'ranks', ...WEEK } }),
    sees: agendasOf,
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(NOT_IN_RANKS, no('forbidden')),
      // The members, and no one invited or gone.
      ...Object.fromEntries(
        RANKS_MEMBERS.map((r) => [r, ok('agendas', `olga: ${OLGA_SEEN_BY[r]} | pat | sam | sue`)]),
      ),
    },
  }),
  row('free', {
    phase: 'read',
    // Ivy's swim (16–17) and leo's run (17–17:30) must not count: they are not members.
    request: () => ({
      query: {
        group: 'ranks',
        from: `${MONDAY}T08:00:00Z`,
        to: `${MONDAY}T18:00:00Z`,
        duration: '30m',
      },
    }),
    sees: (answer) => answer.slots.map((s) => `${hhmm(s.start)}-${hhmm(s.end)}`).join(' '),
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(NOT_IN_RANKS, no('forbidden')),
      ...each(RANKS_MEMBERS, ok('free', '08:00-09:00 11:00-12:00 16:00-18:00')),
    },
  }),

  row('free', {
    variant: 'users=olga',
    phase: 'read',
    // Free time with olga tells when she is busy: the rule of seeing her agenda.
    request: () => ({
      query: {
        users: 'olga',
        from: `${MONDAY}T08:00:00Z`,
        to: `${MONDAY}T18:00:00Z`,
        duration: '30m',
      },
    }),
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...allBut(['self', 'superior', 'peer', 'subordinate', 'flatPeer'], 'forbidden'),
      ...each(['self', 'superior', 'peer', 'subordinate', 'flatPeer'] as const, ok('free')),
    },
  }),

  // ---- The group: its members see it; changes by rank; an invitation is answered only by
  // the invitee.
  row('showGroup', {
    phase: 'read',
    request: () => ({ params: { group: 'ranks' } }),
    sees: (answer) => groupOf(answer.group),
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(NOT_IN_RANKS, no('forbidden')),
      ...each(RANKS_MEMBERS, ok('showGroup', 'sam:0 olga:1 pat:1 sue:2; invited ivy:2')),
    },
  }),
  row('addMember', {
    phase: 'write',
    copy: ranksCopy,
    request: (c) => ({
      params: { group: c.copy?.group ?? 'ranks' },
      body: { username: 'stan' },
    }),
    sees: (answer) => groupOf(answer.group).replace(/^.*; invited /, 'invited '),
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(NOT_IN_RANKS, no('forbidden')),
      // One level below the inviter, by default; the owner invites at any level.
      superior: ok('addMember', 'invited stan:1 ivy:2'),
      self: ok('addMember', 'invited ivy:2 stan:2'),
      peer: ok('addMember', 'invited ivy:2 stan:2'),
      subordinate: ok('addMember', 'invited ivy:2 stan:3'),
    },
  }),
  // Nobody but the owner invites at their own level or above: no one makes themselves, or a
  // friend, someone's superior.
  row('addMember', {
    variant: 'at level 1',
    phase: 'write',
    copy: ranksCopy,
    request: (c) => ({
      params: { group: c.copy?.group ?? 'ranks' },
      body: { username: 'stan', level: 1 },
    }),
    sees: (answer) => groupOf(answer.group).replace(/^.*; invited /, 'invited '),
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(LIVE, no('forbidden')),
      superior: ok('addMember', 'invited stan:1 ivy:2'),
    },
  }),
  // In a flat group only the owner invites.
  row('addMember', {
    variant: 'flat team',
    phase: 'write',
    copy: async (c) => {
      const group = `team-${++c.world.counter}`;
      await must(c.world, 'olga', 'createGroup', { body: { name: group, kind: 'flat' } });
      await must(c.world, 'olga', 'addMember', { params: { group }, body: { username: 'fay' } });
      await must(c.world, 'fay', 'joinGroup', { params: { group } });
      return { group };
    },
    request: (c) => ({
      params: { group: c.copy?.group ?? 'team' },
      body: { username: 'stan' },
    }),
    sees: (answer) => groupOf(answer.group),
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(LIVE, no('forbidden')),
      self: ok('addMember', 'fay olga; invited stan'),
    },
  }),
  // Levels: the owner, or a member above both the old and the new level, moves a member up;
  // a move down puts the member under new superiors, so only the member makes it
  // (server/domain/groups.ts, changeLevel).
  row('changeLevel', {
    variant: 'olga down, by her own command',
    phase: 'write',
    copy: ranksCopy,
    request: (c) => ({
      params: { group: c.copy?.group ?? 'ranks', username: 'olga' },
      body: { level: 2 },
    }),
    sees: (answer) => groupOf(answer.group),
    expect: {
      ...SIGNED_OUT_REFUSED,
      // The owner included: olga's consent is hers to give.
      ...each(LIVE, no('forbidden')),
      self: ok('changeLevel', 'sam:0 pat:1 olga:2 sue:2; invited ivy:2'),
    },
  }),
  row('changeLevel', {
    variant: "sue up, to olga's level",
    phase: 'write',
    copy: ranksCopy,
    request: (c) => ({
      params: { group: c.copy?.group ?? 'ranks', username: 'sue' },
      body: { level: 1 },
    }),
    sees: (answer) => groupOf(answer.group),
    expect: {
      ...SIGNED_OUT_REFUSED,
      // Olga is above sue but not above level 1; sue never raises herself.
      ...each(LIVE, no('forbidden')),
      superior: ok('changeLevel', 'sam:0 olga:1 pat:1 sue:1; invited ivy:2'),
    },
  }),
  row('changeLevel', {
    variant: "sue down, below olga's reach",
    phase: 'write',
    copy: ranksCopy,
    request: (c) => ({
      params: { group: c.copy?.group ?? 'ranks', username: 'sue' },
      body: { level: 3 },
    }),
    sees: (answer) => groupOf(answer.group),
    expect: {
      ...SIGNED_OUT_REFUSED,
      // Olga and sam are above both levels, but a move down needs sue's own yes.
      ...each(LIVE, no('forbidden')),
      subordinate: ok('changeLevel', 'sam:0 olga:1 pat:1 sue:3; invited ivy:2'),
    },
  }),
  row('removeMember', {
    variant: 'member',
    phase: 'write',
    copy: ranksCopy,
    request: (c) => ({ params: { group: c.copy?.group ?? 'ranks', username: 'olga' } }),
    sees: (answer) => groupOf(answer.group),
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(LIVE, no('forbidden')),
      superior: ok('removeMember', 'sam:0 pat:1 sue:2; invited ivy:2'),
      // Oneself is left, not removed.
      self: no('invalid'),
    },
  }),
  // A member removes members strictly below them; the owner anyone.
  row('removeMember', {
    variant: 'subordinate',
    phase: 'write',
    copy: ranksCopy,
    request: (c) => ({ params: { group: c.copy?.group ?? 'ranks', username: 'sue' } }),
    sees: (answer) => groupOf(answer.group),
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(LIVE, no('forbidden')),
      ...each(
        ['superior', 'self', 'peer'],
        ok('removeMember', 'sam:0 olga:1 pat:1; invited ivy:2'),
      ),
      subordinate: no('invalid'),
    },
  }),
  // Withdrawing ivy's invitation (level 2, sent by the owner sam): the owner, the inviter, or
  // a member above both; olga and pat are above level 2 but not above sam.
  row('removeMember', {
    variant: 'invitation',
    phase: 'write',
    copy: ranksCopy,
    request: (c) => ({ params: { group: c.copy?.group ?? 'ranks', username: 'ivy' } }),
    sees: (answer) => groupOf(answer.group),
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(LIVE, no('forbidden')),
      superior: ok('removeMember', 'sam:0 olga:1 pat:1 sue:2; invited -'),
    },
  }),
  row('joinGroup', {
    phase: 'write',
    copy: ranksCopy,
    request: (c) => ({ params: { group: c.copy?.group ?? 'ranks' } }),
    sees: (answer) => groupOf(answer.group),
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(NOT_IN_RANKS, no('not_found')),
      ...each(RANKS_MEMBERS, no('conflict')),
      invited: ok('joinGroup', 'sam:0 olga:1 pat:1 ivy:2 sue:2; invited -'),
    },
  }),
  row('declineGroup', {
    phase: 'write',
    copy: ranksCopy,
    request: (c) => ({ params: { group: c.copy?.group ?? 'ranks' } }),
    sees: (answer) => `declined ${answer.declined}, blocked ${answer.blocked}`,
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(NOT_IN_RANKS, no('not_found')),
      ...each(RANKS_MEMBERS, no('conflict')),
      invited: ok('declineGroup', 'declined true, blocked false'),
    },
  }),
  row('unblockGroup', {
    phase: 'write',
    request: () => ({ params: { group: 'ranks' } }),
    // Nobody blocks `ranks`.
    expect: { ...SIGNED_OUT_REFUSED, ...each(LIVE, no('not_found')) },
  }),
  // Only the owner hands the group on, and only to a member; the two swap levels.
  row('transferGroup', {
    phase: 'write',
    copy: ranksCopy,
    request: (c) => ({ params: { group: c.copy?.group ?? 'ranks' }, body: { to: 'olga' } }),
    sees: (answer) => groupOf(answer.group),
    expect: {
      ...SIGNED_OUT_REFUSED,
      // A non-member is told they are not one, as by every member's operation.
      ...each(LIVE, no('forbidden')),
      superior: ok('transferGroup', 'olga:0 pat:1 sam:1 sue:2; invited ivy:2'),
    },
  }),
  row('leaveGroup', {
    phase: 'write',
    copy: ranksCopy,
    request: (c) => ({ params: { group: c.copy?.group ?? 'ranks' } }),
    sees: (answer) => groupOf(answer.group),
    expect: {
      ...SIGNED_OUT_REFUSED,
      ...each(NOT_IN_RANKS, no('not_found')),
      // The owner leaves only as the last member.
      superior: no('forbidden'),
      self: ok('leaveGroup', 'sam:0 pat:1 sue:2; invited ivy:2'),
      peer: ok('leaveGroup', 'sam:0 olga:1 sue:2; invited ivy:2'),
      subordinate: ok('leaveGroup', 'sam:0 olga:1 pat:1; invited ivy:2'),
    },
  }),

  // ---- The account's end, last: a new password (the old sessions end), then deletion.
  row('changePassword', {
    phase: 'account',
    request: (c) => ({
      body: {
        currentPassword: c.world.passwords.get(c.user ?? '') ?? 'none',
        newPassword: `${c.user ?? 'nobody'} picked another passphrase`,
      },
    }),
    after: (answer, c) => {
      c.world.sessions.set(c.user ?? '', answer.token);
      c.world.passwords.set(c.user ?? '', `${c.user ?? 'nobody'} picked another passphrase`);
    },
    expect: { ...SIGNED_OUT_REFUSED, ...each(LIVE, ok('changePassword')) },
  }),
  row('deleteAccount', {
    phase: 'account',
    request: (c) => ({ body: { password: c.world.passwords.get(c.user ?? '') ?? 'none' } }),
    sees: (answer) => `${answer.deleted}`,
    expect: { ...SIGNED_OUT_REFUSED, ...each(LIVE, ok('deleteAccount', 'true')) },
  }),
];

// ---------------------------------------------------------------------------------------
// Running it

/** The session token a relation presents, if any. */
function tokenOf(cell: Pick<Cell, 'relation' | 'user' | 'world'>): string | undefined {
  switch (cell.relation) {
    case 'deleted':
      return cell.world.deleted.token;
    case 'anonymous':
      return undefined;
    case 'forged':
    case 'expired':
    case 'neverExisted':
    case 'loggedOut':
    case 'oldPassword':
    case 'feedToken':
    case 'refreshToken':
      return cell.world.tokens[cell.relation];
    default:
      return cell.user === undefined ? undefined : cell.world.sessions.get(cell.user);
  }
}

interface Result {
  readonly row: Row;
  readonly relation: Relation;
  readonly expected: Expected;
  readonly actual: Expected & { readonly message?: string };
}

const same = (a: Expected, b: Expected) =>
  a.status === b.status && a.code === b.code && (a.sees ?? '') === (b.sees ?? '');

async function runCell(world: World, r: Row, relation: Relation): Promise<Result> {
  const expected = r.expect[relation];
  if (expected === undefined) throw new Error(`no expectation for ${labelOf(r)} × ${relation}`);
  const user = relation in PEOPLE ? PEOPLE[relation as Person] : undefined;
  const success = expected.status < 300;
  const base = { relation, user, world, copy: undefined, n: ++world.counter };
  const cell: Cell = {
    ...base,
    copy: success && r.copy !== undefined ? await r.copy(base) : undefined,
  };
  const session =
    success && r.session !== undefined && user !== undefined
      ? await r.session(cell)
      : tokenOf(cell);
  const agent = (world.certificates as ReadonlyMap<string, Agent>).get(relation);
  const answer = await send(world.system, r.route, r.request(cell), {
    ...(session === undefined ? {} : { token: session }),
    ...(agent === undefined ? {} : { agent }),
  });
  if (answer.status >= 300) {
    const refusal = refusalOf(answer);
    return {
      row: r,
      relation,
      expected,
      actual: {
        status: answer.status,
        ...(refusal.code === undefined ? {} : { code: refusal.code as ErrorCode }),
        ...(refusal.message === undefined ? {} : { message: refusal.message }),
      },
    };
  }
  const body = answer.json ?? answer.text;
  const sees = r.sees?.(body, cell);
  r.after?.(body, cell);
  return {
    row: r,
    relation,
    expected,
    actual: { status: answer.status, ...(sees === undefined ? {} : { sees }) },
  };
}

const labelOf = (r: Row) => (r.variant === undefined ? r.route : `${r.route} (${r.variant})`);

/** The matrix as text: a status per cell, `actual≠expected` where they differ. */
function matrixText(results: readonly Result[]): string {
  const byRow = new Map<Row, Map<Relation, Result>>();
  for (const result of results) {
    let cells = byRow.get(result.row);
    if (cells === undefined) byRow.set(result.row, (cells = new Map<Relation, Result>()));
    cells.set(result.relation, result);
  }
  const statusOf = (e: Expected) => `${e.status}`;
  const columns: TableColumn<Row>[] = [
    { key: 'route', header: 'route', text: labelOf },
    ...RELATIONS.map((relation): TableColumn<Row> => ({
      key: relation,
      header: shortName(relation),
      text: (r) => {
        const result = byRow.get(r)?.get(relation);
        if (result === undefined) return '';
        if (same(result.expected, result.actual)) return statusOf(result.actual);
        return result.expected.status === result.actual.status
          ? `${statusOf(result.actual)}≠`
          : `${statusOf(result.actual)}≠${statusOf(result.expected)}`;
      },
    })),
  ];
  const wrong = results
    .filter((r) => !same(r.expected, r.actual))
    .map(
      (r) =>
        `${labelOf(r.row)} × ${r.relation}: expected ${describe(r.expected)}, got ${describe(r.actual)}${
          r.actual.message === undefined ? '' : ` — ${r.actual.message}`
        }`,
    );
  return [
    ...layoutLines(layoutTable([...byRow.keys()], columns)),
    '',
    `${wrong.length} cells not as the table says (≠ alone: same status, other code or content):`,
    ...wrong,
  ].join('\n');
}

function describe(e: Expected): string {
  return [String(e.status), e.code, e.sees === undefined ? undefined : `"${e.sees}"`]
    .filter((part) => part !== undefined)
    .join(' ');
}

/** Runs `work` over `items` with at most `width` at once, keeping their order. */
async function inParallel<T, R>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  });
  await Promise.all(lanes);
  return results;
}

test('the table has a row for every declared route and an answer for every relation', (t) => {
  const covered = new Set(ROWS.map((r) => r.route));
  const missing = (Object.keys(API_ROUTES) as RouteName[]).filter((name) => !covered.has(name));
  t.deepEqual(missing, [], 'routes without a row: classify them in ROWS');
  for (const r of ROWS) {
    const unanswered = RELATIONS.filter((relation) => r.expect[relation] === undefined);
    t.deepEqual(unanswered, [], `${labelOf(r)}: relations without an expected answer`);
  }
});

test('every route answers every relation exactly as the table says', async (t: ExecutionContext) => {
  t.timeout(120_000);
  const started = performance.now();
  const system = await startInProcessSystem(t, ports, {
    // The matrix registers and logs in far more than a person does from one address.
    abuseLimits: {
      registrationsPerAddress: { points: 1_000, durationSec: 600 },
      loginsPerAddress: { points: 1_000, durationSec: 60 },
    },
  });
  const world = await buildWorld(system);
  const built = performance.now();

  const results: Result[] = [];
  const cellsOf = (rows: readonly Row[]) =>
    rows.flatMap((r) => RELATIONS.map((relation) => ({ r, relation })));
  // Reads change nothing: several at once.
  results.push(
    ...(await inParallel(cellsOf(ROWS.filter((r) => r.phase === 'read')), 4, ({ r, relation }) =>
      runCell(world, r, relation),
    )),
  );
  for (const phase of ['write', 'account'] as const) {
    for (const { r, relation } of cellsOf(ROWS.filter((x) => x.phase === phase))) {
      results.push(await runCell(world, r, relation));
    }
  }
  const wrong = results.filter((r) => !same(r.expected, r.actual));
  if (wrong.length > 0 || process.env.AGENDA_MATRIX_PRINT) {
    // Names of any script are measured by their display width: load the table first.
    await loadDisplayWidths();
    t.log(`\n${matrixText(results)}`);
  }
  t.is(wrong.length, 0, 'cells answered otherwise than the table says (matrix above)');

  // And no route answered a code its declaration does not list, nor met what it took for a bug.
  const complaints = system.log.filter(
    (line) =>
      line.level === 'warn' &&
      /does not declare|unexpected failure|handler failed|failed to answer/.test(line.message),
  );
  t.deepEqual(complaints, []);
  t.log(
    `${ROWS.length} rows × ${RELATIONS.length} relations = ${results.length} cells; world in ${Math.round(
      built - started,
    )} ms, cells in ${Math.round(performance.now() - built)} ms`,
  );
});
