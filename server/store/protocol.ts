/**
 * The store's one protocol: every command and query the calendar store understands, as a
 * versioned, discriminated union validated with zod, and the results it answers with.
 * Nothing talks to the store any other way — the DB service decodes bytes with
 * {@link decodeCommand} / {@link decodeQuery}, clients build them with
 * {@link encodeCommand} / {@link encodeQuery}.
 *
 * Commands travel through the Raft log, so everything `apply` needs to be deterministic is
 * inside them: `at` (the DB leader's clock when it proposed the command — the only clock the
 * state machine sees) and `ids` (fresh ids chosen by the caller, consumed in order by the
 * operations that create rows). `requestId` is the caller's idempotency key: a command
 * retried with the same id applies once and answers the original result.
 *
 * The wire form is JSON. Decoding is strict: unknown fields, wrong types, out-of-range
 * sizes and other versions are refused with an {@link InvalidInput} naming the field, so a
 * malformed entry in the log becomes a deterministic `invalid` result, never a crash.
 */
import { z } from 'zod';
import { InvalidInput } from '../../contract/errors.js';
import type { AccountRemovals } from '../../contract/api.js';
import type { WireError } from '../../contract/errors.js';
import type {
  AgendaView,
  ConflictView,
  EventDetailsView,
  EventImport,
  EventView,
  DeclineGroupResult,
  GroupInvitationView,
  GroupView,
  LeaveResult,
  Notification,
  ScheduledEvent,
  SlotView,
  User,
} from '../domain/index.js';
// From where they are defined, not the domain's index: the DB member's main thread reads
// this protocol and should not load the domain (luxon, ical.js) only the store worker runs.
import {
  MAX_CALENDAR_RESOURCES,
  MAX_CALENDAR_RESOURCES_PER_READ,
  MAX_GROUP_MEMBERS,
  MAX_IMPORTED_EVENTS,
  MAX_IMPORTED_OCCURRENCES_PER_SERIES,
  MAX_INVITEES,
  MAX_PAGE_SIZE,
  SEARCH_TEXT_MAX_LENGTH,
} from '../../contract/limits.js';
import { MAX_CURSOR_LENGTH, MAX_EXPORT_CURSOR_LENGTH } from '../domain/paging.js';

/** The protocol version this module speaks; anything else is refused. */
export const PROTOCOL_VERSION = 1;

/** Longest id the caller may hand out (request ids and row ids). */
export const MAX_ID_LENGTH = 64;
/** Longest registry key or lease name. */
export const MAX_REGISTRY_KEY_LENGTH = 200;
/** Largest registry value, in UTF-16 code units. */
export const MAX_REGISTRY_VALUE_LENGTH = 64 * 1024;
/** Longest lease: a holder that stops renewing loses it within a day at worst. */
export const MAX_LEASE_TTL_MS = 24 * 60 * 60 * 1000;
/** Most rows of one name's history a `registry.history` query answers (all the store keeps). */
export const REGISTRY_HISTORY_MAX = 50;
/** Longest password hash the users service may store (the store never hashes). */
export const MAX_PASSWORD_HASH_LENGTH = 1024;
/** Longest a refreshable session may last (the users service opens them for 30 days). */
export const MAX_SESSION_TTL_MS = 366 * 24 * 60 * 60 * 1000;

// Sanity bounds on free text. The domain enforces the real limits with friendly messages;
// these only keep absurd payloads out of the log.
const SHORT_TEXT = 1000;
const LONG_TEXT = 20_000;

const id = z
  .string()
  .min(1)
  .max(MAX_ID_LENGTH)
  .regex(/^[A-Za-z0-9_-]+$/, 'ids use letters, digits, "_" and "-"');
const name = z.string().min(1).max(SHORT_TEXT);
const instant = z.int();
const shortText = z.string().max(SHORT_TEXT);
/** A device's app password as the store keeps it: its SHA-256, lowercase hex. */
const devicePasswordHash = z.string().regex(/^[0-9a-f]{64}$/);
const longText = z.string().max(LONG_TEXT);

const eventDraft = z.strictObject({
  title: shortText,
  start: instant,
  end: instant,
  timeZone: shortText.optional(),
  description: longText.optional(),
  location: shortText.optional(),
  visibility: shortText.optional(),
  recurrence: shortText.nullable().optional(),
  exceptions: z.array(instant).max(10_000).optional(),
  additions: z.array(instant).max(10_000).optional(),
  reminders: z.array(z.number()).max(100).optional(),
  transparent: z.boolean().optional(),
});

