/**
 * The users service: accounts (register with a scrypt hash, login with a signed JWT, the
 * caller's profile), iCalendar import, feed tokens, and every personal calendar command and
 * query (events, appointments, invitations, agendas, conflicts, free time, export). Group
 * management and group events belong to the groups service.
 *
 * Stateless: everything it knows is in the DB or in the request, so any replica can handle
 * any request, and a request handled twice applies once (see `StoreSession`).
 */
import {
  validateDisplayName,
  validateFeedLabel,
  validatePassword,
  validateUsername,
} from '../domain/index.js';
import type { SkippedComponent, User } from '../domain/index.js';
import { Forbidden, InvalidInput, isAgendaError, Unauthenticated } from '../../contract/errors.js';
import type { Op } from '../protocol/ops.js';
import type {
  FeedAnswer,
  ImportAnswer,
  LoginAnswer,
  LogoutAnswer,
  UserAnswer,
  UserInfo,
} from '../../contract/api.js';
import { passThrough, requireActor } from '../services/pass-through.js';
import type {
  DeviceMade,
  DeviceSignIn,
  LogicService,
  ServiceAnswer,
  ServiceDependencies,
  ServiceRequest,
} from '../services/ports.js';
import { ServiceHandler } from '../services/service-handler.js';
import type { OperationCall } from '../services/service-handler.js';
import { inlineCalendarParser, type CalendarParser } from './calendar-parser.js';
import { refuseCommonPassword } from './common-passwords.js';
import { PasswordHasher, registrationSalt, type PasswordOwner } from './passwords.js';
import { MAX_ACCESS_TTL_MS, newTokenId, type TokenIssuer } from './tokens.js';
import type { DavWriteOutcome, SessionView } from '../store/protocol.js';
import type { AccountDeletedAnswer, AccountRemovals } from '../../contract/api.js';
import { freshId } from '../services/ids.js';
import { StoreSession } from '../services/store-session.js';
import { devicePasswordHash, newDevicePassword } from './device-passwords.js';

/** The same answer for an unknown username and a wrong password: which one it was is nobody's business. */
const WRONG_CREDENTIALS = 'wrong username or password';
/** The answers a CalDAV object's PARTSTAT gives, as Agenda has them. */
const ANSWER_OF_PARTSTAT: Readonly<Record<string, 'accepted' | 'declined' | 'pending'>> = {
  ACCEPTED: 'accepted',
  DECLINED: 'declined',
  'NEEDS-ACTION': 'pending',
};

/** The same for CalDAV, which names what it takes: never the account password. */
const WRONG_DEVICE_CREDENTIALS =
  'wrong username or app password (CalDAV takes an app password: agenda device add)';

export interface UsersServiceOptions {
  /** Signs session and feed tokens with the users service's private key. */
  readonly tokens: TokenIssuer;
  /**
   * Default: scrypt at `DEFAULT_SCRYPT_COST` (passwords.ts), OWASP's. Only tests pass a
   * cheaper one; the daemon (server/services/main.ts) never does.
   */
  readonly passwords?: PasswordHasher;
  /**
   * Reads imported files. Default: on this event loop; the daemon gives a worker thread
   * (calendar-parser.ts), so a large file does not hold up the replica's other requests.
   */
  readonly calendars?: CalendarParser;
}

type OpOf<T extends Op['type']> = Extract<Op, { type: T }>;

/**
 * Password checks of one signed-in account (changing the password, deleting the account)
 * running or waiting at once in this replica; one more is refused `rate_limited` at once.
 * The token's holder chose to send them, so they are capped; a login is not (strangers
 * choose its username), and is only served in its turn (passwords.ts). The gateway counts
 * failed checks, as failed logins, before any of this (server/gateway/abuse-limits.ts).
 */
export const PASSWORD_CHECKS_PER_USER = 2;

/** The hasher's owner of a signed-in account's own password work. */
function signedIn(actor: string): PasswordOwner {
  return { key: actor, maxPending: PASSWORD_CHECKS_PER_USER };
}

