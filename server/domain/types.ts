/**
 * The calendar's vocabulary as plain data: the rows the store keeps, the changes a decision
 * asks it to make, and the notifications it asks the services to push. Nothing here has
 * behaviour, so every value can be persisted, sent over the wire and compared in tests.
 */

import type {
  AttendeeRole,
  AttendeeStatus,
  EventStatus,
  GroupKind,
  GroupName,
  Username,
  Visibility,
} from '../../contract/views.js';

// The wire's names for people, groups and statuses: the contract owns them.
export type {
  AttendeeRole,
  AttendeeStatus,
  EventStatus,
  GroupKind,
  GroupName,
  Username,
  Visibility,
};

/** An instant: milliseconds since the Unix epoch, UTC, always a whole second. */
export type Millis = number;

/** An event's id, chosen by the caller (the store) so that decisions stay deterministic. */
export type EventId = string;

/** A half-open interval `[start, end)` of instants; `end > start`. */
export interface Interval {
  readonly start: Millis;
  readonly end: Millis;
}

/** A registered person. Credentials live with the users service, not here. */
export interface User {
  readonly username: Username;
  readonly displayName: string;
}

/** A group; its creator is the owner. */
export interface Group {
  readonly name: GroupName;
  readonly kind: GroupKind;
  readonly owner: Username;
}

/**
 * A member of a group. In a hierarchical group a lower `level` is a higher rank and the
 * owner is always at level 0; in a flat group every level is 0 and carries no meaning.
 */
export interface Membership {
  readonly group: GroupName;
  readonly username: Username;
  readonly level: number;
}

/**
 * The group an event was scheduled for. The kind is copied at creation because it decides
 * the event's rules for its whole life (a flat-group event needs everyone's acceptance).
 */
export interface GroupRef {
  readonly name: GroupName;
  readonly kind: GroupKind;
}

/**
 * An invitation to join a group, waiting for the invitee's answer. Until they join, the
 * invitee is not a member for any purpose: no imposed events, no view of their agenda, not
 * in free time or anyone's conflicts.
 */
export interface GroupInvitation {
  readonly group: GroupName;
  readonly username: Username;
  /** The level they join at (0 in a flat group, where levels mean nothing). */
  readonly level: number;
  readonly invitedBy: Username;
  readonly invitedAt: Millis;
}

/** A group with all its members and pending invitations, as decisions about the group need it. */
export interface GroupRecord {
  readonly group: Group;
  readonly members: readonly Membership[];
  readonly invitations: readonly GroupInvitation[];
}

export type Frequency = 'DAILY' | 'WEEKLY' | 'MONTHLY' | 'YEARLY';

export type Weekday = 'MO' | 'TU' | 'WE' | 'TH' | 'FR' | 'SA' | 'SU';

/** A `BYDAY` entry: a weekday, optionally the n-th (negative: from the end) in the period. */
export interface WeekdayRule {
  readonly weekday: Weekday;
  readonly ordinal?: number;
}

/**
 * The supported subset of an RFC 5545 RRULE. Rules are interpreted in the event's time
 * zone, so wall-clock times survive daylight-saving changes. `until` is an inclusive bound
 * on occurrence starts; `count` and `until` never appear together.
 */
export interface RecurrenceRule {
  readonly freq: Frequency;
  readonly interval: number;
  readonly count?: number;
  readonly until?: Millis;
  readonly byDay?: readonly WeekdayRule[];
  readonly byMonthDay?: readonly number[];
}

/**
 * A rule plus the starts of the occurrences removed from it (EXDATE), sorted ascending, and
 * of occurrences added to it (RDATE). The series' occurrences are the rule's and the added
 * ones, less the removed ones (RFC 5545 §3.8.5): an exception removes an added occurrence as
 * it removes one of the rule's.
 */