const eventChanges = z.strictObject({
  title: shortText.optional(),
  start: instant.optional(),
  end: instant.optional(),
  timeZone: shortText.optional(),
  description: longText.optional(),
  location: shortText.optional(),
  visibility: shortText.optional(),
  recurrence: shortText.nullable().optional(),
  exceptions: z.array(instant).max(10_000).optional(),
  additions: z.array(instant).max(10_000).optional(),
  reminders: z.array(z.number()).max(100).optional(),
  transparent: z.boolean().optional(),
});

/** One event of an import: a draft with its UID, its changed occurrences and its version. */
const importedEvent = z.strictObject({
  uid: shortText.nullable(),
  draft: eventDraft,
  // The series' changed occurrences (iCalendar RECURRENCE-ID), each by the start the
  // series' rule gives it: moved (a draft of its own) or cancelled.
  occurrences: z
    .array(
      z.union([
        z.strictObject({ occurrenceStart: instant, draft: eventDraft }),
        z.strictObject({ occurrenceStart: instant, cancelled: z.literal(true) }),
      ]),
    )
    .max(MAX_IMPORTED_OCCURRENCES_PER_SERIES)
    .optional(),
  // The file's version of the event (SEQUENCE, LAST-MODIFIED), kept on it: a later
  // import changes it only from a newer one.
  version: z
    .strictObject({
      sequence: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
      stamp: instant.nullable(),
    })
    .optional(),
});

/**
 * A CalDAV resource's name in its user's calendar (`<name>.ics`, server/domain/calendar-resources.ts):
 * a UID (at most MAX_UID_LENGTH, 500) or an event id.
 */
const davName = z.string().min(1).max(500);
/** Entity tags a CalDAV write is conditional on (If-Match, If-None-Match): quoted, or `*`. */
const entityTags = z.array(z.string().min(1).max(200)).min(1).max(20);

const usernames = (max: number) => z.array(name).max(max);
/** How long a session, or a revocation, may be asked to last: at most a year. */
const sessionTtl = z.int().min(1000).max(MAX_SESSION_TTL_MS);

