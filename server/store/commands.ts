/**
 * Load → decide → apply, one handler per command type. A handler loads the rows the
 * domain operation's context names (see `server/domain/index.ts`), calls the operation
 * with the command's actor, `now` and fresh ids, applies the decision's mutations and
 * returns its result and notifications. Refusals are thrown as `AgendaError`s by the
 * domain (or here, for what the store itself checks) and become results in the caller.
 */
import {
  acceptInvitation,
  cancelEvent,
  cancelOccurrence,
  changeLevel,
  CommitmentIndex,
  conflictWindow,
  createEvent,
  createGroup,
  declineGroupInvitation,
  declineInvitation,
  importEvent,
  inviteMember,
  joinGroup,
  leaveGroup,
  membershipOf,
  mergeIntervals,
  registerUser,
  removeMember,
  transferOwnership,
  unblockGroup,
  updateEvent,
  updateOccurrence,
  validateEventDraft,
} from '../domain/index.js';
import type {
  Decision,
  EventDetails,
  EventDetailsView,
  EventId,
  EventImport,
  EventRecord,
  GroupRecord,
  GroupView,
  Millis,
  Notification,
  Username,
} from '../domain/index.js';
import {
  Conflict,
  InvalidInput,
  NotFound,
  Unauthenticated,
  isAgendaError,
} from '../../contract/errors.js';
import {
  MAX_DETACHED_ANSWERED_WITH_SERIES,
  MAX_DETACHED_CANCELLED_WITH_SERIES,
  MAX_DETACHED_PER_SERIES,
} from '../../contract/limits.js';
import type { DeviceRow, FeedRow, SessionRow } from './calendar-rows.js';
import { deleteAccount, purgeAccount } from './account-deletion.js';
import { davDelete, davPut, type DavOperations } from './dav-writes.js';
import type { RegistryAccess, RowReader, RowWriter } from './decision.js';
import type {
  CommandOf,
  CommandResults,
  CommandType,
  DeviceView,
  FeedView,
  ImportFailure,
  SessionView,
  StoreCommand,
} from './protocol.js';
import {
  MAX_DEVICES_PER_USER,
  MAX_FEEDS_PER_USER,
  MAX_SESSIONS_PER_USER,
  REFRESH_REUSE_GRACE_MS,
} from './protocol.js';

/** What a handler works with while one command applies. */
export interface CommandEnvironment {
  /** The store's clock for this command: `max(at, every earlier at)`. */
  readonly now: Millis;
  /** The store's reads (tracked while deciding: see decision.ts). */
  readonly rows: RowReader;
  /** The store's writes (recorded while deciding). */
  readonly writes: RowWriter;
  readonly registry: RegistryAccess;
  /** The registered user acting. @throws Unauthenticated */
  actor(): Username;
  /** Refuses the command unless it still carries `count` fresh ids. @throws InvalidInput */
  requireIds(count: number): void;
  /** The next of the command's fresh ids, checked unused. @throws InvalidInput */
  nextId(): EventId;
}

/** A command's effect as its caller sees it. */
export interface Applied<Result> {
  readonly result: Result;
  readonly notifications: readonly Notification[];
}

type Handler<T extends CommandType> = (
  body: CommandOf<T>,
  env: CommandEnvironment,
) => Applied<CommandResults[T]>;

/** Applies a decision's mutations and answers its result and notifications. */
function commit<Result>(env: CommandEnvironment, decision: Decision<Result>): Applied<Result> {
  env.writes.apply(decision.mutations);
  return { result: decision.result, notifications: decision.notifications };
}

/** {@link commit}, with the result put under the protocol's field name. */
function commitAs<Result, Answer>(
  env: CommandEnvironment,
  decision: Decision<Result>,
  answer: (result: Result) => Answer,
): Applied<Answer> {
  const applied = commit(env, decision);
  return { result: answer(applied.result), notifications: applied.notifications };
}

const silent = <Result>(result: Result): Applied<Result> => ({ result, notifications: [] });
const asEvent = (event: EventDetailsView) => ({ event });
const asGroup = (group: GroupView) => ({ group });