/** The clock difference gateways tolerate on a token's expiry (server/users/token-verifier.ts). */
const TOKEN_CLOCK_TOLERANCE_MS = 30_000;
/**
 * How long an ended session's access tokens stay refused: as long as any can still be
 * accepted. Verifiers refuse access tokens that live longer than MAX_ACCESS_TTL_MS, so
 * this holds whatever access lifetime a replica is configured with.
 */
const ACCESS_REVOCATION_MS = MAX_ACCESS_TTL_MS + TOKEN_CLOCK_TOLERANCE_MS;

/**
 * What a deletion's request keeps of its deadline for its answer: it stops removing the
 * account's data (each batch a store command) once less is left.
 */
const PURGE_ANSWER_RESERVE_MS = 2_000;
/** Deleted accounts one sweep finishes at most, and how long it may take over each. */
const ACCOUNTS_PER_SWEEP = 10;
const SWEEP_DEADLINE_MS = 60_000;

/** Adds `more` to `total`. */
function addRemovals(
  total: { -readonly [K in keyof AccountRemovals]: number },
  more: AccountRemovals,
): void {
  for (const key of Object.keys(total) as (keyof AccountRemovals)[]) total[key] += more[key];
}

function userInfo(user: User): UserInfo {
  return { username: user.username, name: user.displayName };
}

/** The path calendar apps subscribe to, relative to the gateway's origin. */
export function feedPath(token: string): string {
  return `/v1/feeds/${encodeURIComponent(token)}/calendar.ics`;
}

export class UsersService implements LogicService {
  readonly name = 'users' as const;
  private readonly handler: ServiceHandler;
  private readonly tokens: TokenIssuer;
  private readonly passwords: PasswordHasher;
  private readonly calendars: CalendarParser;
  private readonly log: ServiceDependencies['log'];
  /** For work of its own, outside any request: finishing deleted accounts. */
  private readonly deps: ServiceDependencies;

  constructor(deps: ServiceDependencies, options: UsersServiceOptions) {
    this.tokens = options.tokens;
    this.calendars = options.calendars ?? inlineCalendarParser;
    this.passwords = options.passwords ?? new PasswordHasher();
    this.log = deps.log;
    this.deps = deps;
    this.handler = new ServiceHandler('users', deps, (op, call) => this.perform(op, call));
  }

  /** See {@link LogicService.handle}. */
  handle(request: ServiceRequest, signal: AbortSignal): Promise<ServiceAnswer> {
    return this.handler.handle(request, signal);
  }

  private perform(op: Op, call: OperationCall): Promise<ServiceAnswer> {
    switch (op.type) {
      case 'account.register':
        return this.register(op, call);
      case 'account.login':
        return this.login(op, call);
      case 'account.refresh':
        return this.refresh(op, call);
      case 'account.me':
        return this.me(call);
      case 'agenda.import':
        return this.importAgenda(op, call);
      case 'dav.put':
        return this.putCalendarObject(op, call);
      case 'feed.create':
        return this.createFeed(op, call);
      case 'feed.list':
        return call.store.query(requireActor(call.request), { type: 'feed.list' });
      case 'feed.revoke':
        return call.store.command(requireActor(call.request), {
          type: 'feed.revoke',
          fid: op.id,
        });
      case 'device.create':
        return this.createDevice(op, call);
      case 'device.list':
        return call.store.query(requireActor(call.request), { type: 'device.list' });
      case 'device.revoke':
        return call.store.command(requireActor(call.request), {
          type: 'device.revoke',
          did: op.id,
        });
      case 'device.authenticate':
        return this.authenticateDevice(op, call);
      case 'account.logout':
        return this.logout(call);
      case 'account.changePassword':
        return this.changePassword(op, call);
      case 'account.delete':
        return this.deleteAccount(op, call);
      case 'command':
      case 'query':
        return passThrough(op, call.request, call.store);
    }
  }

