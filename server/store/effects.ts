/**
 * Decide once, apply cheaply: what replicates is a command's **effect**, not the command.
 *
 * The leader's store decides a command once — the calendar rules, conflict checks,
 * recurrence expansion, all of it — against its applied state, inside a savepoint it rolls
 * back. What it saw and what it would write are recorded in a {@link DecisionJournal}; the
 * {@link Effect} built from it goes through the Raft log, and every member (the leader too)
 * applies it: check the preconditions, write the rows, stamp the keys, remember the
 * outcome. No member runs calendar logic in apply, so apply costs O(size of the entry).
 *
 * **Preconditions.** Every read a decision makes names one or more keys ({@link KEYS}): a
 * user, a person's agenda, a group, a group's events, an event, a registry key, a lease.
 * Every write stamps the keys whose reads it changes with the log index of the entry that
 * wrote it (`key_versions`). An effect carries the applied index it was decided at
 * (`basis`) and the keys it read; it applies only if none of them was stamped after
 * `basis`, i.e. only if the state it was decided on is, as far as it looked, the state it
 * applies to. Otherwise it is refused as `stale` — deterministically, on every member — and
 * the leader decides the command again. This is optimistic concurrency control with the
 * log as the serial order: each applied effect is exactly what deciding the command at its
 * place in the log would have produced.
 *
 * Why the keys suffice (what each read depends on, and what stamps it):
 * - `user/<u>` — the user row (its session generation too) and credentials, and whether the
 *   name is retired and the deleted account's data all gone: stamped by registering `u`, by
 *   replacing `u`'s password hash, by ending `u`'s sessions, by deleting the account and by
 *   finishing its removal.
 * - `session/<sid>` — whether a session was logged out: stamped by logging it out, and by
 *   ending it on the reuse of a rotated refresh token.
 * - `refreshable/<sid>` — a refreshable session's row (whether it exists, its place in the
 *   rotation): stamped by opening, rotating and ending it. `sessions/<u>` — the user's
 *   sessions: stamped by opening or ending any of them. Expired sessions forgotten on the
 *   way stamp nothing: no decision counts or renews an expired session.
 * - `feed/<fid>` — a calendar feed; `feeds/<u>` — the user's feeds: both stamped by
 *   creating or revoking one.
 * - `device/<did>` — a device's app password; `devices/<u>` — the user's devices (and so
 *   which of them an app password opens): both stamped by adding or revoking one.
 * - `agenda/<u>` — every event `u` attends, with its times and attendees (and so `u`'s
 *   commitments, invitations and events by UID): stamped by any attendee row of `u`
 *   written or removed, and by every change to an event `u` attends.
 * - `memberships/<u>` — the groups `u` belongs to: stamped by `u`'s membership rows.
 * - `group/<g>` — the group row, its members, its pending invitations and who blocks its
 *   invitations: stamped by any change to any of them.
 * - `group-invitations/<u>` — the groups inviting `u`: stamped by `u`'s invitation rows.
 * - `group-events/<g>` — which events belong to group `g`: stamped by inserting or
 *   changing an event of `g` (their attendees are covered by `event/<id>`).
 * - `event/<id>` — the event row and its attendees (and whether the id is taken): stamped by
 *   any change to either.
 * - A deleted user's group blocks are read group by group (`group/<g>`): nothing adds one
 *   once the account is gone, and what removes one stamps its group.
 * - `registry/<key>`, `lease/<name>` — those rows.
 */
import { z } from 'zod';
import type { Attendee, CalendarEvent, Mutation, Notification } from '../domain/index.js';
import { InvalidInput } from '../../contract/errors.js';
import type { WireError } from '../../contract/errors.js';
import type { TimeBounds } from './calendar-writes.js';
import type { DeviceRow, FeedRow, SessionRow } from './calendar-rows.js';
import { MAX_ID_LENGTH } from './protocol.js';

/** The keys reads depend on and writes stamp; see the module comment. */
export const KEYS = {
  user: (username: string) => `user/${username}`,
  agenda: (username: string) => `agenda/${username}`,
  memberships: (username: string) => `memberships/${username}`,
  group: (name: string) => `group/${name}`,
  groupInvitations: (username: string) => `group-invitations/${username}`,
  session: (sid: string) => `session/${sid}`,
  refreshable: (sid: string) => `refreshable/${sid}`,
  sessions: (username: string) => `sessions/${username}`,
  feed: (fid: string) => `feed/${fid}`,
  feeds: (username: string) => `feeds/${username}`,
  device: (did: string) => `device/${did}`,
  devices: (username: string) => `devices/${username}`,
  groupEvents: (name: string) => `group-events/${name}`,
  event: (id: string) => `event/${id}`,
  registry: (key: string) => `registry/${key}`,
  lease: (name: string) => `lease/${name}`,
} as const;

