/**
 * What the API's answers look like: the views of events, agendas, groups and free slots, with
 * instants as ISO 8601 UTC strings and the field names of the CLI's `--json` output (`id`,
 * `title`, `start`, `end`, `status`, `myStatus`, `organizer`, `group`, `conflict`), and the
 * names and statuses they use. The server's domain builds them (`server/domain/views.ts`);
 * the CLI, the lab and the tests read them. Plain types only: nothing here has behaviour.
 */
import type { ConflictingEvent } from './errors.js';

/** A user's unique login name (3–32 of `a-z 0-9 - _ .`). */
export type Username = string;

/** A group's unique name. */
export type GroupName = string;

export type GroupKind = 'flat' | 'hierarchical';

/**
 * Who may see what of an event in someone else's agenda: `public` shows details to every
 * allowed viewer, `busy` (the default) shows a busy block except to attendees and to the
 * owner's superiors, `private` shows a busy block to everyone but the attendees.
 */
export type Visibility = 'public' | 'busy' | 'private';

/** The event as a whole: `pending` only for flat-group events not yet accepted by everyone. */
export type EventStatus = 'confirmed' | 'pending' | 'cancelled';

/** One attendee's answer, shown to them as `myStatus`. */
export type AttendeeStatus = 'accepted' | 'pending' | 'declined';

/**
 * How someone came to attend: the `organizer` created it; an `invitee` was asked and
 * answers; an `imposed` attendee was placed there, accepted, by a superior in a
 * hierarchical group and cannot decline.
 */
export type AttendeeRole = 'organizer' | 'invitee' | 'imposed';

/** One occurrence (or a one-off event) with full details, as listed to someone entitled to them. */
export interface EventView {
  /** The series id; every occurrence of a recurring event carries it. */
  readonly id: string;
  readonly title: string;
  readonly start: string;
  readonly end: string;
  readonly status: EventStatus;
  /** The answer of the agenda's owner (the caller, in their own lists). */
  readonly myStatus: AttendeeStatus;
  readonly organizer: Username;
  readonly group: string | null;
  /** It overlaps another event the agenda's owner has accepted. */
  readonly conflict: boolean;
  readonly timeZone: string;
  readonly visibility: Visibility;
  readonly description: string;
  readonly location: string;
  /** Canonical RRULE text of the series, or null for a one-off event. */
  readonly recurrence: string | null;
  /**
   * Minutes before each occurrence's start at which it is to be announced (`agenda watch
   * --remind`), ascending; absent when the event has none.
   */
  readonly reminders?: readonly number[];
  /**
   * Present (true) when the event is shown as free: it takes no time from its attendees, so
   * it neither conflicts nor makes anyone busy (iCalendar's TRANSP:TRANSPARENT).
   */
  readonly transparent?: true;
}

/** Someone else's event the viewer may not see: when, and nothing else. */
export interface BusyBlock {
  readonly start: string;
  readonly end: string;
  readonly busy: true;
}

export interface AttendeeView {
  readonly username: Username;
  readonly status: AttendeeStatus;
  readonly role: AttendeeRole;
}

/** A whole event (series) as shown by `event show`, invitations and command results. */
export interface EventDetailsView extends EventView {
  /** Starts of removed occurrences, ISO UTC. */
  readonly exceptions: readonly string[];
  /** Starts of occurrences besides the rule's (RDATE), ISO UTC; absent when none. */
  readonly alsoOn?: readonly string[];
  readonly attendees: readonly AttendeeView[];
  readonly revision: number;
}

/** Two occurrences that overlap in one user's agenda, and the overlap itself. */
export interface ConflictView {
  readonly start: string;
  readonly end: string;
  readonly events: readonly [EventView, EventView];
}

/** A free slot, ISO UTC. */
export interface SlotView {
  readonly start: string;
  readonly end: string;
}

/** One entry of an agenda: full details or a busy block. */
export type AgendaEntry = EventView | BusyBlock;

/** One user's agenda over the interval, in start order. */
export interface AgendaView {
  readonly user: Username;
  readonly entries: readonly AgendaEntry[];
}

/** A group as its members see it. `level` is null in flat groups, where it means nothing. */
export interface GroupView {
  readonly name: GroupName;
  readonly kind: GroupKind;
  readonly owner: Username;
  readonly members: ReadonlyArray<{ readonly username: Username; readonly level: number | null }>;
  /** Invited and not yet joined: not members, for any purpose, until they join. */
  readonly invited: ReadonlyArray<{
    readonly username: Username;
    readonly level: number | null;
    readonly invitedBy: Username;
  }>;
}

/** An invitation to join a group, as the invitee sees it (`agenda invite list`). */
export interface GroupInvitationView {
  readonly group: GroupName;
  readonly kind: GroupKind;
  readonly owner: Username;
  /** The level they would join at; null in a flat group. */
  readonly level: number | null;
  readonly invitedBy: Username;
  /** ISO 8601, UTC. */
  readonly invitedAt: string;
  /** How many members the group has now. */
  readonly members: number;
}

/** The outcome of scheduling: the event as its organizer sees it, and who is double-booked. */
export interface ScheduledEvent {
  readonly event: EventDetailsView;
  /** The organizer's commitments it overlaps (non-empty only with `allowConflict`). */
  readonly conflicts: readonly ConflictingEvent[];
  /** Members it was imposed on although it conflicts with their agenda. */
  readonly imposedConflicts: readonly Username[];
}

/** The occurrence lists that are paged with cursors (`server/domain/paging.ts`). */
export type ListKind = 'event' | 'conflict' | 'agenda' | 'invitation';
