/**
 * Applying: the domain's mutations, verbatim and in order, with prepared statements. This
 * is the only code that writes calendar rows, so it is the one place that keeps the
 * attendee rows' copies of their event's time bounds in step with the event.
 */
import { seriesEnd } from '../domain/index.js';
import type {
  Attendee,
  CalendarEvent,
  Group,
  Membership,
  Millis,
  Mutation,
  User,
  Username,
} from '../domain/index.js';
import { ENDLESS, LONG_SPAN, SHORT_SPAN, SHORT_SPAN_MAX_MS } from './schema.js';
import type { PreparedStatement, StatementSet } from './statements.js';
import type { DeviceRow, FeedRow, SessionRow } from './calendar-rows.js';
import { DavRemovals, type AppliedEntry } from './dav-sync.js';

/** Where an event sits in the time indexes. */
export interface TimeBounds {
  readonly seriesEnd: number;
  readonly spanClass: number;
}

export function timeBounds(event: CalendarEvent): TimeBounds {
  const end = seriesEnd(event);
  return {
    seriesEnd: Number.isFinite(end) ? end : ENDLESS,
    // Only events that surely end within SHORT_SPAN_MAX_MS of their start may be found by
    // start; anything else is looked up by its series end.
    spanClass:
      event.recurrence === null && end - event.start <= SHORT_SPAN_MAX_MS ? SHORT_SPAN : LONG_SPAN,
  };
}

function eventParams(event: CalendarEvent, bounds: TimeBounds): (string | number | null)[] {
  return [
    event.title,
    event.start,
    event.end,
    bounds.seriesEnd,
    bounds.spanClass,
    event.timeZone,
    event.description,
    event.location,
    event.visibility,
    event.recurrence === null ? null : JSON.stringify(event.recurrence),
    event.organizer,
    event.group?.name ?? null,
    event.group?.kind ?? null,
    event.status,
    event.createdAt,
    event.updatedAt,
    event.revision,
    event.uid ?? null,
    event.reminders === undefined || event.reminders.length === 0
      ? null
      : JSON.stringify(event.reminders),
    event.detachedFrom === undefined ? null : JSON.stringify(event.detachedFrom),
    event.transparent === true ? 1 : 0,
    event.importedVersion?.sequence ?? null,
    event.importedVersion?.stamp ?? null,
    event.id,
  ];
}

/** Expired revocations forgotten by each new one (see `revokeSession`). */
const PRUNED_PER_REVOCATION = 16;
/** Expired sessions forgotten by each new one (see `openSession`): more than logins expire. */
const PRUNED_PER_SESSION = 4;

/** The calendar's writes, over one connection's prepared statements. */
export class CalendarWrites {
  private readonly insertUserRow: PreparedStatement;
  private readonly insertCredentialsRow: PreparedStatement;
  private readonly replaceCredentialsRow: PreparedStatement;
  private readonly revokeSessionRow: PreparedStatement;
  private readonly pruneRevocations: PreparedStatement;
  private readonly setSessionGenerationRow: PreparedStatement;
  private readonly insertSessionRow: PreparedStatement;
  private readonly pruneSessions: PreparedStatement;
  private readonly rotateRefreshRow: PreparedStatement;
  private readonly deleteSessionRow: PreparedStatement;
  private readonly insertFeedRow: PreparedStatement;
  private readonly deleteFeedRow: PreparedStatement;
  private readonly insertDeviceRow: PreparedStatement;
  private readonly deleteDeviceRow: PreparedStatement;
  private readonly insertGroupRow: PreparedStatement;
  private readonly updateGroupRow: PreparedStatement;
  private readonly deleteGroupRow: PreparedStatement;
  private readonly putMembershipRow: PreparedStatement;
  private readonly deleteMembershipRow: PreparedStatement;
  private readonly putInvitationRow: PreparedStatement;
  private readonly deleteInvitationRow: PreparedStatement;
  private readonly putBlockRow: PreparedStatement;
  private readonly deleteBlockRow: PreparedStatement;
  private readonly deleteBlocksOfGroup: PreparedStatement;
  private readonly insertEventRow: PreparedStatement;
  private readonly updateEventRow: PreparedStatement;
  private readonly retimeAttendeeRows: PreparedStatement;
  private readonly putAttendeeRow: PreparedStatement;
  private readonly deleteAttendeeRow: PreparedStatement;
  private readonly deleteAttendeesOfEvent: PreparedStatement;
  private readonly deleteEventRow: PreparedStatement;
  private readonly deleteUserRow: PreparedStatement;
  private readonly deleteCredentialsRow: PreparedStatement;
  private readonly insertDeletedUserRow: PreparedStatement;
  private readonly markPurgedRow: PreparedStatement;
  private readonly removals: DavRemovals;