export interface Recurrence {
  readonly rule: RecurrenceRule;
  readonly exceptions: readonly Millis[];
  /**
   * Starts of occurrences besides the rule's (RDATE), ascending, distinct, each after the
   * series' first occurrence and none the start of one of the rule's; each lasts as the
   * series' occurrences do. Absent when there are none (rows stored before they existed
   * have none).
   */
  readonly additions?: readonly Millis[];
  /**
   * For a COUNT rule: the start of its COUNT-th occurrence, or of its last one at or before
   * `LATEST_INSTANT` when the domain ends first (exceptions count: EXDATE does not change
   * COUNT). Validation computes it once from the rule, the event's start and its zone — so
   * it is recomputed whenever they change — and expansion then treats the rule as endless
   * but cut there, without counting from the first occurrence again. Rows stored before it
   * existed lack it; expansion then counts.
   */
  readonly lastStart?: Millis;
}

/**
 * Which version of an iCalendar VEVENT (RFC 5545 §3.8.7.4): its SEQUENCE, which its
 * organizer raises with every significant change, then its LAST-MODIFIED (else its DTSTAMP,
 * which §3.8.7.2 makes the same for a file without METHOD), for changes that did not raise
 * it. For a series, the highest of those of the series and of its changed occurrences.
 */
export interface ImportedVersion {
  readonly sequence: number;
  /** UTC; null when the VEVENT has neither LAST-MODIFIED nor DTSTAMP. */
  readonly stamp: Millis | null;
}

/**
 * An event (for a recurring event: the series; `start`/`end` are its first occurrence).
 * `revision` grows by one at every change (it is the iCalendar SEQUENCE).
 */
export interface CalendarEvent {
  readonly id: EventId;
  readonly title: string;
  readonly start: Millis;
  readonly end: Millis;
  /** IANA zone the event was scheduled in; recurrence is expanded in it. */
  readonly timeZone: string;
  readonly description: string;
  readonly location: string;
  readonly visibility: Visibility;
  readonly recurrence: Recurrence | null;
  /**
   * Minutes before each occurrence's start at which attendees' watchers announce it,
   * ascending and distinct (`validateReminders`). Absent when there are none: rows and
   * effects written before reminders existed read the same as an event without any.
   */
  readonly reminders?: readonly number[];
  /**
   * Set when the event takes no time from its attendees (iCalendar's TRANSP:TRANSPARENT,
   * "show as free": a holiday, a reminder to oneself): it stays in their agendas but never
   * conflicts and never makes anyone busy (`blocksTime`). Absent for every other event, and
   * for rows written before it could be set.
   */
  readonly transparent?: true;
  /**
   * The version of the calendar file's VEVENT the event was last imported from: an import
   * brings the event to a file's version only when that one is newer
   * (`isNewerImportedVersion`), so that importing an old file again does not undo what was
   * changed here since. Absent for events never imported, and for those imported before it
   * was kept.
   */
  readonly importedVersion?: ImportedVersion;
  readonly organizer: Username;
  /** The group it was scheduled for, if any. */
  readonly group: GroupRef | null;
  readonly status: EventStatus;
  readonly createdAt: Millis;
  readonly updatedAt: Millis;
  readonly revision: number;
  /**
   * The iCalendar UID the event was imported with; an import of the same UID by its
   * organizer finds it again. Absent for events made in Agenda (their UID is their id).
   */
  readonly uid?: string;
  /**
   * For an occurrence changed on its own: the series it was taken out of, and the start it
   * had there (now an exception of the series). Absent for every other event, and for rows
   * written before occurrences could be changed.
   */
  readonly detachedFrom?: DetachedOccurrence;
}

/** Where an event changed as "this occurrence only" came from (see {@link CalendarEvent}). */
export interface DetachedOccurrence {
  readonly seriesId: EventId;
  /** The occurrence's start in the series, as its rule placed it. */
  readonly occurrenceStart: Millis;
}

/** One person's place in an event. The organizer is an attendee too (role `organizer`). */
export interface Attendee {
  readonly eventId: EventId;
  readonly username: Username;
  readonly status: AttendeeStatus;
  readonly role: AttendeeRole;
  /**
   * Set when this answer was given to an occurrence changed on its own (an event with
   * `detachedFrom`) alone, rather than reaching it from an answer to its series: answers to
   * the series then leave it as it is. Absent everywhere else, and once the occurrence's
   * time changes (its invitees are asked again).
   */
  readonly ownAnswer?: true;
}

