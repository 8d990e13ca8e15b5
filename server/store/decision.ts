/**
 * The store as a decision sees it: the same reads and writes the command handlers always
 * use, each also noted in a {@link DecisionJournal} — the keys every read depends on, and
 * every write as the {@link RowWrite} that replicates it, with the keys it stamps (see
 * effects.ts). A decision runs inside a savepoint that is rolled back afterwards: its
 * writes reach SQLite only so that its own later reads see them (an import's tenth event
 * conflicts with its first); what the store keeps is what the effect writes when applied.
 */
import type {
  AgendaCommitment,
  AttendeeStatus,
  CalendarEvent,
  CommittedEvent,
  EventId,
  EventRecord,
  GroupRecord,
  Interval,
  ListingEntry,
  Millis,
  Mutation,
  User,
  Username,
} from '../domain/index.js';
import type { Attendance, CalendarRows, DeviceRow, FeedRow, SessionRow } from './calendar-rows.js';
import type { AccountDeletionRow } from './calendar-rows.js';
import type { CalendarWrites } from './calendar-writes.js';
import { timeBounds } from './calendar-writes.js';
import { KEYS, stampsOf, type DecisionJournal } from './effects.js';
import type {
  CasResult,
  CommandOf,
  LeaseAcquireResult,
  LeaseReleaseResult,
  LeaseView,
  RegistryEntry,
} from './protocol.js';
import type { Registry } from './registry.js';

/** Reads only an export (a query) makes: no command decides on them. */
type ExportReads = 'exportEntries' | 'exportZoneUses' | 'exportedDetachedOf' | 'exportedEvent';
/** What command handlers read through (the store's {@link CalendarRows}, or a tracked view). */
export type RowReader = Pick<CalendarRows, Exclude<keyof CalendarRows, ExportReads>>;
/** What command handlers write through. */
export type RowWriter = Pick<
  CalendarWrites,
  | 'apply'
  | 'insertCredentials'
  | 'replaceCredentials'
  | 'revokeSession'
  | 'setSessionGeneration'
  | 'openSession'
  | 'rotateRefresh'
  | 'endSession'
  | 'insertFeed'
  | 'deleteFeed'
  | 'insertDevice'
  | 'deleteDevice'
  | 'deleteAccount'
  | 'markAccountPurged'
>;
/** The registry as command handlers use it. */
export type RegistryAccess = Pick<
  Registry,
  'get' | 'lease' | 'compareAndSet' | 'acquire' | 'release'
>;

/** Reads that note the keys they depend on. */
export class TrackedRows implements RowReader {
  constructor(
    private readonly rows: RowReader,
    private readonly journal: DecisionJournal,
  ) {}

  user(username: Username): User | undefined {
    this.journal.read(KEYS.user(username));
    return this.rows.user(username);
  }

  passwordHash(username: Username): string | undefined {
    this.journal.read(KEYS.user(username));
    return this.rows.passwordHash(username);
  }

  existingUsers(usernames: readonly string[]): Set<Username> {
    for (const name of usernames) this.journal.read(KEYS.user(name));
    return this.rows.existingUsers(usernames);
  }

  group(name: string): GroupRecord | undefined {
    this.journal.read(KEYS.group(name));
    return this.rows.group(name);
  }

  groupsOf(username: Username): GroupRecord[] {
    this.journal.read(KEYS.memberships(username));
    const groups = this.rows.groupsOf(username);
    for (const g of groups) this.journal.read(KEYS.group(g.group.name));
    return groups;
  }

  groupsInviting(username: Username): GroupRecord[] {
    this.journal.read(KEYS.groupInvitations(username));
    const groups = this.rows.groupsInviting(username);
    for (const g of groups) this.journal.read(KEYS.group(g.group.name));
    return groups;
  }

  sessionGeneration(username: Username): number | undefined {
    this.journal.read(KEYS.user(username));
    return this.rows.sessionGeneration(username);
  }

  sessionRevoked(sid: string): boolean {
    this.journal.read(KEYS.session(sid));
    return this.rows.sessionRevoked(sid);
  }

  session(sid: string): SessionRow | undefined {
    this.journal.read(KEYS.refreshable(sid));
    return this.rows.session(sid);
  }

  liveSessionsOf(username: Username, now: Millis): SessionRow[] {
    this.journal.read(KEYS.sessions(username));
    return this.rows.liveSessionsOf(username, now);
  }

  feed(fid: string): FeedRow | undefined {
    this.journal.read(KEYS.feed(fid));
    return this.rows.feed(fid);
  }

  feedsOf(username: Username): FeedRow[] {
    this.journal.read(KEYS.feeds(username));
    return this.rows.feedsOf(username);
  }