/** Names as the domain will read them (it trims invitees before looking them up). */
function trimmed(names: readonly string[] | undefined): string[] {
  return (names ?? []).map((n) => n.trim());
}

/** The organizer and, in a hierarchical group, the members ranked below them: whose agendas a new event lands in accepted. */
function acceptingPeople(actor: Username, group: GroupRecord | undefined): Username[] {
  const me = group === undefined ? undefined : membershipOf(group, actor);
  if (group === undefined || me === undefined || group.group.kind !== 'hierarchical') {
    return [actor];
  }
  return [actor, ...group.members.filter((m) => m.level > me.level).map((m) => m.username)];
}

function scheduleEvent(
  env: CommandEnvironment,
  actor: Username,
  eventId: EventId,
  body: Pick<CommandOf<'event.create'>, 'draft' | 'with' | 'group' | 'allowConflict'>,
): Applied<CommandResults['event.create']> {
  // Validating here too is how the store learns the event's real time (a series moves to
  // its first occurrence) and so which commitments to load; the domain repeats it.
  const details = validateEventDraft(body.draft);
  const group = body.group === undefined ? undefined : env.rows.group(body.group);
  const events = env.rows.eventsAttending(
    acceptingPeople(actor, group),
    conflictWindow(details, env.now),
    'accepted',
  );
  return commit(
    env,
    createEvent(
      {
        actor,
        eventId,
        now: env.now,
        draft: body.draft,
        with: body.with,
        group: body.group,
        allowConflict: body.allowConflict,
      },
      { existingUsers: env.rows.existingUsers(trimmed(body.with)), group, events },
    ),
  );
}

/**
 * An import of drafts with UIDs, in one command whose cost is bounded by what the drafts
 * reach rather than by the actor's whole agenda: the drafts are validated once, the actor's
 * commitments over their merged conflict windows are loaded and indexed once (unless
 * conflicts are allowed), and each draft is decided against that index (which learns each
 * event the command schedules, so later drafts conflict with earlier ones). Each draft's
 * UID finds the event it was imported as before, in one load for the whole command. A
 * series comes with its changed occurrences (RECURRENCE-ID) and, when it was imported
 * before, with the live events detached from it: one decision for all of them
 * (`importEvent`), so a replica never has the series changed without its occurrences.
 */
function importEvents(
  body: CommandOf<'event.import'>,
  env: CommandEnvironment,
): Applied<CommandResults['event.import']> {
  const actor = env.actor();
  env.requireIds(body.events.reduce((sum, e) => sum + 1 + (e.occurrences?.length ?? 0), 0));
  const { now } = env;
  // Validated once: the real times (a series moves to its first occurrence) say which
  // commitments to load, and importEvent takes the details as they are.
  const drafts = body.events.map((item) => {
    try {
      const occurrences = (item.occurrences ?? []).map((o) =>
        'cancelled' in o
          ? o
          : { occurrenceStart: o.occurrenceStart, details: validateEventDraft(o.draft) },
      );
      return { item, details: validateEventDraft(item.draft), occurrences };
    } catch (error) {
      if (!isAgendaError(error)) throw error;
      return { item, refusal: error, occurrences: [] };
    }
  });
  // With conflicts allowed, an import's answer and writes do not depend on the importer's
  // other commitments (an event's answer is its UID, id and action), so they are neither
  // loaded nor indexed: that was half of the decision of a 200-event request, growing with
  // every series imported before.
  const commitments =
    body.allowConflict === true ? undefined : commitmentIndexFor(actor, drafts, now, env);
  const uids = body.events.flatMap((item) => (item.uid === null ? [] : [item.uid]));
  const found: Map<string, EventRecord | EventId> = env.rows.eventsImportedAs(actor, uids);
  // A UID may come twice in one command: the second finds what the first made of it.
  const existing = (uid: string): EventRecord | undefined => {
    const known = found.get(uid);
    return typeof known === 'string' ? env.rows.event(known) : known;
  };

  const events: EventImport[] = [];
  const failed: ImportFailure[] = [];
  const notifications: Notification[] = [];
  for (const [index, { item, details, refusal, occurrences }] of drafts.entries()) {
    try {
      // Each draft takes its own id and then one per occurrence it carries (refused and
      // found ones too), taken before anything can refuse it: ids go where freshIdCount
      // (server/services/ids.ts) says, whatever is refused.
      const [eventId = '', ...occurrenceIds] = takeIds(env, 1 + (item.occurrences?.length ?? 0));
      if (details === undefined) throw refusal;
      const record = item.uid === null ? undefined : existing(item.uid);
      const decision = importEvent(
        {
          actor,
          eventId,
          now,
          uid: item.uid,
          details,
          occurrences: occurrences.map((o, i) => ({ ...o, eventId: occurrenceIds[i] ?? '' })),
          ...(body.allowConflict === undefined ? {} : { allowConflict: body.allowConflict }),
          ...(item.version === undefined ? {} : { version: item.version }),
        },
        { existing: record, detached: detachedToReconcile(env, record, actor), commitments },
      );
      env.writes.apply(decision.mutations);
      commitments?.follow(decision.mutations);
      if (item.uid !== null && decision.mutations.length > 0)
        found.set(item.uid, decision.result.id);
      events.push(decision.result);
      notifications.push(...decision.notifications);
    } catch (error) {
      if (!isAgendaError(error)) throw error;
      failed.push({ index, uid: item.uid, error: error.toWire() });
    }
  }
  return { result: { events, failed }, notifications };
}