/** An event with its complete attendee list, the unit the store loads for decisions. */
export interface EventRecord {
  readonly event: CalendarEvent;
  readonly attendees: readonly Attendee[];
}

/** One occurrence of an event: the series id plus this occurrence's own interval. */
export interface Occurrence extends Interval {
  readonly eventId: EventId;
}

/**
 * A change a decision asks the store to make. Applying the list in order, and nothing else,
 * is the whole effect of a command. `put*` inserts or replaces the row with the same key.
 */
export type Mutation =
  | { readonly kind: 'insertUser'; readonly user: User }
  | { readonly kind: 'insertGroup'; readonly group: Group }
  | { readonly kind: 'updateGroup'; readonly group: Group }
  | { readonly kind: 'deleteGroup'; readonly group: GroupName }
  | { readonly kind: 'putMembership'; readonly membership: Membership }
  | { readonly kind: 'deleteMembership'; readonly group: GroupName; readonly username: Username }
  | { readonly kind: 'putGroupInvitation'; readonly invitation: GroupInvitation }
  | {
      readonly kind: 'deleteGroupInvitation';
      readonly group: GroupName;
      readonly username: Username;
    }
  /** The user refuses further invitations to the group. */
  | { readonly kind: 'putGroupBlock'; readonly group: GroupName; readonly username: Username }
  | { readonly kind: 'deleteGroupBlock'; readonly group: GroupName; readonly username: Username }
  | { readonly kind: 'insertEvent'; readonly event: CalendarEvent }
  | { readonly kind: 'updateEvent'; readonly event: CalendarEvent }
  /**
   * The event and its attendee rows go (an account deleted: an event nobody else was on).
   * `group` is the event's, whose list of events changes with it.
   */
  | { readonly kind: 'deleteEvent'; readonly eventId: EventId; readonly group: GroupName | null }
  | { readonly kind: 'putAttendee'; readonly attendee: Attendee }
  | { readonly kind: 'deleteAttendee'; readonly eventId: EventId; readonly username: Username };

/** What happened to an event, from the point of view of the person told. */
export type EventChange =
  | 'created'
  | 'invited'
  | 'imposed'
  | 'accepted'
  | 'declined'
  | 'confirmed'
  | 'cancelled'
  | 'updated'
  | 'removed'
  /** To the organizer: an attendee is off the event for good (their account was deleted). */
  | 'left';

/** What happened in a group, from the point of view of the person told. */
export type GroupChange =
  /** To the invitee: someone invited them (`by`) to join. */
  | 'invited'
  /** To the invitee: the invitation was withdrawn before they answered. */
  | 'invitation_withdrawn'
  /** To the inviter: the invitee declined. */
  | 'invitation_declined'
  /** The invitee accepted and is now a member. */
  | 'member_joined'
  | 'member_removed'
  | 'member_left'
  | 'level_changed'
  | 'owner_changed'
  | 'dissolved';

/** A live update for one user's open streams. */
export type Notification =
  | {
      readonly kind: 'event';
      readonly to: Username;
      readonly change: EventChange;
      readonly eventId: EventId;
      readonly by: Username;
    }
  | {
      readonly kind: 'group';
      readonly to: Username;
      readonly change: GroupChange;
      readonly group: GroupName;
      readonly member: Username;
      readonly by: Username;
    }
  /**
   * A session of the user ended (`sid`), or all of them (`sid` null: the password changed),
   * or the account was deleted (`deleted`, `sid` null): gateways close the live streams it
   * opened.
   */
  | {
      readonly kind: 'session';
      readonly to: Username;
      readonly change: 'ended' | 'deleted';
      readonly sid: string | null;
    };

/**
 * The outcome of a command: the rows to change, who to tell, and what to answer. A command
 * that changes nothing (e.g. accepting twice) yields empty `mutations` and `notifications`.
 */
export interface Decision<Result> {
  readonly mutations: readonly Mutation[];
  readonly notifications: readonly Notification[];
  readonly result: Result;
}