  device(did: string): DeviceRow | undefined {
    this.journal.read(KEYS.device(did));
    return this.rows.device(did);
  }

  devicesOf(username: Username): DeviceRow[] {
    this.journal.read(KEYS.devices(username));
    return this.rows.devicesOf(username);
  }

  deviceWithPassword(username: Username, passwordHash: string): DeviceRow | undefined {
    this.journal.read(KEYS.devices(username));
    return this.rows.deviceWithPassword(username, passwordHash);
  }

  groupInvitationsWaiting(username: Username): number {
    this.journal.read(KEYS.groupInvitations(username));
    return this.rows.groupInvitationsWaiting(username);
  }

  groupInvitationsWaitingFrom(username: Username, inviter: Username): number {
    // The same key: any invitation to the user, from anyone, changes both counts.
    this.journal.read(KEYS.groupInvitations(username));
    return this.rows.groupInvitationsWaitingFrom(username, inviter);
  }

  blocksGroup(group: string, username: Username): boolean {
    // A group's blocks are stamped with the group (see effects.ts).
    this.journal.read(KEYS.group(group));
    return this.rows.blocksGroup(group, username);
  }

  event(id: string): EventRecord | undefined {
    this.journal.read(KEYS.event(id));
    return this.rows.event(id);
  }

  eventExists(id: string): boolean {
    this.journal.read(KEYS.event(id));
    return this.rows.eventExists(id);
  }

  eventsAttending(
    people: readonly Username[],
    window: Interval,
    attendance: Attendance,
  ): EventRecord[] {
    for (const person of people) this.journal.read(KEYS.agenda(person));
    return this.rows.eventsAttending(people, window, attendance);
  }

  listing(username: Username, window: Interval): ListingEntry[] {
    this.journal.read(KEYS.agenda(username));
    return this.rows.listing(username, window);
  }

  agendaCommitments(
    targets: readonly Username[],
    viewer: Username,
    window: Interval,
  ): AgendaCommitment[] {
    // The viewer's attendance is read too: it is in the viewer's agenda.
    for (const person of [...targets, viewer]) this.journal.read(KEYS.agenda(person));
    return this.rows.agendaCommitments(targets, viewer, window);
  }

  events(ids: Iterable<EventId>): Map<EventId, CalendarEvent> {
    const wanted = [...ids];
    for (const id of wanted) this.journal.read(KEYS.event(id));
    return this.rows.events(wanted);
  }

  commitments(username: Username, windows: readonly Interval[]): CommittedEvent[] {
    this.journal.read(KEYS.agenda(username));
    return this.rows.commitments(username, windows);
  }

  eventsImportedAs(organizer: Username, uids: readonly string[]): Map<string, EventRecord> {
    // Only the organizer's own events are looked at, and they are all in their agenda.
    this.journal.read(KEYS.agenda(organizer));
    return this.rows.eventsImportedAs(organizer, uids);
  }

  pendingInvitationsPage(
    username: Username,
    now: Millis,
    after: { readonly start: Millis; readonly eventId: string } | null,
    limit: number,
  ): EventRecord[] {
    this.journal.read(KEYS.agenda(username));
    return this.rows.pendingInvitationsPage(username, now, after, limit);
  }

  groupEvents(group: string, now: Millis): EventRecord[] {
    this.journal.read(KEYS.groupEvents(group));
    const records = this.rows.groupEvents(group, now);
    for (const r of records) this.journal.read(KEYS.event(r.event.id));
    return records;
  }

  attendance(username: Username, limit: number): EventId[] {
    this.journal.read(KEYS.agenda(username));
    return this.rows.attendance(username, limit);
  }

  sessionIdsOf(username: Username, limit: number): string[] {
    this.journal.read(KEYS.sessions(username));
    return this.rows.sessionIdsOf(username, limit);
  }

  groupNamesOf(username: Username, limit: number): string[] {
    this.journal.read(KEYS.memberships(username));
    return this.rows.groupNamesOf(username, limit);
  }

  blockedGroupsOf(username: Username, limit: number): string[] {
    // See effects.ts: a deleted user's blocks are covered by their groups' keys.
    const groups = this.rows.blockedGroupsOf(username, limit);
    for (const g of groups) this.journal.read(KEYS.group(g));
    return groups;
  }

  groupEventsPage(group: string, now: Millis, limit: number): EventRecord[] {
    this.journal.read(KEYS.groupEvents(group));
    const records = this.rows.groupEventsPage(group, now, limit);
    for (const r of records) this.journal.read(KEYS.event(r.event.id));
    return records;
  }