/**
 * The command's next `count` fresh ids, every one of them taken even when one is refused (in
 * use already), so that the next draft's ids are where freshIdCount puts them.
 * @throws InvalidInput the first refusal, once all are taken.
 */
function takeIds(env: CommandEnvironment, count: number): EventId[] {
  const ids: EventId[] = [];
  let refusal: Error | undefined;
  for (let i = 0; i < count; i++) {
    try {
      ids.push(env.nextId());
    } catch (error) {
      refusal ??= error instanceof Error ? error : new Error(String(error));
    }
  }
  if (refusal !== undefined) throw refusal;
  return ids;
}

/**
 * The live events detached from the series an import found (its occurrences changed on their
 * own), which the import brings to the file's version: one more than may be, so that a series
 * with too many is seen to have them. None for an event that is not a live series.
 */
function detachedToReconcile(
  env: CommandEnvironment,
  record: EventRecord | undefined,
  actor: Username,
): EventRecord[] {
  if (
    record === undefined ||
    record.event.recurrence === null ||
    record.event.status === 'cancelled'
  ) {
    return [];
  }
  return env.rows.liveEventsDetachedFrom(
    record.event.id,
    actor,
    MAX_DETACHED_CANCELLED_WITH_SERIES + 1,
  );
}

/** The actor's commitments over the merged conflict windows of the drafts and their occurrences. */
function commitmentIndexFor(
  actor: Username,
  drafts: readonly {
    readonly details?: EventDetails;
    readonly occurrences: readonly ({ readonly details: EventDetails } | { cancelled: true })[];
  }[],
  now: Millis,
  env: CommandEnvironment,
): CommitmentIndex {
  const windows = mergeIntervals(
    drafts.flatMap((d) =>
      d.details === undefined
        ? []
        : [
            conflictWindow(d.details, now),
            ...d.occurrences.flatMap((o) =>
              'details' in o ? [conflictWindow(o.details, now)] : [],
            ),
          ],
    ),
  );
  return new CommitmentIndex(actor, windows, env.rows.commitments(actor, windows));
}

/** Whether `record` is a live series that `actor` organizes: one whose occurrences they may detach. */
function isLiveSeriesOf(record: EventRecord | undefined, actor: Username): record is EventRecord {
  return (
    record !== undefined &&
    record.event.organizer === actor &&
    record.event.recurrence !== null &&
    record.event.status !== 'cancelled'
  );
}

/**
 * The live event the occurrence of `record` starting at `occurrenceStart` became, when it
 * was changed on its own: looked for only when the series has an exception there (else the
 * occurrence is still in it, or never was), so that a refusal can name it.
 */
