/**
 * Deleting an account: what becomes of everything the user leaves behind. The store removes
 * it piece by piece (server/store/account-deletion.ts); these are the rules for each piece.
 *
 * - **The username is retired.** It is never registered again (`registerUser` refuses it as
 *   taken), so nothing that still names the user — an event of theirs others keep as
 *   cancelled, an invitation they sent — can be taken for a new account's, and a newcomer
 *   cannot receive what was meant for the person who left.
 * - **Events they organize.** One nobody else is on is deleted. One others are on is
 *   cancelled for them (they are told, as of any cancellation) unless it is cancelled or
 *   over already — a meeting that happened stays as it was — and the user leaves it.
 * - **Events of others.** They leave it: the organizer is told (`left`), and a flat-group
 *   event that was waiting only for their answer is confirmed for the others.
 * - **Groups.** They leave each. A group they own passes to the remaining member of highest
 *   rank — the lowest level, then the first username — (in a flat group, the first
 *   username), who becomes its owner at level 0 and is told; a group they are the last
 *   member of dissolves as when its last member leaves: its pending invitations are
 *   withdrawn (the invitees are told) and its events lose their tie to it, so a new group
 *   of the same name inherits nothing. A group with many events dissolves over several
 *   steps, a page of events at a time.
 * - **Invitations and blocks.** Group invitations waiting for them are declined (the
 *   inviters are told); their blocks of groups go.
 *
 * Nobody tells the deleted user anything: their streams closed when the account was deleted.
 */
import { Internal } from '../../contract/errors.js';
import { attendeeOf, statusFromAnswers } from './attendance.js';
import { compareText, decide, eventNotice, groupNotice } from './decisions.js';
import { membershipOf } from './groups.js';
import { seriesEnd } from './recurrence.js';
import type {
  CalendarEvent,
  Decision,
  EventRecord,
  GroupRecord,
  Membership,
  Millis,
  Mutation,
  Notification,
  Username,
} from './types.js';

/** Who is being deleted, and when. */
export interface AccountDeletionCommand {
  readonly username: Username;
  readonly now: Millis;
}

/** What became of one event the user was on. */
export type EventDeparture =
  /** Theirs, and nobody else was on it: gone. */
  | 'deleted'
  /** Theirs, with others on it: cancelled for them. */
  | 'cancelled'
  /** They are off it; it stays, as it was, for the others. */
  | 'left';

/** Whether an event still has something to come: not cancelled, an occurrence not over. */
function stillOn(event: CalendarEvent, now: Millis): boolean {
  return event.status !== 'cancelled' && seriesEnd(event) > now;
}

/**
 * Takes the deleted user off one event they are on (the rules above).
 * @throws Internal when they are not on it (the store loaded it from their attendance).
 */
export function leaveEventOfDeletedAccount(
  command: AccountDeletionCommand,
  record: EventRecord,
): Decision<EventDeparture> {
  const { username, now } = command;
  const { event } = record;
  if (attendeeOf(record, username) === undefined) {
    throw new Internal(`${username} is not on event ${event.id}`);
  }
  const others = record.attendees.filter((a) => a.username !== username);
  const leave: Mutation = { kind: 'deleteAttendee', eventId: event.id, username };
  const changed = (status: CalendarEvent['status']): CalendarEvent => ({
    ...event,
    status,
    updatedAt: now,
    revision: event.revision + 1,
  });

  if (event.organizer === username) {
    if (others.length === 0) {
      return decide(
        'deleted',
        [{ kind: 'deleteEvent', eventId: event.id, group: event.group?.name ?? null }],
        [],
      );
    }
    if (!stillOn(event, now)) return decide('left', [leave], []);
    return decide(
      'cancelled',
      [{ kind: 'updateEvent', event: changed('cancelled') }, leave],
      others
        .filter((a) => a.status !== 'declined')
        .map((a) => eventNotice(a.username, 'cancelled', event.id, username)),
    );
  }

  const mutations: Mutation[] = [leave];
  const notifications: Notification[] = [];
  if (stillOn(event, now)) {
    notifications.push(eventNotice(event.organizer, 'left', event.id, username));
    const status = statusFromAnswers(record, others);
    if (status !== event.status) {
      mutations.push({ kind: 'updateEvent', event: changed(status) });
      const outcome = status === 'cancelled' ? 'cancelled' : 'confirmed';
      for (const a of others)
        notifications.push(eventNotice(a.username, outcome, event.id, username));
    }
  }
  return decide('left', mutations, notifications);
}

/** What became of one group the user was a member of. */
export type GroupDeparture =
  /** They left; it goes on without them. */
  | 'left'
  /** They owned it: it passed to another member. */
  | 'handed_over'
  /** They were its last member: it is gone. */
  | 'dissolved'
  /** They are its last member and it still has events tied to it: a page of them was untied. */
  | 'dissolving';

export interface GroupDepartureContext {
  readonly group: GroupRecord;
  /**
   * For a group the user is the last member of: a page of its events that are not over (any
   * status), and whether more follow. Ignored otherwise.
   */
  readonly groupEvents: readonly EventRecord[];
  readonly moreGroupEvents: boolean;
}

/**
 * The member who owns the group once its owner is gone: the highest rank (lowest level),
 * then the first username; in a flat group, where levels mean nothing, the first username.
 */
export function successorOf(record: GroupRecord, owner: Username): Membership | undefined {
  const flat = record.group.kind === 'flat';
  return record.members
    .filter((m) => m.username !== owner)
    .sort((a, b) => (flat ? 0 : a.level - b.level) || compareText(a.username, b.username))[0];
}

/**
 * Takes the deleted user out of one group they are a member of (the rules above). A user
 * who is not a member changes nothing (`left`).
 */
export function leaveGroupOfDeletedAccount(
  command: AccountDeletionCommand,
  context: GroupDepartureContext,
): Decision<GroupDeparture> {
  const { username, now } = command;
  const record = context.group;
  const { group } = record;
  if (membershipOf(record, username) === undefined) return decide('left', [], []);
  const leave: Mutation = { kind: 'deleteMembership', group: group.name, username };

  if (group.owner !== username) {
    return decide(
      'left',
      [leave],
      [groupNotice(group.owner, 'member_left', group.name, username, username)],
    );
  }

  const heir = successorOf(record, username);
  if (heir !== undefined) {
    return decide(
      'handed_over',
      [
        { kind: 'updateGroup', group: { ...group, owner: heir.username } },
        { kind: 'putMembership', membership: { ...heir, level: 0 } },
        leave,
      ],
      [
        groupNotice(heir.username, 'owner_changed', group.name, heir.username, username),
        groupNotice(heir.username, 'member_left', group.name, username, username),
      ],
    );
  }

  // The last member: its events are untied first, a page at a time, then it goes.
  const untied: Mutation[] = context.groupEvents
    .filter((r) => r.event.group?.name === group.name)
    .map((r) => ({
      kind: 'updateEvent',
      event: { ...r.event, group: null, updatedAt: now, revision: r.event.revision + 1 },
    }));
  if (context.moreGroupEvents) return decide('dissolving', untied, []);
  return decide(
    'dissolved',
    [
      ...untied,
      ...record.invitations.map((i): Mutation => ({
        kind: 'deleteGroupInvitation',
        group: group.name,
        username: i.username,
      })),
      leave,
      { kind: 'deleteGroup', group: group.name },
    ],
    record.invitations.map((i) =>
      groupNotice(i.username, 'invitation_withdrawn', group.name, i.username, username),
    ),
  );
}