  liveEventsDetachedFrom(series: EventId, organizer: Username, limit: number): EventRecord[] {
    // Only the organizer's own events are looked at, and they are all in their agenda:
    // detaching an occurrence, or changing or cancelling what it became, stamps it.
    this.journal.read(KEYS.agenda(organizer));
    const records = this.rows.liveEventsDetachedFrom(series, organizer, limit);
    for (const r of records) this.journal.read(KEYS.event(r.event.id));
    return records;
  }

  liveDetachedCount(series: EventId, organizer: Username): number {
    // As liveEventsDetachedFrom: every change to how many there are stamps this agenda.
    this.journal.read(KEYS.agenda(organizer));
    return this.rows.liveDetachedCount(series, organizer);
  }

  liveEventDetachedAt(
    series: EventId,
    organizer: Username,
    occurrenceStart: Millis,
  ): EventId | undefined {
    this.journal.read(KEYS.agenda(organizer));
    const id = this.rows.liveEventDetachedAt(series, organizer, occurrenceStart);
    if (id !== undefined) this.journal.read(KEYS.event(id));
    return id;
  }

  liveEventsDetachedAnsweredWith(
    series: EventId,
    username: Username,
    status: AttendeeStatus,
    limit: number,
  ): EventRecord[] {
    // Only events the user attends are looked at, and they are all in their agenda:
    // detaching an occurrence gives them a row there, and changing or cancelling what it
    // became, or their answer to it, stamps it.
    this.journal.read(KEYS.agenda(username));
    const records = this.rows.liveEventsDetachedAnsweredWith(series, username, status, limit);
    for (const r of records) this.journal.read(KEYS.event(r.event.id));
    return records;
  }

  accountDeletion(username: Username): AccountDeletionRow | undefined {
    this.journal.read(KEYS.user(username));
    return this.rows.accountDeletion(username);
  }

  accountsBeingPurged(limit: number): Username[] {
    // Read by queries only (which keep no journal); a decision reading it depends on every
    // deleted account's key, which is not worth naming: none does.
    return this.rows.accountsBeingPurged(limit);
  }
}

/**
 * Writes that go to SQLite (inside the decision's savepoint) and are noted as row writes.
 * An event's attendees, for the agendas a change of the event stamps, are read as the
 * decision sees them: its record was read (so `event/<id>` is a precondition), and
 * attendees the decision adds are in SQLite already.
 */
export class RecordedWrites implements RowWriter {
  constructor(
    private readonly writes: RowWriter,
    private readonly rows: RowReader,
    private readonly journal: DecisionJournal,
  ) {}

  apply(mutations: readonly Mutation[]): void {
    for (const mutation of mutations) {
      // A deleted event's attendees are known only before it goes.
      const before =
        mutation.kind === 'deleteEvent'
          ? stampsOf(mutation, (id) => this.rows.event(id)?.attendees ?? [])
          : undefined;
      this.writes.apply([mutation]);
      const stamps =
        before ??
        stampsOf(mutation, (id) =>
          // An event just inserted has no attendees yet: an id is fresh (the store checks it
          // is unused), a deleted event's attendee rows went with it, and an attendee row is
          // only ever written by selecting its event's row (calendar-writes.ts). Not reading
          // it back saves a load per event an import creates.
          mutation.kind === 'insertEvent' ? [] : (this.rows.event(id)?.attendees ?? []),
        );
      if (mutation.kind === 'insertEvent' || mutation.kind === 'updateEvent') {
        this.journal.wrote(
          { kind: mutation.kind, event: mutation.event, bounds: timeBounds(mutation.event) },
          stamps,
        );
      } else {
        this.journal.wrote(mutation, stamps);
      }
    }
  }

  insertCredentials(username: Username, passwordHash: string): void {
    this.writes.insertCredentials(username, passwordHash);
    this.journal.wrote({ kind: 'insertCredentials', username, passwordHash }, [
      KEYS.user(username),
    ]);
  }

  replaceCredentials(username: Username, passwordHash: string): void {
    this.writes.replaceCredentials(username, passwordHash);
    this.journal.wrote({ kind: 'replaceCredentials', username, passwordHash }, [
      KEYS.user(username),
    ]);
  }

  revokeSession(sid: string, username: Username, expiresAt: Millis, now: Millis): void {
    this.writes.revokeSession(sid, username, expiresAt, now);
    this.journal.wrote({ kind: 'revokeSession', sid, username, expiresAt, now }, [
      KEYS.session(sid),
    ]);
  }