function detachedThere(
  env: CommandEnvironment,
  record: EventRecord | undefined,
  actor: Username,
  occurrenceStart: Millis,
): EventId | undefined {
  if (!isLiveSeriesOf(record, actor)) return undefined;
  if (record.event.recurrence?.exceptions.includes(occurrenceStart) !== true) return undefined;
  return env.rows.liveEventDetachedAt(record.event.id, actor, occurrenceStart);
}

/**
 * The occurrences of the series `record` changed on their own that the actor's answer
 * `status` to it reaches (server/domain/invitations.ts), one more than may be answered with
 * it, so that a series with too many is seen to have them. None for an event that does not
 * repeat, or that the actor does not answer (the domain refuses it).
 */
function detachedAnsweredWith(
  env: CommandEnvironment,
  record: EventRecord | undefined,
  actor: Username,
  status: 'accepted' | 'declined',
): EventRecord[] {
  if (
    record === undefined ||
    record.event.recurrence === null ||
    record.event.status === 'cancelled' ||
    record.attendees.every((a) => a.username !== actor || a.role === 'organizer')
  ) {
    return [];
  }
  return env.rows.liveEventsDetachedAnsweredWith(
    record.event.id,
    actor,
    status,
    MAX_DETACHED_ANSWERED_WITH_SERIES + 1,
  );
}