/** Every command body, by `type`. */
const commandBody = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('user.register'),
    username: name,
    displayName: shortText.optional(),
    passwordHash: z.string().min(1).max(MAX_PASSWORD_HASH_LENGTH),
  }),
  z.strictObject({
    type: z.literal('user.replacePasswordHash'),
    username: name,
    previousHash: z.string().min(1).max(MAX_PASSWORD_HASH_LENGTH),
    passwordHash: z.string().min(1).max(MAX_PASSWORD_HASH_LENGTH),
  }),
  // Tokens with a lifecycle (server/users/tokens.ts): the acting user's own.
  // A login: a new session that refresh tokens can renew for `ttlMs`, opened only while
  // the password checked is still the user's (`generation`), replacing the hash it was
  // checked against by a stronger one (`rehash`) when the service made one.
  z.strictObject({
    type: z.literal('session.open'),
    sid: id,
    ttlMs: sessionTtl,
    generation: z.int().nonnegative(),
    // A session this login ends (the user's oldest, past MAX_SESSIONS_PER_USER) has its
    // access tokens refused for this long, the longest one lives. Absent in entries written
    // before it existed, which ended the refresh alone.
    revokeEvictedForMs: sessionTtl.optional(),
    rehash: z
      .strictObject({
        previousHash: z.string().min(1).max(MAX_PASSWORD_HASH_LENGTH),
        passwordHash: z.string().min(1).max(MAX_PASSWORD_HASH_LENGTH),
      })
      .optional(),
  }),
  // A refresh token presented: the next one in the session's rotation, or, for a refresh
  // token already rotated away, the end of the session (its access tokens refused for
  // `revokeForMs`, the longest an access token lives).
  z.strictObject({
    type: z.literal('session.refresh'),
    sid: id,
    generation: z.int().nonnegative(),
    seq: z.int().nonnegative(),
    revokeForMs: sessionTtl,
  }),
  z.strictObject({
    type: z.literal('session.revoke'),
    sid: id,
    expiresAt: z.int().nonnegative(),
  }),
  // Ends every session of the user and opens `sid` for the caller, as a login would.
  z.strictObject({
    type: z.literal('user.changePassword'),
    previousHash: z.string().min(1).max(MAX_PASSWORD_HASH_LENGTH),
    passwordHash: z.string().min(1).max(MAX_PASSWORD_HASH_LENGTH),
    sid: id,
    ttlMs: sessionTtl,
  }),
  z.strictObject({
    type: z.literal('feed.create'),
    fid: id,
    label: shortText,
    expiresAt: z.int().nonnegative(),
  }),
  z.strictObject({ type: z.literal('feed.revoke'), fid: id }),
  z.strictObject({
    type: z.literal('device.create'),
    did: id,
    label: shortText,
    passwordHash: devicePasswordHash,
  }),
  z.strictObject({ type: z.literal('device.revoke'), did: id }),
  // Account deletion (account-deletion.ts): the acting user's own account goes at once;
  // what it leaves behind is removed a bounded batch per command, by the users service.
  z.strictObject({ type: z.literal('user.delete') }),
  z.strictObject({ type: z.literal('user.purge'), username: name }),
  z.strictObject({
    type: z.literal('event.create'),
    draft: eventDraft,
    with: usernames(MAX_INVITEES * 2).optional(),
    group: name.optional(),
    allowConflict: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.literal('event.update'),
    eventId: id,
    changes: eventChanges,
    invite: usernames(MAX_INVITEES * 2).optional(),
    allowConflict: z.boolean().optional(),
  }),
  z.strictObject({ type: z.literal('event.cancel'), eventId: id }),
  z.strictObject({
    type: z.literal('event.cancelOccurrence'),
    eventId: id,
    occurrenceStart: instant,
  }),
  // One occurrence of a series changed on its own: it leaves the series for an event of its own.
  z.strictObject({
    type: z.literal('event.updateOccurrence'),
    eventId: id,
    occurrenceStart: instant,
    changes: eventChanges,
    allowConflict: z.boolean().optional(),
  }),
  // The users service sends at most MAX_IMPORT_CHUNK_EVENTS drafts, each with a UID. The
  // bounds here are wider so that entries logged before (a whole file in one command, drafts
  // without UIDs) still decode: a draft without a UID is created, as it was then.
  z.strictObject({
    type: z.literal('event.import'),
    events: z
      .array(importedEvent)
      .max(MAX_IMPORTED_EVENTS)
      // Each event and each occurrence takes a fresh id, and a command carries at most
      // MAX_IMPORTED_EVENTS of them.
      .refine(
        (events) =>
          events.reduce((sum, e) => sum + 1 + (e.occurrences?.length ?? 0), 0) <=
          MAX_IMPORTED_EVENTS,
        `an import carries at most ${MAX_IMPORTED_EVENTS} events and changed occurrences in all`,
      ),
    allowConflict: z.boolean().optional(),
  }),
  // A CalDAV client writing one calendar object (server/store/dav-writes.ts): the event it
  // holds (one UID, without a version: the entity tags order CalDAV's writes), the answer
  // the object gives the actor, and the preconditions checked against the resource's tag.
  z.strictObject({
    type: z.literal('dav.put'),
    name: davName,
    event: importedEvent.omit({ version: true }).extend({ uid: shortText }),
    answer: z.enum(['accepted', 'declined', 'pending']).nullable(),
    ifMatch: entityTags.optional(),
    ifNoneMatch: entityTags.optional(),
  }),
  // A CalDAV client deleting a resource: the organizer cancels, an attendee declines.
  z.strictObject({
    type: z.literal('dav.delete'),
    name: davName,
    ifMatch: entityTags.optional(),
  }),
  z.strictObject({
    type: z.literal('invitation.accept'),
    eventId: id,
    allowConflict: z.boolean().optional(),
  }),
  z.strictObject({ type: z.literal('invitation.decline'), eventId: id }),
  z.strictObject({ type: z.literal('group.create'), name, kind: shortText }),
  z.strictObject({
    type: z.literal('group.addMember'),
    group: name,
    username: name,
    level: z.int().optional(),
  }),
  z.strictObject({ type: z.literal('group.join'), group: name }),
  z.strictObject({
    type: z.literal('group.decline'),
    group: name,
    block: z.boolean().optional(),
  }),
  z.strictObject({ type: z.literal('group.unblock'), group: name }),
  z.strictObject({ type: z.literal('group.removeMember'), group: name, username: name }),
  z.strictObject({ type: z.literal('group.leave'), group: name }),
  z.strictObject({
    type: z.literal('group.changeLevel'),
    group: name,
    username: name,
    level: z.int(),
  }),
  z.strictObject({ type: z.literal('group.transferOwnership'), group: name, to: name }),
  z.strictObject({
    type: z.literal('registry.cas'),
    key: z.string().min(1).max(MAX_REGISTRY_KEY_LENGTH),
    expectedEpoch: z.int().nonnegative().nullable(),
    value: z.string().max(MAX_REGISTRY_VALUE_LENGTH),
  }),
  z.strictObject({
    type: z.literal('lease.acquire'),
    name: z.string().min(1).max(MAX_REGISTRY_KEY_LENGTH),
    holder: z.string().min(1).max(MAX_REGISTRY_KEY_LENGTH),
    ttlMs: z.int().min(1).max(MAX_LEASE_TTL_MS),
  }),
  z.strictObject({
    type: z.literal('lease.release'),
    name: z.string().min(1).max(MAX_REGISTRY_KEY_LENGTH),
    holder: z.string().min(1).max(MAX_REGISTRY_KEY_LENGTH),
  }),
]);