  /** Validates, hashes (before the command: the store never sees a password), registers. */
  private async register(op: OpOf<'account.register'>, call: OperationCall): Promise<UserAnswer> {
    const username = validateUsername(op.username);
    validatePassword(op.password);
    refuseCommonPassword(op.password, username);
    const displayName = validateDisplayName(op.name, username);
    const passwordHash = await this.passwords.hash(
      op.password,
      registrationSalt(call.request.id, username),
      call.signal,
      { key: username },
    );
    const { user } = await call.store.command(null, {
      type: 'user.register',
      username,
      displayName,
      passwordHash,
    });
    return { user: userInfo(user) };
  }

  /**
   * Checks the password against the stored hash, opens a session in the store and answers
   * its first access and refresh tokens. An unknown username costs a verification too, and
   * both failures answer the same. A hash made at a weaker cost than the current one is
   * replaced by one at the current cost, with the session: the password is at hand only now.
   */
  private async login(op: OpOf<'account.login'>, call: OperationCall): Promise<LoginAnswer> {
    let account:
      | { readonly user: User; readonly passwordHash: string; readonly sessionGeneration: number }
      | undefined;
    try {
      account = await call.store.query(null, { type: 'user.lookup', username: op.username });
    } catch (error) {
      if (!isAgendaError(error) || error.code !== 'not_found') throw error;
    }
    // Served in the username's turn, known or not (the same queue either way: no oracle).
    const owner = { key: op.username };
    const valid =
      account === undefined
        ? await this.passwords.verifyNobody(op.password, call.signal, owner)
        : await this.passwords.verify(op.password, account.passwordHash, call.signal, owner);
    if (account === undefined || !valid) throw new Unauthenticated(WRONG_CREDENTIALS);
    const { username } = account.user;
    const rehash = this.passwords.needsRehash(account.passwordHash)
      ? await this.rehash(username, op.password, account.passwordHash, call)
      : undefined;
    const { session } = await call.store.command(username, {
      type: 'session.open',
      sid: newTokenId(),
      ttlMs: this.tokens.refreshTtl,
      generation: account.sessionGeneration,
      revokeEvictedForMs: ACCESS_REVOCATION_MS,
      ...(rehash === undefined ? {} : { rehash }),
    });
    return this.sessionAnswer(account.user, account.sessionGeneration, session, 0);
  }

  /**
   * Renews the session a refresh token names: the store moves its rotation on and the
   * answer carries the next refresh token with a new access token. A refresh token spent
   * before ends the session in the store, and is refused.
   */
  private async refresh(op: OpOf<'account.refresh'>, call: OperationCall): Promise<LoginAnswer> {
    const presented = await this.tokens.verifyRefresh(op.refreshToken);
    const { generation, sid } = presented.session;
    const renewed = await call.store.command(presented.actor, {
      type: 'session.refresh',
      sid,
      generation,
      seq: presented.refreshSeq,
      revokeForMs: ACCESS_REVOCATION_MS,
    });
    if (renewed.outcome === 'reused') {
      this.log.warn('a refresh token was used again: its session is ended', {
        username: presented.actor,
        sid,
      });
      throw new Unauthenticated(
        'this refresh token was already used, so someone else may hold a copy: the session is ended; log in again',
      );
    }
    return this.sessionAnswer(renewed.user, generation, renewed.session, renewed.refreshSeq);
  }

  /** The tokens of `session` as a login answers them: access, and refresh at place `seq`. */
  private async sessionAnswer(
    user: User,
    generation: number,
    session: SessionView,
    seq: number,
  ): Promise<LoginAnswer> {
    const { username } = user;
    const [access, refresh] = await Promise.all([
      this.tokens.access(username, generation, session.sid, session.expiresAt),
      this.tokens.refresh(username, generation, session.sid, seq, session.expiresAt),
    ]);
    return {
      token: access.token,
      expiresAt: access.expiresAt.toISOString(),
      refreshToken: refresh.token,
      refreshExpiresAt: refresh.expiresAt.toISOString(),
      user: userInfo(user),
    };
  }