const HANDLERS: { readonly [T in CommandType]: Handler<T> } = {
  'user.register': (body, env) => {
    const decision = registerUser(
      { username: body.username, displayName: body.displayName },
      {
        existing: env.rows.user(body.username),
        retired: env.rows.accountDeletion(body.username) !== undefined,
      },
    );
    const applied = commitAs(env, decision, (user) => ({ user }));
    env.writes.insertCredentials(decision.result.username, body.passwordHash);
    return applied;
  },

  // A login upgrading the hash it just verified (users-service.ts). Only over that hash: two
  // logins racing both verified the old one, and the second finds it replaced and keeps
  // the first's, as does a login racing any other change of the hash.
  'user.replacePasswordHash': (body, env) => {
    if (env.rows.passwordHash(body.username) !== body.previousHash) {
      return { result: { replaced: false }, notifications: [] };
    }
    env.writes.replaceCredentials(body.username, body.passwordHash);
    return { result: { replaced: true }, notifications: [] };
  },

  // A login. The password was checked against the hash of generation `generation`: if the
  // password changed since, the old one must not open a session. A rehash racing another
  // login's keeps the first (both hashed the same password), as user.replacePasswordHash.
  'session.open': (body, env) => {
    const actor = env.actor();
    if (env.rows.sessionGeneration(actor) !== body.generation) {
      throw new Unauthenticated('the password changed meanwhile; log in with the new one');
    }
    if (body.rehash !== undefined && env.rows.passwordHash(actor) === body.rehash.previousHash) {
      env.writes.replaceCredentials(actor, body.rehash.passwordHash);
    }
    const ended: Notification[] = [];
    const session = openSession(env, actor, body.sid, body.ttlMs, (evicted) => {
      if (body.revokeEvictedForMs === undefined) return;
      env.writes.revokeSession(evicted, actor, env.now + body.revokeEvictedForMs, env.now);
      ended.push(sessionsEnded(actor, evicted));
    });
    return { result: { session }, notifications: ended };
  },

  // A refresh token presented (server/users/users-service.ts checked its signature): the
  // current one is rotated; the one just rotated away is answered as the current one for a
  // moment (REFRESH_REUSE_GRACE_MS); any other is a copy that was used before — a stolen
  // one, or the thief's being stolen back — and the session ends for both holders.
  'session.refresh': (body, env) => {
    const actor = env.actor();
    if (env.rows.sessionGeneration(actor) !== body.generation) {
      throw new Unauthenticated('your sessions ended when the password changed; log in again');
    }
    const session = env.rows.session(body.sid);
    if (session === undefined || session.username !== actor || session.expiresAt <= env.now) {
      throw new Unauthenticated('this session has ended; log in again');
    }
    const user = env.rows.user(actor);
    if (user === undefined) throw new Unauthenticated(`no user named ${actor}`);
    const renewed = (refreshSeq: number) =>
      silent({ outcome: 'rotated' as const, session: sessionView(session), refreshSeq, user });
    if (body.seq === session.refreshSeq) {
      env.writes.rotateRefresh(session.sid, session.refreshSeq + 1, env.now);
      return renewed(session.refreshSeq + 1);
    }
    if (
      body.seq === session.refreshSeq - 1 &&
      env.now - session.rotatedAt <= REFRESH_REUSE_GRACE_MS
    ) {
      return renewed(session.refreshSeq);
    }
    env.writes.endSession(session.sid);
    env.writes.revokeSession(session.sid, actor, env.now + body.revokeForMs, env.now);
    return {
      result: { outcome: 'reused' },
      notifications: [sessionsEnded(actor, session.sid)],
    };
  },

  // A logout: the session can no longer be refreshed, and its access tokens are refused
  // until they would have expired anyway.
  'session.revoke': (body, env) => {
    const actor = env.actor();
    const session = env.rows.session(body.sid);
    if (session !== undefined && session.username === actor) env.writes.endSession(body.sid);
    env.writes.revokeSession(body.sid, actor, body.expiresAt, env.now);
    return { result: { revoked: true }, notifications: [sessionsEnded(actor, body.sid)] };
  },

  // Only over the hash the users service verified the current password against: a change
  // racing another change, or a login's rehash, is refused rather than lost. Every session
  // ends (the generation refuses their tokens; their rows go too) and the caller gets one.
  'user.changePassword': (body, env) => {
    const actor = env.actor();
    if (env.rows.passwordHash(actor) !== body.previousHash) {
      throw new Conflict('the password changed meanwhile; try again with the current one');
    }
    const generation = (env.rows.sessionGeneration(actor) ?? 0) + 1;
    env.writes.replaceCredentials(actor, body.passwordHash);
    env.writes.setSessionGeneration(actor, generation);
    for (const ended of env.rows.liveSessionsOf(actor, env.now)) env.writes.endSession(ended.sid);
    // App passwords were given out under the old password: they end with it, rows and all
    // (the generation alone would refuse their tokens, not the passwords themselves).
    for (const device of env.rows.devicesOf(actor)) env.writes.deleteDevice(device.did);
    return {
      result: {
        sessionGeneration: generation,
        session: openSession(env, actor, body.sid, body.ttlMs),
      },
      notifications: [sessionsEnded(actor, null)],
    };
  },

  'feed.create': (body, env) => {
    const actor = env.actor();
    if (env.rows.feed(body.fid) !== undefined) throw new Conflict('that feed id is taken; retry');
    if (env.rows.feedsOf(actor).length >= MAX_FEEDS_PER_USER) {
      throw new InvalidInput(
        `you have ${MAX_FEEDS_PER_USER} calendar feeds, the most one user keeps: revoke one first (agenda feed list, agenda feed revoke <id>)`,
      );
    }
    const feed = {
      fid: body.fid,
      username: actor,
      label: body.label,
      createdAt: env.now,
      expiresAt: body.expiresAt,
    };
    env.writes.insertFeed(feed);
    return { result: { feed: feedView(feed) }, notifications: [] };
  },

  'feed.revoke': (body, env) => {
    const actor = env.actor();
    const feed = env.rows.feed(body.fid);
    // Someone else's feed answers as a missing one: ids are not for guessing.
    if (feed === undefined || feed.username !== actor) {
      throw new NotFound(`you have no calendar feed ${body.fid}`);
    }
    env.writes.deleteFeed(body.fid);
    return { result: { feed: feedView(feed) }, notifications: [] };
  },

  'device.create': (body, env) => {
    const actor = env.actor();
    if (env.rows.device(body.did) !== undefined) {
      throw new Conflict('that device id is taken; retry');
    }
    const devices = env.rows.devicesOf(actor);
    if (devices.length >= MAX_DEVICES_PER_USER) {
      throw new InvalidInput(
        `you have ${MAX_DEVICES_PER_USER} devices, the most one user keeps: revoke one first (agenda device list, agenda device revoke <id>)`,
      );
    }
    // Two equal hashes would be two equal 160-bit random passwords: a broken generator.
    if (devices.some((d) => d.passwordHash === body.passwordHash)) {
      throw new Conflict('that app password is taken; retry');
    }
    const device: DeviceRow = {
      did: body.did,
      username: actor,
      label: body.label,
      passwordHash: body.passwordHash,
      createdAt: env.now,
    };
    env.writes.insertDevice(device);
    return { result: { device: deviceView(device) }, notifications: [] };
  },

  'device.revoke': (body, env) => {
    const actor = env.actor();
    const device = env.rows.device(body.did);
    // Someone else's device answers as a missing one: ids are not for guessing.
    if (device === undefined || device.username !== actor) {
      throw new NotFound(`you have no device ${body.did}`);
    }
    env.writes.deleteDevice(body.did);
    return { result: { device: deviceView(device) }, notifications: [] };
  },

  'user.delete': (_body, env) => deleteAccount(env),
  'user.purge': purgeAccount,

  'event.create': (body, env) => scheduleEvent(env, env.actor(), env.nextId(), body),

  'event.update': (body, env) => {
    const command = {
      actor: env.actor(),
      eventId: body.eventId,
      now: env.now,
      changes: body.changes,
      invite: body.invite,
      allowConflict: body.allowConflict,
    };
    const record = env.rows.event(body.eventId);
    const existingUsers = env.rows.existingUsers(trimmed(body.invite));
    // A first decision without commitments tells the event's new time (the domain merges
    // and validates the changes); its conflict window says which commitments to load.
    const probe = updateEvent(command, { record, existingUsers, events: [] });
    const updated = probe.mutations.find((m) => m.kind === 'updateEvent');
    if (updated === undefined) return commit(env, probe);
    const window = conflictWindow(updated.event, env.now);
    const events = env.rows.eventsAttending([command.actor], window, 'accepted');
    // A series that moves takes the events detached from it along: one more than a series
    // may have is loaded, so that one with too many (made before the bound) is seen to.
    const moved =
      isLiveSeriesOf(record, command.actor) &&
      (updated.event.start !== record.event.start ||
        updated.event.timeZone !== record.event.timeZone);
    const detached = moved
      ? env.rows.liveEventsDetachedFrom(body.eventId, command.actor, MAX_DETACHED_PER_SERIES + 1)
      : [];
    return commit(env, updateEvent(command, { record, existingUsers, events, detached }));
  },

  'event.cancel': (body, env) => {
    const actor = env.actor();
    const record = env.rows.event(body.eventId);
    // The occurrences changed on their own go with their series: one more than may go is
    // loaded, so that a series with too many is refused rather than cancelled without some
    // of them. They are looked for only when the series is the actor's to cancel and still
    // live (else nothing is cancelled), and only among the actor's events: only the
    // organizer detaches occurrences.
    const detached =
      record === undefined ||
      record.event.organizer !== actor ||
      record.event.status === 'cancelled'
        ? []
        : env.rows.liveEventsDetachedFrom(
            body.eventId,
            actor,
            MAX_DETACHED_CANCELLED_WITH_SERIES + 1,
          );
    return commitAs(
      env,
      cancelEvent({ actor, eventId: body.eventId, now: env.now }, { record, detached }),
      asEvent,
    );
  },

  'event.cancelOccurrence': (body, env) => {
    const actor = env.actor();
    const record = env.rows.event(body.eventId);
    return commitAs(
      env,
      cancelOccurrence(
        { actor, eventId: body.eventId, occurrenceStart: body.occurrenceStart, now: env.now },
        { record, detachedThere: detachedThere(env, record, actor, body.occurrenceStart) },
      ),
      asEvent,
    );
  },

  'event.updateOccurrence': (body, env) => {
    const command = {
      actor: env.actor(),
      eventId: body.eventId,
      occurrenceStart: body.occurrenceStart,
      newEventId: env.nextId(),
      now: env.now,
      changes: body.changes,
      allowConflict: body.allowConflict,
    };
    const record = env.rows.event(body.eventId);
    const series = {
      record,
      detachedThere: detachedThere(env, record, command.actor, body.occurrenceStart),
      // Counted here, in the leader's decision, so that a series never has more than may
      // be cancelled or answered with it: the effect applied carries only the rows.
      detachedCount: isLiveSeriesOf(record, command.actor)
        ? env.rows.liveDetachedCount(body.eventId, command.actor)
        : 0,
    };
    // As for event.update: a first decision without commitments tells the occurrence's new
    // time, and its conflict window which commitments to load.
    const probe = updateOccurrence(command, { ...series, events: [] });
    const inserted = probe.mutations.find((m) => m.kind === 'insertEvent');
    if (inserted === undefined) return commit(env, probe);
    const window = conflictWindow(inserted.event, env.now);
    const events = env.rows.eventsAttending([command.actor], window, 'accepted');
    return commit(env, updateOccurrence(command, { ...series, events }));
  },

  'event.import': importEvents,

  'dav.put': (body, env) => davPut(body, env, DAV_OPERATIONS),
  'dav.delete': (body, env) => davDelete(body, env, DAV_OPERATIONS),

  'invitation.accept': (body, env) => {
    const actor = env.actor();
    const record = env.rows.event(body.eventId);
    const detached = detachedAnsweredWith(env, record, actor, 'accepted');
    // The actor's commitments over the conflict windows of everything the answer accepts:
    // the series', and those of its changed occurrences, which may have moved outside it.
    const windows =
      record === undefined
        ? []
        : [record, ...detached].map((r) => conflictWindow(r.event, env.now));
    const events =
      windows.length === 0
        ? []
        : env.rows.eventsAttending(
            [actor],
            {
              start: Math.min(...windows.map((w) => w.start)),
              end: Math.max(...windows.map((w) => w.end)),
            },
            'accepted',
          );
    return commitAs(
      env,
      acceptInvitation(
        { actor, eventId: body.eventId, now: env.now, allowConflict: body.allowConflict },
        { record, events, detached },
      ),
      asEvent,
    );
  },

  'invitation.decline': (body, env) => {
    const actor = env.actor();
    const record = env.rows.event(body.eventId);
    return commitAs(
      env,
      declineInvitation(
        { actor, eventId: body.eventId, now: env.now },
        { record, detached: detachedAnsweredWith(env, record, actor, 'declined') },
      ),
      asEvent,
    );
  },

  'group.create': (body, env) =>
    commitAs(
      env,
      createGroup(
        { actor: env.actor(), name: body.name, kind: body.kind },
        { existing: env.rows.group(body.name)?.group },
      ),
      asGroup,
    ),

  'group.addMember': (body, env) =>
    commitAs(
      env,
      inviteMember(
        {
          actor: env.actor(),
          group: body.group,
          username: body.username,
          level: body.level,
          now: env.now,
        },
        {
          group: env.rows.group(body.group),
          user: env.rows.user(body.username),
          blocked: env.rows.blocksGroup(body.group, body.username),
          invitationsWaiting: env.rows.groupInvitationsWaiting(body.username),
          invitationsFromActor: env.rows.groupInvitationsWaitingFrom(body.username, env.actor()),
        },
      ),
      asGroup,
    ),

  'group.join': (body, env) =>
    commitAs(
      env,
      joinGroup(
        { actor: env.actor(), group: body.group, now: env.now },
        {
          group: env.rows.group(body.group),
          groupEvents: env.rows.groupEvents(body.group, env.now),
        },
      ),
      asGroup,
    ),

  'group.decline': (body, env) => {
    const actor = env.actor();
    return commit(
      env,
      declineGroupInvitation(
        { actor, group: body.group, block: body.block === true },
        {
          group: env.rows.group(body.group),
          blocked: env.rows.blocksGroup(body.group, actor),
        },
      ),
    );
  },

  'group.unblock': (body, env) => {
    const actor = env.actor();
    return commit(
      env,
      unblockGroup(
        { actor, group: body.group },
        {
          group: env.rows.group(body.group),
          blocked: env.rows.blocksGroup(body.group, actor),
        },
      ),
    );
  },

  'group.removeMember': (body, env) =>
    commitAs(
      env,
      removeMember(
        { actor: env.actor(), group: body.group, username: body.username, now: env.now },
        {
          group: env.rows.group(body.group),
          groupEvents: env.rows.groupEvents(body.group, env.now),
        },
      ),
      asGroup,
    ),

  'group.leave': (body, env) =>
    commit(
      env,
      leaveGroup(
        { actor: env.actor(), group: body.group, now: env.now },
        {
          group: env.rows.group(body.group),
          groupEvents: env.rows.groupEvents(body.group, env.now),
        },
      ),
    ),

  'group.changeLevel': (body, env) =>
    commitAs(
      env,
      changeLevel(
        { actor: env.actor(), group: body.group, username: body.username, level: body.level },
        { group: env.rows.group(body.group) },
      ),
      asGroup,
    ),

  'group.transferOwnership': (body, env) =>
    commitAs(
      env,
      transferOwnership(
        { actor: env.actor(), group: body.group, to: body.to },
        { group: env.rows.group(body.group) },
      ),
      asGroup,
    ),

  'registry.cas': (body, env) => silent(env.registry.compareAndSet(body, env.now)),
  'lease.acquire': (body, env) => silent(env.registry.acquire(body, env.now)),
  'lease.release': (body, env) => silent(env.registry.release(body, env.now)),
};