/**
 * The token the acting user's request came with, as the service verified it: the store
 * refuses the request when that session was logged out, the user's sessions were ended (a
 * password change raises the generation), or the feed was revoked.
 */
const session = z.strictObject({
  generation: z.int().nonnegative(),
  sid: id.optional(),
  fid: id.optional(),
  did: id.optional(),
});

const storeCommand = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  requestId: id,
  actor: name.nullable(),
  session: session.optional(),
  at: z.int().nonnegative(),
  ids: z.array(id).max(MAX_IMPORTED_EVENTS),
  body: commandBody,
});

const agendaTargets = z.union([
  z.strictObject({ group: name }),
  z.strictObject({ users: usernames(MAX_GROUP_MEMBERS * 2) }),
]);

/**
 * Paging of the occurrence lists: at most `limit` items (default and maximum
 * `MAX_PAGE_SIZE`) after the opaque cursor `after` that the previous page answered as `next`.
 */
const page = {
  limit: z.int().min(1).max(MAX_PAGE_SIZE).optional(),
  after: z.string().min(1).max(MAX_CURSOR_LENGTH).optional(),
};

/** Every query body, by `type`. */
const queryBody = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('event.list'), from: instant, to: instant, ...page }),
  z.strictObject({
    type: z.literal('event.search'),
    text: z
      .string()
      .min(1)
      .max(SEARCH_TEXT_MAX_LENGTH * 2),
    from: instant,
    to: instant,
    ...page,
  }),
  z.strictObject({ type: z.literal('event.show'), eventId: id }),
  z.strictObject({ type: z.literal('invitation.list'), ...page }),
  z.strictObject({ type: z.literal('feed.list') }),
  z.strictObject({ type: z.literal('device.list') }),
  // Which device of `username` the app password hashing to `passwordHash` opens.
  z.strictObject({
    type: z.literal('device.lookup'),
    username: name,
    passwordHash: devicePasswordHash,
  }),
  // The caller's calendar as CalDAV resources: those reaching into [from, to) (both or
  // neither: all of them), or only those `names` name; with their iCalendar text when `data`.
  z.strictObject({
    type: z.literal('dav.calendar'),
    from: instant.optional(),
    to: instant.optional(),
    names: z.array(davName).max(MAX_CALENDAR_RESOURCES_PER_READ).optional(),
    data: z.boolean(),
  }),
  // What changed in the caller's calendar since a sync token (RFC 6578; null: everything),
  // at most `limit` resources; with `tokenOnly`, only the token a sync would answer now.
  z.strictObject({
    type: z.literal('dav.sync'),
    token: z.string().min(1).max(100).nullable(),
    data: z.boolean(),
    limit: z.int().min(1).max(MAX_CALENDAR_RESOURCES).optional(),
    tokenOnly: z.boolean().optional(),
  }),
  z.strictObject({ type: z.literal('conflicts.list'), from: instant, to: instant, ...page }),
  z.strictObject({
    type: z.literal('agenda.view'),
    targets: agendaTargets,
    from: instant,
    to: instant,
    ...page,
  }),
  z.strictObject({
    type: z.literal('free.find'),
    /** A group's members, or (without it) the caller and `users`. */
    group: name.optional(),
    users: usernames(MAX_GROUP_MEMBERS).optional(),
    from: instant,
    to: instant,
    duration: z.int(),
  }),
  z.strictObject({ type: z.literal('group.show'), group: name }),
  z.strictObject({ type: z.literal('group.list') }),
  z.strictObject({
    type: z.literal('agenda.export'),
    from: instant.optional(),
    to: instant.optional(),
    /** The page after this cursor (the previous page's `next`); the first page without. */
    after: z.string().min(1).max(MAX_EXPORT_CURSOR_LENGTH).optional(),
  }),
  z.strictObject({ type: z.literal('user.lookup'), username: name }),
  z.strictObject({
    type: z.literal('user.beingPurged'),
    limit: z.int().min(1).max(MAX_PAGE_SIZE),
  }),
  z.strictObject({
    type: z.literal('registry.get'),
    key: z.string().min(1).max(MAX_REGISTRY_KEY_LENGTH),
  }),
  z.strictObject({
    type: z.literal('lease.get'),
    name: z.string().min(1).max(MAX_REGISTRY_KEY_LENGTH),
  }),
  z.strictObject({
    type: z.literal('registry.history'),
    name: z.string().min(1).max(MAX_REGISTRY_KEY_LENGTH),
    limit: z.int().min(1).max(REGISTRY_HISTORY_MAX).optional(),
  }),
  z.strictObject({ type: z.literal('store.status') }),
]);