  /**
   * Ends the session the request's token names: it can no longer be refreshed, the store
   * refuses its access tokens until they would have expired anyway, and the gateways close
   * its live streams.
   */
  private async logout(call: OperationCall): Promise<LogoutAnswer> {
    const actor = requireActor(call.request);
    const sid = call.request.session?.sid;
    if (sid === undefined) throw new Unauthenticated('only a session token can log out');
    const expiresAt = call.clock() + ACCESS_REVOCATION_MS;
    await call.store.command(actor, { type: 'session.revoke', sid, expiresAt });
    return { loggedOut: true };
  }

  /**
   * Checks the current password, stores the new one's hash and ends every session of the
   * user (feeds too: they were made with the old password), then opens a new session for
   * the caller, so the person changing it stays signed in where they are.
   */
  private async changePassword(
    op: OpOf<'account.changePassword'>,
    call: OperationCall,
  ): Promise<LoginAnswer> {
    const actor = requireActor(call.request);
    validatePassword(op.newPassword);
    refuseCommonPassword(op.newPassword, actor);
    // As the caller: the store refuses a token whose session ended or whose account is gone.
    const account = await call.store.query(actor, { type: 'user.lookup', username: actor });
    if (
      !(await this.passwords.verify(
        op.currentPassword,
        account.passwordHash,
        call.signal,
        signedIn(actor),
      ))
    ) {
      throw new Unauthenticated('the current password is not right');
    }
    const passwordHash = await this.passwords.hash(
      op.newPassword,
      registrationSalt(call.request.id, actor),
      call.signal,
      { key: actor },
    );
    const { sessionGeneration, session } = await call.store.command(actor, {
      type: 'user.changePassword',
      previousHash: account.passwordHash,
      passwordHash,
      sid: newTokenId(),
      ttlMs: this.tokens.refreshTtl,
    });
    return this.sessionAnswer(account.user, sessionGeneration, session, 0);
  }