/** CalDAV's writes are the API's operations (./dav-writes.ts). */
const DAV_OPERATIONS: DavOperations = {
  import: importEvents,
  accept: (eventId, env) =>
    HANDLERS['invitation.accept']({ type: 'invitation.accept', eventId }, env),
  decline: (eventId, env) =>
    HANDLERS['invitation.decline']({ type: 'invitation.decline', eventId }, env),
  cancel: (eventId, env) => HANDLERS['event.cancel']({ type: 'event.cancel', eventId }, env),
};

/** A device as its owner sees it: never its password, nor the password's hash. */
export function deviceView(device: DeviceRow): DeviceView {
  return {
    id: device.did,
    label: device.label,
    createdAt: new Date(device.createdAt).toISOString(),
  };
}

/** A feed as its owner sees it. */
export function feedView(feed: FeedRow): FeedView {
  return {
    id: feed.fid,
    label: feed.label,
    createdAt: new Date(feed.createdAt).toISOString(),
    expiresAt: new Date(feed.expiresAt).toISOString(),
  };
}

/**
 * Tells the user's open live streams that a session (or, with `sid` null, every session)
 * ended: the gateways close the streams it authenticated.
 */
/**
 * Opens refreshable session `sid` of `actor` for `ttlMs`, ending the oldest of theirs first
 * when they hold {@link MAX_SESSIONS_PER_USER} (each told to `onEvicted`).
 */