const storeQuery = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  actor: name.nullable(),
  session: session.optional(),
  at: z.int().nonnegative(),
  body: queryBody,
});

/** A validated value, read-only all the way down (callers may pass read-only arrays). */
type Immutable<T> = T extends readonly (infer U)[]
  ? readonly Immutable<U>[]
  : T extends object
    ? { readonly [K in keyof T]: Immutable<T[K]> }
    : T;

/** A command as it travels through the Raft log. */
export type StoreCommand = Immutable<z.output<typeof storeCommand>>;
/** The part of a command that says what to do. */
export type CommandBody = StoreCommand['body'];
export type CommandType = CommandBody['type'];
/** The body of the command of type `T`. */
export type CommandOf<T extends CommandType> = Extract<CommandBody, { type: T }>;

/** A read against the store's current state. */
export type StoreQuery = Immutable<z.output<typeof storeQuery>>;
/** The token a request came with, as the service verified it (see `session` above). */
export type SessionRef = Immutable<z.output<typeof session>>;
export type QueryBody = StoreQuery['body'];
export type QueryType = QueryBody['type'];
/** The body of the query of type `T`. */
export type QueryOf<T extends QueryType> = Extract<QueryBody, { type: T }>;

// ---------------------------------------------------------------------------------------
// Results

/** A registry key's current value and its fencing epoch (1 for the first value). */
export interface RegistryEntry {
  readonly key: string;
  readonly value: string;
  readonly epoch: number;
}

/**
 * One recorded change of a lease or registry key: a lease's new tenure (`holder` took it
 * under `epoch`) or a key's write (`holder` is the value written, cut to 200 characters), at
 * the store's clock.
 */
export interface RegistryHistoryEntry {
  readonly name: string;
  readonly kind: 'lease' | 'key';
  readonly holder: string | null;
  readonly epoch: number;
  readonly at: number;
}

/** `registry.cas`: the new entry, or the refusal with what is there now. */
export type CasResult =
  | { readonly applied: true; readonly entry: RegistryEntry }
  | { readonly applied: false; readonly current: RegistryEntry | null };

/**
 * A lease as the store sees it. `holder` is null once released; `epoch` only ever grows,
 * one step per new tenure. `expired` is relative to the `at` of the command or query.
 */
export interface LeaseView {
  readonly name: string;
  readonly holder: string | null;
  readonly epoch: number;
  readonly expiresAt: number;
  readonly expired: boolean;
}

/** `lease.acquire`: held (newly, or `renewed` by the same holder), or refused with the current lease. */
export type LeaseAcquireResult =
  | { readonly acquired: true; readonly renewed: boolean; readonly lease: LeaseView }
  | { readonly acquired: false; readonly lease: LeaseView };

/** `lease.release`: whether the caller held it; the lease as it now is. */
export interface LeaseReleaseResult {
  readonly released: boolean;
  readonly lease: LeaseView | null;
}

/** One draft of an import that did not become an event, and why. */
export interface ImportFailure {
  /** Position of the draft in the command. */
  readonly index: number;
  readonly uid: string | null;
  readonly error: WireError;
}

/**
 * `event.import`: what became of each draft that was imported (created, updated or
 * unchanged, in draft order) and the drafts refused. Compact on purpose: the outcome is
 * kept in the request log, and a big import's full event views would weigh on it.
 */