  /**
   * `password`'s hash at the current cost, to replace `previousHash` with the session the
   * login opens (store command `session.open`, which replaces it only if it is still the
   * stored one). The salt comes from the request id, as a registration's. A failure only
   * leaves the old hash for the next login to replace: the login itself verified, and is not
   * refused for it.
   */
  private async rehash(
    username: string,
    password: string,
    previousHash: string,
    call: OperationCall,
  ): Promise<{ previousHash: string; passwordHash: string } | undefined> {
    try {
      const passwordHash = await this.passwords.hash(
        password,
        registrationSalt(call.request.id, username),
        call.signal,
        { key: username },
      );
      return { previousHash, passwordHash };
    } catch (error) {
      if (call.signal.aborted) throw error;
      this.log.warn('could not make a stronger password hash; the next login tries again', {
        username,
        error: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    }
  }

  /**
   * Deletes the caller's account once the password proves it is them. The store retires the
   * username and refuses every token of theirs at once (`user.delete`); what the account
   * leaves behind is then removed a bounded batch per step (`user.purge`) for as long as the
   * request's deadline allows, and {@link finishDeletions} removes the rest (the answer says
   * `complete: false`). A request handled again (a retry with the same idempotency key, a
   * replica taking over) replays the steps it made and carries on: it answers the deletion
   * it made, not "no such user".
   */
  private async deleteAccount(
    op: OpOf<'account.delete'>,
    call: OperationCall,
  ): Promise<AccountDeletedAnswer> {
    const actor = requireActor(call.request);
    let account: { readonly passwordHash: string } | undefined;
    try {
      account = await call.store.query(null, { type: 'user.lookup', username: actor });
    } catch (error) {
      if (!isAgendaError(error) || error.code !== 'not_found') throw error;
    }
    // An account already gone was deleted by this very request (handled again, its command
    // replays below) or outlived by the token, which the store refuses.
    if (
      account !== undefined &&
      !(await this.passwords.verify(
        op.password,
        account.passwordHash,
        call.signal,
        signedIn(actor),
      ))
    ) {
      throw new Unauthenticated('the password is not right');
    }
    const deleted = await call.store.command(actor, { type: 'user.delete' });
    const removed = { ...deleted.removed };
    let complete = false;
    for (let step = 1; !complete && this.timeToPurge(call); step += 1) {
      const batch = await call.store.step(step, null, { type: 'user.purge', username: actor });
      addRemovals(removed, batch.removed);
      complete = batch.done;
    }
    return {
      deleted: true,
      username: actor,
      deletedAt: new Date(deleted.deletedAt).toISOString(),
      complete,
      removed,
    };
  }

  /** Whether a deletion's request still has time for another batch, and the answer after it. */
  private timeToPurge(call: OperationCall): boolean {
    return !call.signal.aborted && call.request.deadline - call.clock() > PURGE_ANSWER_RESERVE_MS;
  }

  /**
   * Removes what deleted accounts left behind where their deletion's request did not finish
   * (it ran out of time, or its replica died): every users replica runs it now and then
   * (./deletion-sweeper.ts). Two at once only make each other's batches stale, which the
   * store decides again.
   * @returns how many accounts it finished.
   */
  async finishDeletions(signal: AbortSignal): Promise<number> {
    const { database, publisher, log } = this.deps;
    const clock = this.deps.clock ?? Date.now;
    const session = (id: string) =>
      new StoreSession({
        database,
        publisher,
        log,
        clock,
        signal,
        request: { id, actor: null, op: null, deadline: clock() + SWEEP_DEADLINE_MS },
      });
    const { usernames } = await session(`sweep-${freshId()}`).query(null, {
      type: 'user.beingPurged',
      limit: ACCOUNTS_PER_SWEEP,
    });
    let finished = 0;
    for (const username of usernames) {
      const store = session(`sweep-${freshId()}`);
      let done = false;
      for (let step = 1; !done && !signal.aborted; step += 1) {
        ({ done } = await store.step(step, null, { type: 'user.purge', username }));
      }
      if (done) finished += 1;
    }
    return finished;
  }

  private async me(call: OperationCall): Promise<UserAnswer> {
    const username = requireActor(call.request);
    try {
      const { user } = await call.store.query(username, { type: 'user.lookup', username });
      return { user: userInfo(user) };
    } catch (error) {
      // A valid token for a user the DB does not know (its data was reset): sign in again.
      if (isAgendaError(error) && error.code === 'not_found') {
        throw new Unauthenticated(`no user named ${username}`, { cause: error });
      }
      throw error;
    }
  }

  /**
   * Parses the file here (the store gets plain drafts, each with its UID), then imports its
   * events in one command. The file is one request's worth (importICalendar refuses more).
   */
  private async importAgenda(
    op: OpOf<'agenda.import'>,
    call: OperationCall,
  ): Promise<ImportAnswer> {
    const actor = requireActor(call.request);
    const visibility = op.defaultVisibility ?? 'public';
    const parsed = await this.calendars.parse(op.ics, {
      defaultTimeZone: op.defaultTimeZone ?? 'UTC',
      defaultVisibility: visibility,
    });
    const reported = (s: SkippedComponent) => ({
      uid: s.uid,
      reason: `${s.component}${s.summary === null ? '' : ` "${s.summary}"`}: ${s.reason}`,
    });
    const skipped = parsed.skipped.map((s) => ({
      ...reported(s),
      ...(s.part === true ? { part: true as const } : {}),
    }));
    const changed = parsed.changed.map(reported);
    if (parsed.events.length === 0) {
      // Nothing for the store to do, but the token is still checked where it can end: a
      // deleted account or an ended session is refused here as everywhere.
      await this.me(call);
      return { events: [], failed: [], skipped, changed };
    }
    const outcome = await call.store.command(actor, {
      type: 'event.import',
      events: parsed.events,
      ...(op.allowConflict === undefined ? {} : { allowConflict: op.allowConflict }),
    });
    // The events this import gave a visibility the file did not say (no CLASS): those it
    // created or updated; one left unchanged keeps the visibility it had.
    const unclassified = new Set(parsed.withoutClass);
    const withoutClass = outcome.events.flatMap((e) =>
      e.uid !== null && e.action !== 'unchanged' && unclassified.has(e.uid) ? [e.uid] : [],
    );
    return {
      // Every draft sent had a UID, so every outcome names one.
      events: outcome.events.map((e) => ({
        uid: e.uid ?? '',
        id: e.id,
        action: e.action,
        ...(e.kept === undefined ? {} : { kept: e.kept }),
      })),
      failed: outcome.failed.map((f) => ({
        index: f.index,
        uid: f.uid,
        error: { code: f.error.code, message: f.error.message },
      })),
      skipped,
      changed,
      ...(withoutClass.length === 0 ? {} : { withoutClass: { visibility, uids: withoutClass } }),
    };
  }

  /**
   * A CalDAV PUT: the object is parsed here, as an import's file is (in the parser's worker),
   * and must be one event — one UID, its series and its changed occurrences — stored whole;
   * the store decides the rest (server/store/dav-writes.ts), preconditions included.
   *
   * A CalDAV write names no zone for its dates (an all-day event's DTSTART;VALUE=DATE) nor
   * for floating times. They are read in the zone the event already keeps its times in
   * (calendar apps write back the dates they were given: ../domain/calendar-resources.ts
   * serves all-day events as dates), so that an edit or an answer leaves the event at its
   * midnights; a new event's, in UTC (it is served back as the same dates). Only an object
   * with such times (dates, floating times) costs that lookup, one read of the resource.
   * @throws InvalidInput an object that is not one event, or not all of it can be kept;
   *   Forbidden an answer Agenda does not have (TENTATIVE, DELEGATED).
   */
  private async putCalendarObject(
    op: OpOf<'dav.put'>,
    call: OperationCall,
  ): Promise<DavWriteOutcome> {
    const actor = requireActor(call.request);
    const zone = namesNoZone(op.ics)
      ? ((
          await call.store.query(actor, {
            type: 'dav.calendar',
            names: [op.name],
            data: false,
          })
        ).resources[0]?.timeZone ?? 'UTC')
      : 'UTC';
    const parsed = await this.calendars.parse(op.ics, { defaultTimeZone: zone, answerOf: actor });
    const left = parsed.skipped.find((s) => s.part !== true);
    if (left !== undefined) {
      const what = `${left.component}${left.summary === null ? '' : ` "${left.summary}"`}`;
      if (left.component !== 'VEVENT') {
        throw new Forbidden(`this calendar holds events (VEVENT) only, not ${what}`);
      }
      throw new InvalidInput(`the object cannot be kept whole: ${what}: ${left.reason}`, {
        field: 'ics',
      });
    }
    const [event, ...more] = parsed.events;
    if (event === undefined) throw new InvalidInput('the object holds no event (VEVENT)');
    if (more.length > 0) {
      throw new InvalidInput(
        `a calendar object holds one event (one UID, with its changed occurrences), not ${parsed.events.length}: write each to its own <UID>.ics`,
        { field: 'ics' },
      );
    }
    const partstat = parsed.answers?.[event.uid];
    const answer = partstat === undefined ? null : ANSWER_OF_PARTSTAT[partstat];
    if (answer === undefined) {
      throw new Forbidden(
        `Agenda's answers are ACCEPTED and DECLINED (NEEDS-ACTION before either), not ${partstat ?? ''}`,
      );
    }
    return call.store.command(actor, {
      type: 'dav.put',
      name: op.name,
      // Without its version: CalDAV's writes are ordered by entity tags, not SEQUENCE.
      event: {
        uid: event.uid,
        draft: event.draft,
        ...(event.occurrences === undefined ? {} : { occurrences: event.occurrences }),
      },
      answer,
      ...(op.ifMatch === undefined ? {} : { ifMatch: op.ifMatch }),
      ...(op.ifNoneMatch === undefined ? {} : { ifNoneMatch: op.ifNoneMatch }),
    });
  }

  /**
   * A device with a fresh app password: the store keeps its hash until the owner revokes it,
   * changes the password or deletes the account; the password is answered this once.
   */
  private async createDevice(op: OpOf<'device.create'>, call: OperationCall): Promise<DeviceMade> {
    const actor = requireActor(call.request);
    if (call.request.session?.sid === undefined) {
      throw new Unauthenticated('a device is added with a session token (agenda login)');
    }
    const password = newDevicePassword();
    const passwordHash = devicePasswordHash(password);
    // The generator writes what the hash reads; a mismatch is a bug, not a user's error.
    if (passwordHash === null) throw new Error('a fresh app password did not read back');
    const { device } = await call.store.command(actor, {
      type: 'device.create',
      did: newTokenId(),
      label: validateFeedLabel(op.label, 'device'),
      passwordHash,
    });
    return { password, username: actor, device };
  }

  /**
   * A CalDAV client's sign-in: the device whose app password this is, answered as a device
   * token for the gateway to send with the client's requests. A wrong username or password
   * answers the same as a login's. The lookup is by the password's SHA-256: its timing tells
   * nothing of a 160-bit random password (./device-passwords.ts).
   */
  private async authenticateDevice(
    op: OpOf<'device.authenticate'>,
    call: OperationCall,
  ): Promise<DeviceSignIn> {
    const passwordHash = devicePasswordHash(op.password);
    if (passwordHash === null) throw new Unauthenticated(WRONG_DEVICE_CREDENTIALS);
    let device: { readonly did: string; readonly sessionGeneration: number };
    try {
      device = await call.store.query(null, {
        type: 'device.lookup',
        username: op.username,
        passwordHash,
      });
    } catch (error) {
      if (isAgendaError(error) && error.code === 'not_found') {
        throw new Unauthenticated(WRONG_DEVICE_CREDENTIALS, { cause: error });
      }
      throw error;
    }
    const { token, expiresAt } = await this.tokens.device(
      op.username,
      device.sessionGeneration,
      device.did,
    );
    return { token, expiresAt: expiresAt.getTime() };
  }

  /**
   * A feed the store keeps until its owner revokes it (or a password change ends it), and
   * the token of its URL. The token is shown once: the store keeps no copy of it.
   */
  private async createFeed(op: OpOf<'feed.create'>, call: OperationCall): Promise<FeedAnswer> {
    const actor = requireActor(call.request);
    const generation = call.request.session?.generation;
    if (generation === undefined) throw new Unauthenticated('a feed is made with a session token');
    const fid = newTokenId();
    const expiresAt = call.clock() + this.tokens.feedTtl;
    const { feed } = await call.store.command(actor, {
      type: 'feed.create',
      fid,
      label: validateFeedLabel(op.label, 'calendar feed'),
      expiresAt,
    });
    const { token } = await this.tokens.feed(actor, generation, fid, expiresAt);
    return { url: feedPath(token), feed };
  }
}

/** A DTSTART, DTEND, RECURRENCE-ID, EXDATE or RDATE line: its parameters and its value. */
const TIME_PROPERTY =
  /^(?:DTSTART|DTEND|RECURRENCE-ID|EXDATE|RDATE)((?:;[^:\r\n]*)?):([^\r\n]*)$/gim;

/**
 * Whether the object holds a time that names no zone: a date (RFC 5545 §3.3.4, `VALUE=DATE`)
 * or a floating date-time (§3.3.5 form 1: no TZID, no `Z`). Those are read in the zone of
 * the event already at the name.
 */
export function namesNoZone(ics: string): boolean {
  for (const [, parameters = '', value = ''] of unfolded(ics).matchAll(TIME_PROPERTY)) {
    if (/;VALUE=DATE(?=[;]|$)/i.test(parameters)) return true;
    if (/;TZID=/i.test(parameters)) continue;
    // A date written without VALUE=DATE (Facebook, PHP libraries) is a date all the same.
    if (/\d{8}T\d{6}(?!Z)/i.test(value) || /^\s*\d{8}\s*(?:,|$)/.test(value)) return true;
  }
  return false;
}

/** iCalendar text with its folded lines joined (RFC 5545 §3.1), for a look at its properties. */
function unfolded(ics: string): string {
  return ics.replace(/\r?\n[ \t]/g, '');
}