/**
 * A row change as it replicates: a domain mutation, with what its apply would otherwise
 * have to compute (an event's time bounds expand its recurrence) computed at decision time,
 * and the rows the domain does not know of (credentials, registry, leases).
 */
export type RowWrite =
  | Exclude<Mutation, { kind: 'insertEvent' | 'updateEvent' }>
  | {
      readonly kind: 'insertEvent' | 'updateEvent';
      readonly event: CalendarEvent;
      readonly bounds: TimeBounds;
    }
  | {
      readonly kind: 'insertCredentials' | 'replaceCredentials';
      readonly username: string;
      readonly passwordHash: string;
    }
  | {
      readonly kind: 'revokeSession';
      readonly sid: string;
      readonly username: string;
      readonly expiresAt: number;
      /** Revocations that expired before this are forgotten (a few at a time). */
      readonly now: number;
    }
  | {
      readonly kind: 'setSessionGeneration';
      readonly username: string;
      readonly generation: number;
    }
  | {
      readonly kind: 'openSession';
      readonly session: SessionRow;
      /** Sessions that expired before this are forgotten (a few at a time). */
      readonly now: number;
    }
  | {
      readonly kind: 'rotateRefresh';
      readonly sid: string;
      readonly seq: number;
      readonly rotatedAt: number;
    }
  | { readonly kind: 'endSession'; readonly sid: string }
  | { readonly kind: 'insertFeed'; readonly feed: FeedRow }
  | { readonly kind: 'deleteFeed'; readonly fid: string }
  | { readonly kind: 'insertDevice'; readonly device: DeviceRow }
  | { readonly kind: 'deleteDevice'; readonly did: string }
  | { readonly kind: 'deleteAccount'; readonly username: string; readonly deletedAt: number }
  | { readonly kind: 'markAccountPurged'; readonly username: string; readonly purgedAt: number }
  | {
      readonly kind: 'putRegistry';
      readonly key: string;
      readonly value: string;
      readonly epoch: number;
      readonly updatedAt: number;
    }
  | {
      readonly kind: 'putLease';
      readonly name: string;
      readonly holder: string | null;
      readonly epoch: number;
      readonly expiresAt: number;
    };

/** A command's outcome as the caller will see it (before it is known to be a replay). */
export type Outcome =
  | { readonly ok: true; readonly result: unknown; readonly notifications: readonly unknown[] }
  | { readonly ok: false; readonly error: WireError };

/** Version of the effect entries in the log (commands written by older code are version 1). */
export const EFFECT_VERSION = 2;

/** What a decided command becomes in the log; see the module comment. */
export interface Effect {
  readonly v: typeof EFFECT_VERSION;
  readonly requestId: string;
  /** Of the command (who asks what), so a request id reused for another command is refused. */
  readonly fingerprint: string;
  /** The store's clock when it was decided: `max(at, every earlier at)`. */
  readonly at: number;
  /** The applied index of the state it was decided on. */
  readonly basis: number;
  /** Keys the decision read: none may have been stamped after `basis`. */
  readonly reads: readonly string[];
  /** Keys the writes change. */
  readonly stamps: readonly string[];
  readonly writes: readonly RowWrite[];
  readonly outcome: Outcome;
}

/** What a decision looked at and would write, recorded while it runs. */
export class DecisionJournal {
  readonly reads = new Set<string>();
  readonly stamps = new Set<string>();
  readonly writes: RowWrite[] = [];

  read(key: string): void {
    this.reads.add(key);
  }

  wrote(write: RowWrite, stamps: Iterable<string>): void {
    this.writes.push(write);
    for (const key of stamps) this.stamps.add(key);
  }
}

/**
 * The keys a domain mutation stamps. `attendeesOf` gives the attendees an event has as the
 * decision sees it (for a change of the event, every attendee's agenda changes).
 */