export interface ImportOutcome {
  readonly events: readonly EventImport[];
  readonly failed: readonly ImportFailure[];
}

/** A calendar feed as its owner sees it (`agenda feed list`); the URL is shown once, at creation. */
export interface FeedView {
  readonly id: string;
  readonly label: string;
  /** ISO 8601, UTC. */
  readonly createdAt: string;
  readonly expiresAt: string;
}

/** The most feeds one user keeps at once: each is a standing read of their agenda. */
export const MAX_FEEDS_PER_USER = 20;

/** A device's app password as its owner sees it (`agenda device list`): never the password. */
export interface DeviceView {
  readonly id: string;
  readonly label: string;
  /** ISO 8601, UTC. */
  readonly createdAt: string;
}

/**
 * The most devices (CalDAV app passwords) one user keeps at once: each is a standing
 * credential to their calendar, and a row every login of theirs by app password may read.
 */
export const MAX_DEVICES_PER_USER = 20;

/** One resource of the caller's calendar collection (server/domain/calendar-resources.ts). */
export interface DavResourceView {
  /** The series' event id. */
  readonly id: string;
  /**
   * The resource is `<name>.ics`. Read by `names`, the name asked for: an event's id names
   * it too (hrefs before resources were named by UID), and is answered under that name.
   */
  readonly name: string;
  /** Quoted, as HTTP writes it. */
  readonly etag: string;
  /**
   * The zone its series keeps its times in: a CalDAV write of it reads its dates (an all-day
   * event's) and floating times there (server/users/users-service.ts).
   */
  readonly timeZone: string;
  /** The iCalendar text, when asked for. */
  readonly ics?: string;
}

/**
 * A CalDAV write (`dav.put`, `dav.delete`): done — the resource `created`, `updated` or
 * `deleted`, with its entity tag now (null when it is no longer in the calendar: an attendee
 * declined by writing it) — or not, because a precondition (If-Match, If-None-Match) failed
 * against the tag the resource had (null: there was none), or because a new event was
 * written to a name that is not its UID's: it belongs `elsewhere`, at `name` (the gateway
 * redirects the PUT there).
 */
export type DavWriteOutcome =
  | {
      readonly outcome: 'created' | 'updated' | 'deleted';
      readonly name: string;
      readonly etag: string | null;
    }
  | { readonly outcome: 'precondition-failed'; readonly etag: string | null }
  | { readonly outcome: 'elsewhere'; readonly name: string };

/**
 * The most refreshable sessions one user keeps at once: a login past it ends the oldest
 * one's refresh (its last access token lives out its few minutes). Each is a row every
 * refresh reads, and logins that never log out (scripts) would otherwise pile them up.
 */
export const MAX_SESSIONS_PER_USER = 100;

/**
 * How long after a rotation the refresh token it replaced still renews the session, as the
 * one that replaced it: two processes sharing a stored login that refresh at once, or a
 * client whose answer was lost and who retries. Past it, that token is a stolen copy.
 */
export const REFRESH_REUSE_GRACE_MS = 30_000;

/** A refreshable session as a login, a refresh or a password change answers it. */
export interface SessionView {
  readonly sid: string;
  /** When its refresh tokens stop being accepted, epoch ms. */
  readonly expiresAt: number;
}

/** `session.refresh`: the session renewed, or ended because a rotated token came back. */
export type RefreshOutcome =
  | {
      readonly outcome: 'rotated';
      readonly session: SessionView;
      /** The place in the rotation the new refresh token names. */
      readonly refreshSeq: number;
      readonly user: User;
    }
  | { readonly outcome: 'reused' };