function openSession(
  env: CommandEnvironment,
  actor: Username,
  sid: string,
  ttlMs: number,
  onEvicted: (sid: string) => void = () => {},
): SessionView {
  if (env.rows.session(sid) !== undefined) throw new Conflict('that session id is taken; retry');
  const live = env.rows.liveSessionsOf(actor, env.now);
  for (const oldest of live.slice(0, Math.max(0, live.length - MAX_SESSIONS_PER_USER + 1))) {
    env.writes.endSession(oldest.sid);
    onEvicted(oldest.sid);
  }
  const session: SessionRow = {
    sid,
    username: actor,
    refreshSeq: 0,
    rotatedAt: env.now,
    createdAt: env.now,
    expiresAt: env.now + ttlMs,
  };
  env.writes.openSession(session, env.now);
  return sessionView(session);
}

function sessionView(session: SessionRow): SessionView {
  return { sid: session.sid, expiresAt: session.expiresAt };
}

function sessionsEnded(username: Username, sid: string | null): Notification {
  return { kind: 'session', to: username, change: 'ended', sid };
}

/** Runs one command's handler. Refusals are thrown; the caller turns them into results. */
export function runCommand(
  command: StoreCommand,
  env: CommandEnvironment,
): Applied<CommandResults[CommandType]> {
  // The map is keyed by type, so the handler found is the one for this body.
  const handler = HANDLERS[command.body.type] as Handler<CommandType>;
  return handler(command.body, env);
}