  setSessionGeneration(username: Username, generation: number): void {
    this.writes.setSessionGeneration(username, generation);
    this.journal.wrote({ kind: 'setSessionGeneration', username, generation }, [
      KEYS.user(username),
    ]);
  }

  openSession(session: SessionRow, now: Millis): void {
    this.writes.openSession(session, now);
    this.journal.wrote({ kind: 'openSession', session, now }, [
      KEYS.refreshable(session.sid),
      KEYS.sessions(session.username),
    ]);
  }

  rotateRefresh(sid: string, seq: number, rotatedAt: Millis): void {
    this.writes.rotateRefresh(sid, seq, rotatedAt);
    this.journal.wrote({ kind: 'rotateRefresh', sid, seq, rotatedAt }, [KEYS.refreshable(sid)]);
  }

  endSession(sid: string): void {
    // The owner's list changes too: the decision read the session, so it knows whose it is.
    const owner = this.rows.session(sid)?.username;
    this.writes.endSession(sid);
    this.journal.wrote({ kind: 'endSession', sid }, [
      KEYS.refreshable(sid),
      ...(owner === undefined ? [] : [KEYS.sessions(owner)]),
    ]);
  }

  deleteAccount(username: Username, deletedAt: Millis): void {
    this.writes.deleteAccount(username, deletedAt);
    this.journal.wrote({ kind: 'deleteAccount', username, deletedAt }, [KEYS.user(username)]);
  }

  markAccountPurged(username: Username, purgedAt: Millis): void {
    this.writes.markAccountPurged(username, purgedAt);
    this.journal.wrote({ kind: 'markAccountPurged', username, purgedAt }, [KEYS.user(username)]);
  }

  insertFeed(feed: FeedRow): void {
    this.writes.insertFeed(feed);
    this.journal.wrote({ kind: 'insertFeed', feed }, [
      KEYS.feed(feed.fid),
      KEYS.feeds(feed.username),
    ]);
  }

  deleteFeed(fid: string): void {
    // The owner's list changes too: the decision read the feed, so it knows whose it is.
    const owner = this.rows.feed(fid)?.username;
    this.writes.deleteFeed(fid);
    this.journal.wrote({ kind: 'deleteFeed', fid }, [
      KEYS.feed(fid),
      ...(owner === undefined ? [] : [KEYS.feeds(owner)]),
    ]);
  }

  insertDevice(device: DeviceRow): void {
    this.writes.insertDevice(device);
    this.journal.wrote({ kind: 'insertDevice', device }, [
      KEYS.device(device.did),
      KEYS.devices(device.username),
    ]);
  }

  deleteDevice(did: string): void {
    // The owner's list changes too: the decision read the device, so it knows whose it is.
    const owner = this.rows.device(did)?.username;
    this.writes.deleteDevice(did);
    this.journal.wrote({ kind: 'deleteDevice', did }, [
      KEYS.device(did),
      ...(owner === undefined ? [] : [KEYS.devices(owner)]),
    ]);
  }
}

/** The registry, its reads and writes noted (a write is known from the method's result). */
export class TrackedRegistry implements RegistryAccess {
  constructor(
    private readonly registry: RegistryAccess,
    private readonly journal: DecisionJournal,
  ) {}

  get(key: string): RegistryEntry | null {
    this.journal.read(KEYS.registry(key));
    return this.registry.get(key);
  }

  lease(name: string, now: number): LeaseView | null {
    this.journal.read(KEYS.lease(name));
    return this.registry.lease(name, now);
  }

  compareAndSet(command: CommandOf<'registry.cas'>, now: number): CasResult {
    this.journal.read(KEYS.registry(command.key));
    const result = this.registry.compareAndSet(command, now);
    if (result.applied) {
      const { key, value, epoch } = result.entry;
      this.journal.wrote({ kind: 'putRegistry', key, value, epoch, updatedAt: now }, [
        KEYS.registry(key),
      ]);
    }
    return result;
  }

  acquire(command: CommandOf<'lease.acquire'>, now: number): LeaseAcquireResult {
    this.journal.read(KEYS.lease(command.name));
    const result = this.registry.acquire(command, now);
    if (result.acquired) this.wroteLease(result.lease);
    return result;
  }

  release(command: CommandOf<'lease.release'>, now: number): LeaseReleaseResult {
    this.journal.read(KEYS.lease(command.name));
    const result = this.registry.release(command, now);
    if (result.released && result.lease !== null) this.wroteLease(result.lease);
    return result;
  }

  private wroteLease(lease: LeaseView): void {
    const { name, holder, epoch, expiresAt } = lease;
    this.journal.wrote({ kind: 'putLease', name, holder, epoch, expiresAt }, [KEYS.lease(name)]);
  }
}