/** What each command answers when it succeeds. */
export interface CommandResults {
  'user.register': { readonly user: User };
  /** Whether the hash was replaced: not when the stored one was no longer `previousHash`. */
  'user.replacePasswordHash': { readonly replaced: boolean };
  'session.open': { readonly session: SessionView };
  'session.refresh': RefreshOutcome;
  'session.revoke': { readonly revoked: true };
  /**
   * The new generation (tokens naming an older one are refused from now on) and the
   * caller's new session.
   */
  'user.changePassword': { readonly sessionGeneration: number; readonly session: SessionView };
  'feed.create': { readonly feed: FeedView };
  'feed.revoke': { readonly feed: FeedView };
  'device.create': { readonly device: DeviceView };
  'device.revoke': { readonly device: DeviceView };
  /** The account is gone; `removed` counts what went with it at once (feeds, invitations). */
  'user.delete': { readonly deletedAt: number; readonly removed: AccountRemovals };
  /** One batch of what a deleted account left behind; `done` once nothing is left. */
  'user.purge': { readonly removed: AccountRemovals; readonly done: boolean };
  'event.create': ScheduledEvent;
  'event.update': ScheduledEvent;
  'event.cancel': { readonly event: EventDetailsView };
  'event.cancelOccurrence': { readonly event: EventDetailsView };
  /** The occurrence as the event of its own it became. */
  'event.updateOccurrence': ScheduledEvent;
  'event.import': ImportOutcome;
  'dav.put': DavWriteOutcome;
  'dav.delete': DavWriteOutcome;
  'invitation.accept': { readonly event: EventDetailsView };
  'invitation.decline': { readonly event: EventDetailsView };
  'group.create': { readonly group: GroupView };
  /** Adding a member invites them: the view lists them under `invited`. */
  'group.addMember': { readonly group: GroupView };
  'group.join': { readonly group: GroupView };
  'group.decline': DeclineGroupResult;
  'group.unblock': DeclineGroupResult;
  'group.removeMember': { readonly group: GroupView };
  'group.leave': LeaveResult;
  'group.changeLevel': { readonly group: GroupView };
  'group.transferOwnership': { readonly group: GroupView };
  'registry.cas': CasResult;
  'lease.acquire': LeaseAcquireResult;
  'lease.release': LeaseReleaseResult;
}

/** Facts about the store itself, for operators. */
export interface StoreStatus {
  readonly schemaVersion: number;
  /** The store's clock: the largest `at` applied so far. */
  readonly lastAt: number;
  /** Distinct requests applied since the store was created (retries not counted). */
  readonly requestsApplied: number;
  /** Request ids currently remembered for deduplication. */
  readonly rememberedRequests: number;
  /** Size of the database image (what a snapshot weighs). */
  readonly dbBytes: number;
  /**
   * The WebAssembly memory the store's SQLite has (the image, caches, working memory): the
   * most it has needed since the process started, since that memory never shrinks.
   */
  readonly sqlMemoryBytes: number;
  /** The V8 heap of the thread the store runs in (a DB member's store worker). */
  readonly heapBytes: number;
}

/**
 * What each query answers when it succeeds, in the CLI's field names. The occurrence lists
 * answer one page; `next` is the cursor of the following one (`after`), null at the end.
 */
export interface QueryResults {
  'event.list': { readonly events: readonly EventView[]; readonly next: string | null };
  'event.search': { readonly events: readonly EventView[]; readonly next: string | null };
  'event.show': { readonly event: EventDetailsView };
  'invitation.list': {
    readonly invitations: readonly EventDetailsView[];
    readonly groupInvitations: readonly GroupInvitationView[];
    readonly next: string | null;
  };
  'conflicts.list': { readonly conflicts: readonly ConflictView[]; readonly next: string | null };
  'agenda.view': { readonly agendas: readonly AgendaView[]; readonly next: string | null };
  'free.find': { readonly slots: readonly SlotView[] };
  'group.show': { readonly group: GroupView };
  'group.list': { readonly groups: readonly GroupView[] };
  /**
   * One page of the export as iCalendar text: the pages' texts, in order, make the
   * calendar (the first begins it, the last, whose `next` is null, ends it).
   */
  'agenda.export': { readonly ics: string; readonly next: string | null };
  'user.lookup': {
    readonly user: User;
    readonly passwordHash: string;
    /** Tokens name it; a password change raises it, ending every session. */
    readonly sessionGeneration: number;
  };
  'feed.list': { readonly feeds: readonly FeedView[] };
  'device.list': { readonly devices: readonly DeviceView[] };
  /** The device the app password opens, and the generation its tokens name. */
  'device.lookup': { readonly did: string; readonly sessionGeneration: number };
  'dav.calendar': {
    /** Changes whenever anything in the caller's agenda does (CalendarServer's getctag). */
    readonly ctag: string;
    readonly resources: readonly DavResourceView[];
    /** Whether more resources matched than `MAX_CALENDAR_RESOURCES` (contract/limits.ts). */
    readonly truncated: boolean;
  };
  /**
   * A sync (server/store/dav-sync.ts): the resources changed since the token, those gone
   * since (by name), and the token to ask from next; `truncated` when more is left, which
   * the next token continues with. Or a token this calendar does not answer from.
   */
  'dav.sync':
    | {
        readonly outcome: 'synced';
        readonly token: string;
        readonly truncated: boolean;
        readonly changed: readonly DavResourceView[];
        readonly removed: readonly string[];
      }
    | { readonly outcome: 'invalid-token'; readonly reason: string };
  /** Deleted accounts whose data is still being removed, oldest deletion first. */
  'user.beingPurged': { readonly usernames: readonly string[] };
  'registry.get': { readonly entry: RegistryEntry | null };
  'lease.get': { readonly lease: LeaseView | null };
  'registry.history': { readonly entries: readonly RegistryHistoryEntry[] };
  'store.status': StoreStatus;
}