export function stampsOf(
  mutation: Mutation,
  attendeesOf: (eventId: string) => readonly Pick<Attendee, 'username'>[],
): string[] {
  switch (mutation.kind) {
    case 'insertUser':
      return [KEYS.user(mutation.user.username)];
    case 'insertGroup':
    case 'updateGroup':
      return [KEYS.group(mutation.group.name)];
    case 'deleteGroup':
      return [KEYS.group(mutation.group), KEYS.groupEvents(mutation.group)];
    case 'putMembership':
      return [
        KEYS.group(mutation.membership.group),
        KEYS.memberships(mutation.membership.username),
      ];
    case 'deleteMembership':
      return [KEYS.group(mutation.group), KEYS.memberships(mutation.username)];
    case 'putGroupInvitation':
      return [
        KEYS.group(mutation.invitation.group),
        KEYS.groupInvitations(mutation.invitation.username),
      ];
    case 'deleteGroupInvitation':
      return [KEYS.group(mutation.group), KEYS.groupInvitations(mutation.username)];
    case 'putGroupBlock':
    case 'deleteGroupBlock':
      return [KEYS.group(mutation.group)];
    case 'insertEvent':
    case 'updateEvent': {
      const { event } = mutation;
      return [
        KEYS.event(event.id),
        ...(event.group === null ? [] : [KEYS.groupEvents(event.group.name)]),
        KEYS.agenda(event.organizer),
        ...attendeesOf(event.id).map((a) => KEYS.agenda(a.username)),
      ];
    }
    case 'putAttendee':
      return [KEYS.event(mutation.attendee.eventId), KEYS.agenda(mutation.attendee.username)];
    case 'deleteAttendee':
      return [KEYS.event(mutation.eventId), KEYS.agenda(mutation.username)];
    case 'deleteEvent':
      // The attendees as they were before it went (RecordedWrites asks before deleting).
      return [
        KEYS.event(mutation.eventId),
        ...(mutation.group === null ? [] : [KEYS.groupEvents(mutation.group)]),
        ...attendeesOf(mutation.eventId).map((a) => KEYS.agenda(a.username)),
      ];
  }
}

/** The notifications of an outcome, typed (they were written from the domain's). */
export function notificationsOf(outcome: Outcome): readonly Notification[] {
  return outcome.ok ? (outcome.notifications as readonly Notification[]) : [];
}

const WRITE_KINDS = [
  'insertUser',
  'insertGroup',
  'updateGroup',
  'deleteGroup',
  'putMembership',
  'deleteMembership',
  'putGroupInvitation',
  'deleteGroupInvitation',
  'putGroupBlock',
  'deleteGroupBlock',
  'insertEvent',
  'updateEvent',
  'putAttendee',
  'deleteAttendee',
  'deleteEvent',
  'insertCredentials',
  'replaceCredentials',
  'revokeSession',
  'setSessionGeneration',
  'openSession',
  'rotateRefresh',
  'endSession',
  'insertFeed',
  'deleteFeed',
  'insertDevice',
  'deleteDevice',
  'deleteAccount',
  'markAccountPurged',
  'putRegistry',
  'putLease',
] as const satisfies readonly RowWrite['kind'][];

const key = z.string().min(1).max(2_000);

// The envelope is checked strictly; each write is checked for its kind, and its columns by
// SQLite's constraints when it is written (a malformed one is answered `internal`, the same
// way on every member).
const effectSchema = z.strictObject({
  v: z.literal(EFFECT_VERSION),
  requestId: z.string().min(1).max(MAX_ID_LENGTH),
  fingerprint: z.string().min(1).max(200),
  at: z.int().nonnegative(),
  basis: z.int().nonnegative(),
  reads: z.array(key),
  stamps: z.array(key),
  writes: z.array(z.looseObject({ kind: z.enum(WRITE_KINDS) })),
  outcome: z.union([
    z.looseObject({ ok: z.literal(true), notifications: z.array(z.unknown()) }),
    z.looseObject({ ok: z.literal(false), error: z.looseObject({ code: z.string() }) }),
  ]),
});

/**
 * An effect read from the log.
 * @throws InvalidInput naming what is malformed.
 */
export function parseEffect(value: unknown): Effect {
  const parsed = effectSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined ? '' : `${issue.path.join('.')}: `;
    throw new InvalidInput(`malformed effect: ${where}${issue?.message ?? 'invalid'}`, {
      cause: parsed.error,
    });
  }
  // The writes and the outcome were written by a decision of this store (see above).
  return parsed.data as unknown as Effect;
}