  constructor(statements: StatementSet) {
    this.insertUserRow = statements.prepare(
      'INSERT INTO users (username, display_name) VALUES (?, ?)',
    );
    this.insertCredentialsRow = statements.prepare(
      'INSERT INTO credentials (username, password_hash) VALUES (?, ?)',
    );
    this.replaceCredentialsRow = statements.prepare(
      'UPDATE credentials SET password_hash = ? WHERE username = ?',
    );
    this.revokeSessionRow = statements.prepare(
      'INSERT OR IGNORE INTO revoked_sessions (sid, username, expires_at) VALUES (?, ?, ?)',
    );
    // A bounded number per revocation, so pruning stays O(entry) however many expired.
    this.pruneRevocations = statements.prepare(
      `DELETE FROM revoked_sessions WHERE sid IN (
         SELECT sid FROM revoked_sessions WHERE expires_at < ? ORDER BY expires_at, sid LIMIT ${PRUNED_PER_REVOCATION})`,
    );
    this.setSessionGenerationRow = statements.prepare(
      'UPDATE users SET session_gen = ? WHERE username = ?',
    );
    this.insertSessionRow = statements.prepare(
      `INSERT INTO sessions (sid, username, refresh_seq, rotated_at, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    // Bounded per login, as revocations are per logout: O(entry) however many expired.
    this.pruneSessions = statements.prepare(
      `DELETE FROM sessions WHERE sid IN (
         SELECT sid FROM sessions WHERE expires_at < ? ORDER BY expires_at, sid LIMIT ${PRUNED_PER_SESSION})`,
    );
    this.rotateRefreshRow = statements.prepare(
      'UPDATE sessions SET refresh_seq = ?, rotated_at = ? WHERE sid = ?',
    );
    this.deleteSessionRow = statements.prepare('DELETE FROM sessions WHERE sid = ?');
    this.insertFeedRow = statements.prepare(
      `INSERT INTO feeds (fid, username, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
    );
    this.deleteFeedRow = statements.prepare('DELETE FROM feeds WHERE fid = ?');
    this.insertDeviceRow = statements.prepare(
      `INSERT INTO devices (did, username, label, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
    );
    this.deleteDeviceRow = statements.prepare('DELETE FROM devices WHERE did = ?');
    this.insertGroupRow = statements.prepare(
      'INSERT INTO groups (name, kind, owner) VALUES (?, ?, ?)',
    );
    this.updateGroupRow = statements.prepare(
      'UPDATE groups SET kind = ?, owner = ? WHERE name = ?',
    );
    this.deleteGroupRow = statements.prepare('DELETE FROM groups WHERE name = ?');
    this.putMembershipRow = statements.prepare(
      `INSERT INTO members (group_name, username, level) VALUES (?, ?, ?)
       ON CONFLICT (group_name, username) DO UPDATE SET level = excluded.level`,
    );
    this.deleteMembershipRow = statements.prepare(
      'DELETE FROM members WHERE group_name = ? AND username = ?',
    );
    this.putInvitationRow = statements.prepare(
      `INSERT INTO group_invitations (group_name, username, level, invited_by, invited_at)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (group_name, username) DO UPDATE SET level = excluded.level,
         invited_by = excluded.invited_by, invited_at = excluded.invited_at`,
    );
    this.deleteInvitationRow = statements.prepare(
      'DELETE FROM group_invitations WHERE group_name = ? AND username = ?',
    );
    this.putBlockRow = statements.prepare(
      'INSERT INTO group_blocks (group_name, username) VALUES (?, ?)',
    );
    this.deleteBlockRow = statements.prepare(
      'DELETE FROM group_blocks WHERE group_name = ? AND username = ?',
    );
    this.deleteBlocksOfGroup = statements.prepare('DELETE FROM group_blocks WHERE group_name = ?');
    this.insertEventRow = statements.prepare(
      `INSERT INTO events (title, start_at, end_at, series_end, span_class, time_zone,
         description, location, visibility, recurrence, organizer, group_name, group_kind,
         status, created_at, updated_at, revision, uid, reminders, detached_from, transparent,
         imported_sequence, imported_stamp, id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.updateEventRow = statements.prepare(
      `UPDATE events SET title = ?, start_at = ?, end_at = ?, series_end = ?, span_class = ?,
         time_zone = ?, description = ?, location = ?, visibility = ?, recurrence = ?,
         organizer = ?, group_name = ?, group_kind = ?, status = ?, created_at = ?,
         updated_at = ?, revision = ?, uid = ?, reminders = ?, detached_from = ?,
         transparent = ?, imported_sequence = ?, imported_stamp = ?
       WHERE id = ?`,
    );
    // Touches only rows whose copy is stale, so a change of title rewrites no index entry.
    this.retimeAttendeeRows = statements.prepare(
      `UPDATE attendees SET start_at = ?1, series_end = ?2, span_class = ?3
        WHERE event_id = ?4
          AND (start_at <> ?1 OR series_end <> ?2 OR span_class <> ?3)`,
    );
    // The time bounds come from the event row, so an attendee can only join an event that exists.
    this.putAttendeeRow = statements.prepare(
      // mod_index -1: written by this entry, for the stamp of its event to set (key-versions.ts).
      `INSERT INTO attendees
         (event_id, username, status, role, own_answer, start_at, series_end, span_class, mod_index)
       SELECT id, ?, ?, ?, ?, start_at, series_end, span_class, -1 FROM events WHERE id = ?
       ON CONFLICT (event_id, username) DO UPDATE
         SET status = excluded.status, role = excluded.role, own_answer = excluded.own_answer,
             mod_index = -1`,
    );
    this.deleteAttendeeRow = statements.prepare(
      'DELETE FROM attendees WHERE event_id = ? AND username = ?',
    );
    this.deleteAttendeesOfEvent = statements.prepare('DELETE FROM attendees WHERE event_id = ?');
    this.deleteEventRow = statements.prepare('DELETE FROM events WHERE id = ?');
    this.deleteUserRow = statements.prepare('DELETE FROM users WHERE username = ?');
    this.deleteCredentialsRow = statements.prepare('DELETE FROM credentials WHERE username = ?');
    this.insertDeletedUserRow = statements.prepare(
      'INSERT INTO deleted_users (username, deleted_at, purged_at) VALUES (?, ?, NULL)',
    );
    this.markPurgedRow = statements.prepare(
      'UPDATE deleted_users SET purged_at = ? WHERE username = ? AND purged_at IS NULL',
    );
    this.removals = new DavRemovals(statements);
  }

  /**
   * Applies a decision's mutations in order. Applied for a log `entry`, removals from a
   * calendar leave their tombstones for CalDAV sync (dav-sync.ts); a decision, whose writes
   * are rolled back, passes none.
   */
  apply(mutations: readonly Mutation[], entry?: AppliedEntry): void {
    for (const mutation of mutations) this.applyOne(mutation, entry);
  }

  /** Replaces a registered user's hash (a login upgrading it to the current cost). */
  replaceCredentials(username: Username, passwordHash: string): void {
    this.replaceCredentialsRow.runOne(
      [passwordHash, username],
      `replacing the credentials of ${username}`,
    );
  }

  /**
   * Logs a session out until `expiresAt`, when its last token expires (and the revocation may
   * be forgotten): forgets a few revocations that expired before `now` on the way.
   */
  revokeSession(sid: string, username: Username, expiresAt: Millis, now: Millis): void {
    this.revokeSessionRow.run([sid, username, expiresAt]);
    this.pruneRevocations.run([now]);
  }

  /** Sets the user's session generation: tokens naming an older one are refused. */
  setSessionGeneration(username: Username, generation: number): void {
    this.setSessionGenerationRow.runOne(
      [generation, username],
      `ending the sessions of ${username}`,
    );
  }

  /** Opens a refreshable session; forgets a few sessions that expired before `now` on the way. */
  openSession(session: SessionRow, now: Millis): void {
    this.insertSessionRow.runOne(
      [
        session.sid,
        session.username,
        session.refreshSeq,
        session.rotatedAt,
        session.createdAt,
        session.expiresAt,
      ],
      `opening session ${session.sid}`,
    );
    this.pruneSessions.run([now]);
  }

  /** Moves a session's rotation on: refresh token `seq`, issued at `rotatedAt`, is the one now. */
  rotateRefresh(sid: string, seq: number, rotatedAt: Millis): void {
    this.rotateRefreshRow.runOne([seq, rotatedAt, sid], `rotating the refresh token of ${sid}`);
  }

  /** Ends a session's refresh (a logout, a password change, a reused token, the cap). */
  endSession(sid: string): void {
    // Not runOne: an expired session may have been forgotten already.
    this.deleteSessionRow.run([sid]);
  }

  insertFeed(feed: FeedRow): void {
    this.insertFeedRow.runOne(
      [feed.fid, feed.username, feed.label, feed.createdAt, feed.expiresAt],
      `creating feed ${feed.fid}`,
    );
  }

  deleteFeed(fid: string): void {
    this.deleteFeedRow.runOne([fid], `revoking feed ${fid}`);
  }

  insertDevice(device: DeviceRow): void {
    this.insertDeviceRow.runOne(
      [device.did, device.username, device.label, device.passwordHash, device.createdAt],
      `adding device ${device.did}`,
    );
  }

  deleteDevice(did: string): void {
    this.deleteDeviceRow.runOne([did], `revoking device ${did}`);
  }

  /**
   * Deletes the account: the user row and the credentials go, the username stays retired
   * in `deleted_users` until, and after, the rest of its data is removed.
   */
  deleteAccount(username: Username, deletedAt: Millis): void {
    this.deleteUserRow.runOne([username], `deleting user ${username}`);
    this.deleteCredentialsRow.run([username]);
    this.insertDeletedUserRow.runOne([username, deletedAt], `retiring the username ${username}`);
  }

  /** Notes that the deleted account's data is all gone. */
  markAccountPurged(username: Username, purgedAt: Millis): void {
    this.markPurgedRow.runOne([purgedAt, username], `finishing the deletion of ${username}`);
  }

  /** Keeps the hash the users service computed, next to a user just inserted. */
  insertCredentials(username: Username, passwordHash: string): void {
    this.insertCredentialsRow.runOne(
      [username, passwordHash],
      `storing credentials of ${username}`,
    );
  }

  private applyOne(mutation: Mutation, entry: AppliedEntry | undefined): void {
    switch (mutation.kind) {
      case 'insertUser':
        return this.insertUser(mutation.user);
      case 'insertGroup':
        return this.insertGroup(mutation.group);
      case 'updateGroup':
        return this.updateGroup(mutation.group);
      case 'deleteGroup':
        // Its blocks go with it; its invitations were deleted by the decision, each stamping
        // its invitee's key (effects.ts).
        this.deleteBlocksOfGroup.run([mutation.group]);
        return this.deleteGroupRow.runOne([mutation.group], `deleting group ${mutation.group}`);
      case 'putGroupInvitation': {
        const i = mutation.invitation;
        return this.putInvitationRow.runOne(
          [i.group, i.username, i.level, i.invitedBy, i.invitedAt],
          `inviting ${i.username} to ${i.group}`,
        );
      }
      case 'deleteGroupInvitation':
        return this.deleteInvitationRow.runOne(
          [mutation.group, mutation.username],
          `withdrawing the invitation of ${mutation.username} to ${mutation.group}`,
        );
      case 'putGroupBlock':
        return this.putBlockRow.runOne(
          [mutation.group, mutation.username],
          `blocking invitations to ${mutation.group} for ${mutation.username}`,
        );
      case 'deleteGroupBlock':
        return this.deleteBlockRow.runOne(
          [mutation.group, mutation.username],
          `unblocking invitations to ${mutation.group} for ${mutation.username}`,
        );
      case 'putMembership':
        return this.putMembership(mutation.membership);
      case 'deleteMembership':
        return this.deleteMembershipRow.runOne(
          [mutation.group, mutation.username],
          `removing ${mutation.username} from ${mutation.group}`,
        );
      case 'insertEvent':
        return this.insertEvent(mutation.event);
      case 'updateEvent':
        return this.updateEvent(mutation.event);
      case 'putAttendee':
        return this.putAttendee(mutation.attendee);
      case 'deleteAttendee':
        if (entry !== undefined) {
          this.removals.attendeeRemoved(mutation.eventId, mutation.username, entry);
        }
        return this.deleteAttendeeRow.runOne(
          [mutation.eventId, mutation.username],
          `removing ${mutation.username} from event ${mutation.eventId}`,
        );
      case 'deleteEvent':
        // Its attendees first: no attendee row outlives its event (putAttendee needs one).
        if (entry !== undefined) this.removals.eventRemoved(mutation.eventId, entry);
        this.deleteAttendeesOfEvent.run([mutation.eventId]);
        return this.deleteEventRow.runOne([mutation.eventId], `deleting event ${mutation.eventId}`);
    }
  }

  private insertUser(user: User): void {
    this.insertUserRow.runOne([user.username, user.displayName], `inserting user ${user.username}`);
  }

  private insertGroup(group: Group): void {
    this.insertGroupRow.runOne(
      [group.name, group.kind, group.owner],
      `inserting group ${group.name}`,
    );
  }

  private updateGroup(group: Group): void {
    this.updateGroupRow.runOne(
      [group.kind, group.owner, group.name],
      `updating group ${group.name}`,
    );
  }

  private putMembership(membership: Membership): void {
    this.putMembershipRow.runOne(
      [membership.group, membership.username, membership.level],
      `adding ${membership.username} to ${membership.group}`,
    );
  }

  /**
   * Writes an event row with time bounds computed when it was decided: applying an effect
   * expands no recurrence (see effects.ts).
   */
  putEvent(kind: 'insertEvent' | 'updateEvent', event: CalendarEvent, bounds: TimeBounds): void {
    if (kind === 'insertEvent') this.insertEvent(event, bounds);
    else this.updateEvent(event, bounds);
  }

  private insertEvent(event: CalendarEvent, bounds = timeBounds(event)): void {
    this.insertEventRow.runOne(eventParams(event, bounds), `inserting event ${event.id}`);
  }

  private updateEvent(event: CalendarEvent, bounds = timeBounds(event)): void {
    this.updateEventRow.runOne(eventParams(event, bounds), `updating event ${event.id}`);
    this.retimeAttendeeRows.run([event.start, bounds.seriesEnd, bounds.spanClass, event.id]);
  }

  private putAttendee(attendee: Attendee): void {
    this.putAttendeeRow.runOne(
      [
        attendee.username,
        attendee.status,
        attendee.role,
        attendee.ownAnswer === true ? 1 : 0,
        attendee.eventId,
      ],
      `adding ${attendee.username} to event ${attendee.eventId}`,
    );
  }
}