/**
 * The outcome of one command. Refusals (`invalid`, `forbidden`, `not_found`, `conflict`,
 * `unauthenticated`, …) are results, not exceptions. `replayed` is true when the request id
 * had been applied before and this is the original outcome, answered again.
 */
export type StoreResultOf<T extends CommandType> =
  | {
      readonly ok: true;
      readonly result: CommandResults[T];
      readonly notifications: readonly Notification[];
      readonly replayed: boolean;
    }
  | {
      readonly ok: false;
      readonly error: WireError;
      readonly replayed: boolean;
      /**
       * The command was decided on a state that changed before its effect applied: nothing
       * happened, and the leader decides it again (see effects.ts). Never seen by clients
       * but as `unavailable`.
       */
      readonly stale?: true;
    };

/** The outcome of any command. */
export type StoreResult = { [T in CommandType]: StoreResultOf<T> }[CommandType];

/** The outcome of one query. */
export type StoreQueryResultOf<T extends QueryType> =
  | { readonly ok: true; readonly result: QueryResults[T] }
  | { readonly ok: false; readonly error: WireError };

/** The outcome of any query. */
export type StoreQueryResult = { [T in QueryType]: StoreQueryResultOf<T> }[QueryType];

// ---------------------------------------------------------------------------------------
// Codec

const encoder = new TextEncoder();
// Fatal: bytes that are not UTF-8 are refused, not silently repaired.
const decoder = new TextDecoder('utf-8', { fatal: true });

function describeIssue(error: z.ZodError): InvalidInput {
  const issue = error.issues[0];
  const field = issue === undefined || issue.path.length === 0 ? undefined : issue.path.join('.');
  const reason = issue?.message ?? 'malformed';
  return new InvalidInput(field === undefined ? reason : `${field}: ${reason}`, {
    ...(field === undefined ? {} : { field }),
    cause: error,
  });
}

function validate<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  if (typeof value === 'object' && value !== null && 'v' in value && value.v !== PROTOCOL_VERSION) {
    throw new InvalidInput(
      `unsupported ${what} version ${JSON.stringify(value.v)}; this store speaks version ${PROTOCOL_VERSION}`,
      { field: 'v' },
    );
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw describeIssue(parsed.error);
  return parsed.data;
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (error) {
    throw new InvalidInput(`the ${what} is not UTF-8 text`, { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidInput(`the ${what} is not JSON`, { cause: error });
  }
}

/**
 * A command as validated data (unknown fields and wrong types refused).
 * @throws InvalidInput naming the field at fault.
 */
export function parseCommand(value: unknown): StoreCommand {
  return validate(storeCommand, value, 'command');
}

/**
 * A query as validated data.
 * @throws InvalidInput naming the field at fault.
 */
export function parseQuery(value: unknown): StoreQuery {
  return validate(storeQuery, value, 'query');
}

/**
 * The log bytes of a command. Validates first, so a bad command is caught by its sender.
 * @throws InvalidInput
 */
export function encodeCommand(command: StoreCommand): Uint8Array {
  return encoder.encode(JSON.stringify(parseCommand(command)));
}

/**
 * Reads a command from log bytes. Never throws anything but {@link InvalidInput}.
 * @throws InvalidInput (not UTF-8, not JSON, not a command of this version).
 */
export function decodeCommand(bytes: Uint8Array): StoreCommand {
  return parseCommand(parseJson(bytes, 'command'));
}

/**
 * The wire bytes of a query, validated first.
 * @throws InvalidInput
 */
export function encodeQuery(query: StoreQuery): Uint8Array {
  return encoder.encode(JSON.stringify(parseQuery(query)));
}

/**
 * Reads a query from wire bytes. Never throws anything but {@link InvalidInput}.
 * @throws InvalidInput
 */
export function decodeQuery(bytes: Uint8Array): StoreQuery {
  return parseQuery(parseJson(bytes, 'query'));
}
