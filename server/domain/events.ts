/**
 * Creating, changing, cancelling and listing events.
 *
 * - A personal event: the organizer alone, accepted, the event confirmed.
 * - An appointment (`with`): confirmed and accepted for the organizer at once; each invitee
 *   gets a pending invitation.
 * - A hierarchical-group event: every current member attends. Members ranked strictly below
 *   the organizer have it imposed — accepted at once, even if it conflicts (it is then
 *   flagged, not refused); members at the organizer's rank or above get an invitation.
 * - A flat-group event: every current member is invited and the event stays `pending`
 *   until all accept (then `confirmed`); one decline cancels it (see invitations).
 *
 * The organizer's own conflicts refuse creation (and a time change) unless
 * `allowConflict`. Only the organizer changes or cancels an event. When its time changes,
 * every invitee who had answered — accepted or declined — is asked again (the answer was
 * about another time: a yes may no longer fit, a no may now) and a flat-group event waits
 * for everyone again; imposed attendees stay accepted.
 */
import { Forbidden, Internal, InvalidInput, NotFound, TooComplex } from '../../contract/errors.js';
import type { ConflictingEvent } from '../../contract/errors.js';
import {
  attendeeOf,
  blocksTime,
  busyCommitmentsOf,
  consensusStatus,
  requireAttendance,
} from './attendance.js';
import { conflictError, conflictingSubset, findConflicts, occurrencesIn } from './conflicts.js';
import type { CommitmentIndex } from './conflicts.js';
import { compareText, decide, eventNotice } from './decisions.js';
import { membershipOf } from './groups.js';
import {
  MAX_DETACHED_CANCELLED_WITH_SERIES,
  MAX_DETACHED_PER_SERIES,
  MAX_EXCEPTIONS,
  MAX_IMPORTED_OCCURRENCES_PER_SERIES,
  MAX_INVITEES,
  TIME,
} from '../../contract/limits.js';
import {
  compareOccurrenceKeys,
  decodeCursor,
  encodeCursor,
  occurrenceKey,
  pageLimit,
  takePage,
  textWeight,
  windowAfter,
} from './paging.js';
import type { OccurrenceKey, PageRequest } from './paging.js';
import {
  calendarDaysOf,
  expandOccurrences,
  formatRecurrenceRule,
  isOccurrenceStart,
} from './recurrence.js';
import { instantOfWallClock, wallClockOf } from './zones.js';
import type { Series } from './recurrence.js';
import { validateEventDraft, validateQueryInterval, validateUsername } from './validation.js';
import type { EventDetails, EventDraft } from './validation.js';
import { eventDetailsView, eventView } from './views.js';
import type { EventDetailsView, EventView } from './views.js';
import type {
  Attendee,
  AttendeeStatus,
  CalendarEvent,
  Decision,
  DetachedOccurrence,
  EventId,
  EventRecord,
  GroupName,
  GroupRecord,
  ImportedVersion,
  Interval,
  Millis,
  Mutation,
  Notification,
  Occurrence,
  Recurrence,
  RecurrenceRule,
  Username,
} from './types.js';
import type { ScheduledEvent } from '../../contract/views.js';

export type { ScheduledEvent };

function validateInvitees(
  names: readonly string[],
  organizer: Username,
  known: ReadonlySet<Username>,
): Username[] {
  const invitees = [...new Set(names.map((n) => validateUsername(n.trim())))];
  if (invitees.includes(organizer)) {
    throw new InvalidInput('you organize the event: do not invite yourself', { field: 'with' });
  }
  if (invitees.length > MAX_INVITEES) {
    throw new InvalidInput(`at most ${MAX_INVITEES} people can be invited by name`, {
      field: 'with',
    });
  }
  // Which names have no account is not said: a refusal naming them let anyone test a hundred
  // names a request for existence, inviting no one. A name that exists still shows, as
  // registering it would, but only at the price of an invitation its owner sees.
  if (invitees.some((n) => !known.has(n))) {
    throw new NotFound('not everyone invited has an account here: check how each name is spelt');
  }
  return invitees;
}

export interface CreateEventCommand {
  readonly actor: Username;
  /** The new event's id, chosen by the caller. */
  readonly eventId: EventId;
  readonly now: Millis;
  readonly draft: EventDraft;
  /** People to invite (an appointment). Not together with `group`. */
  readonly with?: readonly Username[];
  /** The group whose members attend. Not together with `with`. */
  readonly group?: GroupName;
  readonly allowConflict?: boolean;
  /** The iCalendar UID the event keeps (an import), so that importing it again finds it. */
  readonly uid?: string;
}

export interface CreateEventContext {
  /** The registered users among `with`. */
  readonly existingUsers: ReadonlySet<Username>;
  /** The group named by `group`, with its members. */
  readonly group: GroupRecord | undefined;
  /**
   * Events of the organizer — and, for a hierarchical group, of the members ranked below
   * them — that may reach into the event's {@link conflictWindow}. Extra rows are ignored.
   */
  readonly events: readonly EventRecord[];
  /**
   * The organizer's commitments, indexed for many checks in one command (an import): when
   * given, the organizer's conflicts are looked up there instead of in `events`.
   */
  readonly commitments?: CommitmentIndex;
}

/** The organizer's commitments that `event` would collide with, from the index if there is one. */
function organizerConflicts(
  event: CalendarEvent,
  organizer: Username,
  context: { readonly events: readonly EventRecord[]; readonly commitments?: CommitmentIndex },
  now: Millis,
): ConflictingEvent[] {
  const index = context.commitments;
  if (index === undefined) return findConflicts(event, organizer, context.events, now);
  if (index.username !== organizer) {
    throw new Internal(`the commitments given are ${index.username}'s, not ${organizer}'s`);
  }
  return index.conflictsOf(event, now);
}

/**
 * Schedules a personal event, an appointment or a group event (rules above).
 * @throws InvalidInput (draft; both `with` and `group`), NotFound (invitee or group),
 * Forbidden (not a member of the group), Conflict (the organizer's agenda, unless allowed).
 */
export function createEvent(
  command: CreateEventCommand,
  context: CreateEventContext,
): Decision<ScheduledEvent> {
  const scheduled = schedule(command, validateEventDraft(command.draft), context);
  const { record, conflicts, imposedConflicts } = scheduled.result;
  return {
    ...scheduled,
    result: {
      event: eventDetailsView(record, 'accepted', conflicts.length > 0),
      conflicts,
      imposedConflicts,
    },
  };
}

/** What {@link schedule} decided: the new event with its attendees, and what it runs into. */
interface Scheduled {
  readonly record: EventRecord;
  readonly conflicts: readonly ConflictingEvent[];
  readonly imposedConflicts: readonly Username[];
}

/**
 * {@link createEvent} of a draft already validated into `details`, answering the record
 * rather than its view: an import answers neither, so building the view of each of its
 * events would be work thrown away.
 */
function schedule(
  command: Omit<CreateEventCommand, 'draft'>,
  details: EventDetails,
  context: CreateEventContext,
): Decision<Scheduled> {
  const organizer = command.actor;
  if (command.with !== undefined && command.with.length > 0 && command.group !== undefined) {
    throw new InvalidInput('invite people or a group, not both', { field: 'with' });
  }

  const attendees: Attendee[] = [
    { eventId: command.eventId, username: organizer, status: 'accepted', role: 'organizer' },
  ];
  let group: GroupRecord | undefined;
  if (command.group !== undefined) {
    group = context.group;
    if (group === undefined || group.group.name !== command.group) {
      throw new NotFound(`no group named ${command.group}`);
    }
    const me = membershipOf(group, organizer);
    if (me === undefined) throw new Forbidden(`you are not a member of ${group.group.name}`);
    for (const member of [...group.members].sort((a, b) => compareText(a.username, b.username))) {
      if (member.username === organizer) continue;
      // Ranked strictly below the organizer: imposed, accepted at once. Otherwise invited.
      const imposed = group.group.kind === 'hierarchical' && member.level > me.level;
      attendees.push({
        eventId: command.eventId,
        username: member.username,
        status: imposed ? 'accepted' : 'pending',
        role: imposed ? 'imposed' : 'invitee',
      });
    }
  } else if (command.with !== undefined) {
    for (const username of validateInvitees(command.with, organizer, context.existingUsers)) {
      attendees.push({ eventId: command.eventId, username, status: 'pending', role: 'invitee' });
    }
  }

  const event: CalendarEvent = {
    id: command.eventId,
    ...details,
    organizer,
    group: group === undefined ? null : { name: group.group.name, kind: group.group.kind },
    status: group?.group.kind === 'flat' ? consensusStatus(attendees) : 'confirmed',
    createdAt: command.now,
    updatedAt: command.now,
    revision: 0,
    ...(command.uid === undefined ? {} : { uid: command.uid }),
  };

  const conflicts = organizerConflicts(event, organizer, context, command.now);
  if (conflicts.length > 0 && command.allowConflict !== true) {
    throw conflictError('this event overlaps events you have accepted', conflicts);
  }
  const imposedConflicts = attendees
    .filter(
      (a) =>
        a.role === 'imposed' &&
        findConflicts(event, a.username, context.events, command.now).length > 0,
    )
    .map((a) => a.username);

  const notifications: Notification[] = attendees.map((a) =>
    eventNotice(
      a.username,
      a.role === 'organizer' ? 'created' : a.role === 'imposed' ? 'imposed' : 'invited',
      event.id,
      organizer,
    ),
  );
  return decide(
    { record: { event, attendees }, conflicts, imposedConflicts },
    [
      { kind: 'insertEvent', event },
      ...attendees.map((attendee): Mutation => ({ kind: 'putAttendee', attendee })),
    ],
    notifications,
  );
}

// ---------------------------------------------------------------------------------------

/**
 * The fields of an event that `event update` may change: those of a draft, each optional;
 * absent fields keep their value. Moving the start alone keeps the duration; a null
 * `recurrence` makes the event one-off.
 */
export type EventChanges = Partial<EventDraft>;

export interface UpdateEventCommand {
  readonly actor: Username;
  readonly eventId: EventId;
  readonly now: Millis;
  readonly changes: EventChanges;
  /** More people to invite (not for group events); people already attending are left as they are. */
  readonly invite?: readonly Username[];
  readonly allowConflict?: boolean;
}

export interface UpdateEventContext {
  readonly record: EventRecord | undefined;
  /** The registered users among `invite`. */
  readonly existingUsers: ReadonlySet<Username>;
  /** The organizer's events that may reach into the updated event's conflict window. */
  readonly events: readonly EventRecord[];
  /** As in {@link CreateEventContext.commitments}: the organizer's commitments, indexed. */
  readonly commitments?: CommitmentIndex;
  /**
   * The live events detached from the event, when it is a series being moved: they follow
   * the move of the exceptions that stand for them ({@link relinkedDetached}).
   */
  readonly detached?: readonly EventRecord[];
}

/**
 * An event's details as a draft: for an update, the current values that changes are merged
 * into; for an import, every value of the file's version as the changes.
 */
function draftOf(details: EventDetails): EventDraft {
  return {
    title: details.title,
    start: details.start,
    end: details.end,
    timeZone: details.timeZone,
    description: details.description,
    location: details.location,
    visibility: details.visibility,
    recurrence: details.recurrence === null ? null : formatRecurrenceRule(details.recurrence.rule),
    exceptions: details.recurrence?.exceptions ?? [],
    additions: details.recurrence?.additions ?? [],
    reminders: details.reminders ?? [],
    transparent: details.transparent === true,
  };
}

function mergeChanges(event: CalendarEvent, changes: EventChanges): EventDraft {
  const current = draftOf(event);
  const start = changes.start ?? event.start;
  const end =
    changes.end ?? (changes.start === undefined ? event.end : start + (event.end - event.start));
  const recurrence = changes.recurrence === undefined ? current.recurrence : changes.recurrence;
  return {
    title: changes.title ?? current.title,
    start,
    end,
    timeZone: changes.timeZone ?? current.timeZone,
    description: changes.description ?? current.description,
    location: changes.location ?? current.location,
    visibility: changes.visibility ?? current.visibility,
    recurrence,
    exceptions:
      changes.exceptions ??
      (recurrence === null
        ? []
        : movedStarts(event.recurrence?.exceptions ?? [], event, start, changes.timeZone)),
    additions:
      changes.additions ??
      (recurrence === null
        ? []
        : movedStarts(event.recurrence?.additions ?? [], event, start, changes.timeZone)),
    reminders: changes.reminders ?? current.reminders ?? [],
    transparent: changes.transparent ?? current.transparent,
  };
}

/**
 * Starts of the series' occurrences (its exceptions: occurrences cancelled, or changed on
 * their own; its added occurrences) where its move to `start` in `timeZone` (absent: its
 * own) takes them. Each keeps its day, counted from the series' first in the series' own
 * zone (so daylight saving does not shift it), from the new first day in the new zone. An
 * exception of the rule's occurrences takes the series' new time of day (the rule's
 * occurrences are all at it); an added occurrence, and the exception that removes one, keeps
 * its time of day relative to the series' (an extra session at 14:00 of a 09:00 class moved
 * to 10:00 is at 15:00); one of an all-day series stays a whole day. Left where they were, a
 * moved series' exceptions matched nothing and the occurrences they removed came back,
 * beside the events changed on their own; its added occurrences kept the old time. O(1) each.
 */
function movedStarts(
  starts: readonly Millis[],
  event: CalendarEvent,
  start: Millis,
  zone: string | undefined,
): Millis[] {
  const timeZone = zone ?? event.timeZone;
  if (starts.length === 0 || (start === event.start && timeZone === event.timeZone)) {
    return [...starts];
  }
  const added = new Set(event.recurrence?.additions ?? []);
  const before = wallClockOf(event.start, event.timeZone);
  const after = wallClockOf(start, timeZone);
  const allDay = calendarDaysOf(event.start, event.end, event.timeZone) !== undefined;
  const dayOf = (wall: number) => Math.floor(wall / TIME.DAY);
  return starts.map((moved) => {
    const wall = wallClockOf(moved, event.timeZone);
    const day = dayOf(after) + (dayOf(wall) - dayOf(before));
    // Day starts, or the new time of day on the day as many days after the new first one.
    if (allDay) return instantOfWallClock(day * TIME.DAY, timeZone);
    if (!added.has(moved)) return instantOfWallClock(day * TIME.DAY + (after % TIME.DAY), timeZone);
    return instantOfWallClock(after + (wall - before), timeZone);
  });
}

/**
 * The events detached from a moved series, pointing at where the move took their
 * occurrences: the exception that stands for each moves as {@link movedExceptions} says, and
 * the event's `detachedFrom` follows it, so that the series still knows them (an answer to
 * the series reaches them, changing the occurrence again names them, an export writes them
 * as its RECURRENCE-IDs). Nothing when the update sets the exceptions itself.
 */
function relinkedDetached(
  before: CalendarEvent,
  after: CalendarEvent,
  command: UpdateEventCommand,
  detached: readonly EventRecord[],
): Mutation[] {
  const old = before.recurrence?.exceptions ?? [];
  if (command.changes.exceptions !== undefined || after.recurrence === null || old.length === 0) {
    return [];
  }
  if (detached.length > MAX_DETACHED_PER_SERIES) {
    throw new InvalidInput(
      `more than ${MAX_DETACHED_PER_SERIES} occurrences of "${before.title}" were changed on their own, too many to move with it: cancel some of them first`,
      { field: 'start' },
    );
  }
  const moved = movedStarts(old, before, after.start, after.timeZone);
  const to = new Map(old.map((exception, i) => [exception, moved[i] ?? exception]));
  return detached.flatMap((record): Mutation[] => {
    const from = record.event.detachedFrom;
    if (from === undefined || from.seriesId !== before.id || record.event.status === 'cancelled') {
      return [];
    }
    const occurrenceStart = to.get(from.occurrenceStart);
    if (occurrenceStart === undefined || occurrenceStart === from.occurrenceStart) return [];
    return [
      {
        kind: 'updateEvent',
        event: {
          ...record.event,
          detachedFrom: { seriesId: from.seriesId, occurrenceStart },
          updatedAt: command.now,
          revision: record.event.revision + 1,
        },
      },
    ];
  });
}

function sameTiming(event: CalendarEvent, details: EventDetails): boolean {
  return (
    event.start === details.start &&
    event.end === details.end &&
    event.timeZone === details.timeZone &&
    sameRule(event, details.recurrence?.rule ?? null) &&
    // Added occurrences (RDATE) are occurrences at new times, as a rule's are.
    sameInstants(event.recurrence?.additions ?? [], details.recurrence?.additions ?? [])
  );
}

/**
 * Whether `rule` repeats `event` (already at the same start, end and zone) as its own rule
 * does. Two UNTILs bound the same series when no occurrence starts after the earlier and at
 * or before the later: an all-day series' UNTIL goes out as a date (RFC 5545 §3.3.10) and
 * comes back as that day's end, where it was that day's midnight, and the occurrences are
 * the same. (A calendar app writing back what it was given changed the rule otherwise, and
 * every attendee's answer with it.)
 */
function sameRule(event: CalendarEvent, rule: RecurrenceRule | null): boolean {
  const own = event.recurrence?.rule ?? null;
  if (own === null || rule === null) return own === rule;
  if (formatRecurrenceRule(withoutUntil(own)) !== formatRecurrenceRule(withoutUntil(rule))) {
    return false;
  }
  if (own.until === rule.until) return true;
  if (own.until === undefined || rule.until === undefined) return false;
  const [earlier, later] = own.until < rule.until ? [own, rule] : [rule, own];
  const from = earlier.until ?? 0;
  const to = later.until ?? 0;
  const exceptions = event.recurrence?.exceptions ?? [];
  const wider = { ...event, recurrence: { rule: later, exceptions } };
  try {
    return !expandOccurrences(wider, { start: from, end: to + 1 }).some(
      (o) => o.start > from && o.start <= to,
    );
  } catch (error) {
    // Too far apart to tell within the expansion budget: a change.
    if (error instanceof TooComplex) return false;
    throw error;
  }
}

function withoutUntil(rule: RecurrenceRule): RecurrenceRule {
  const { until, ...rest } = rule;
  return until === undefined ? rule : rest;
}

function sameExceptions(event: CalendarEvent, details: EventDetails): boolean {
  return sameInstants(event.recurrence?.exceptions ?? [], details.recurrence?.exceptions ?? []);
}

function sameInstants(a: readonly Millis[], b: readonly Millis[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The first detail in which `details` differs from `event`, in words for a refusal ("its
 * title"), or null when they are the same as {@link sameDetails} compares them.
 */
function differingDetail(event: CalendarEvent, details: EventDetails): string | null {
  if (!sameTiming(event, details)) return 'its time or repeat rule';
  if (event.title !== details.title) return 'its title';
  if (event.description !== details.description) return 'its description';
  if (event.location !== details.location) return 'its location';
  if (event.visibility !== details.visibility) return 'its visibility (CLASS)';
  if (!sameExceptions(event, details)) return 'its cancelled or changed occurrences';
  if (!sameReminders(event.reminders, details.reminders)) return 'its reminders (VALARM)';
  if ((event.transparent === true) !== (details.transparent === true)) {
    return 'whether it takes time (TRANSP)';
  }
  return null;
}

/**
 * What an attendee's copy of an event (a CalDAV PUT of its resource: the series, then the
 * occurrences changed on their own that go with it) changes of it, in words, or null when it
 * changes nothing but, perhaps, the attendee's answer — which is all an attendee may change:
 * the rest is the organizer's. The copy's occurrences are compared one by one with the
 * events they became; one missing, added or cancelled is a change too.
 * @throws InvalidInput when the copy's occurrences are not its series' (as an import refuses).
 */
export function changesByAttendee(
  records: readonly EventRecord[],
  details: EventDetails,
  occurrences: readonly (
    | { readonly occurrenceStart: Millis; readonly details: EventDetails }
    | { readonly occurrenceStart: Millis; readonly cancelled: true }
  )[],
): string | null {
  const [series, ...detached] = records;
  if (series === undefined) return null;
  const file = withOccurrencesAsExceptions(
    details,
    occurrences.map((o) => ({ ...o, eventId: '' })),
  );
  const seriesChange = differingDetail(series.event, file);
  if (seriesChange !== null) return seriesChange;
  const byStart = new Map(
    detached.flatMap((r) =>
      r.event.detachedFrom === undefined ? [] : [[r.event.detachedFrom.occurrenceStart, r]],
    ),
  );
  for (const occurrence of occurrences) {
    const when = new Date(occurrence.occurrenceStart).toISOString();
    const there = byStart.get(occurrence.occurrenceStart);
    byStart.delete(occurrence.occurrenceStart);
    if (!('details' in occurrence) || there === undefined) {
      return `the occurrence of ${when} (cancelled or changed on its own in your copy only)`;
    }
    const change = differingDetail(there.event, occurrence.details);
    if (change !== null) return `the occurrence of ${when}: ${change}`;
  }
  const [left] = byStart.keys();
  return left === undefined
    ? null
    : `the occurrence of ${new Date(left).toISOString()} (changed on its own, missing from your copy)`;
}

function sameDetails(event: CalendarEvent, details: EventDetails): boolean {
  return (
    sameTiming(event, details) &&
    event.title === details.title &&
    event.description === details.description &&
    event.location === details.location &&
    event.visibility === details.visibility &&
    sameExceptions(event, details) &&
    sameReminders(event.reminders, details.reminders) &&
    (event.transparent === true) === (details.transparent === true)
  );
}

/**
 * The event without the details that are absent when they say nothing (reminders,
 * transparency), so that spreading new details over it takes theirs, absence included.
 */
function withoutOptionalDetails(
  event: CalendarEvent,
): Omit<CalendarEvent, 'reminders' | 'transparent'> {
  const copy: { -readonly [K in keyof CalendarEvent]?: CalendarEvent[K] } = { ...event };
  delete copy.reminders;
  delete copy.transparent;
  return copy as Omit<CalendarEvent, 'reminders' | 'transparent'>;
}

function sameReminders(
  a: readonly number[] | undefined,
  b: readonly number[] | undefined,
): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((m, i) => m === y[i]);
}

function requireOrganizer(
  record: EventRecord | undefined,
  eventId: EventId,
  actor: Username,
  verb: string,
): EventRecord {
  const { record: found } = requireAttendance(record, eventId, actor);
  if (found.event.organizer !== actor) {
    throw new Forbidden(`only the organizer (${found.event.organizer}) can ${verb} this event`);
  }
  if (found.event.status === 'cancelled') {
    throw new InvalidInput(`the event "${found.event.title}" is cancelled`, { field: 'eventId' });
  }
  return found;
}

/**
 * The organizer changes an event (rules above). Every attendee who has not declined is
 * told, and one asked again after declining is invited again; new invitees get an
 * invitation. Changing nothing changes nothing.
 * @throws NotFound, Forbidden (not the organizer), InvalidInput (cancelled, bad fields,
 * inviting to a group event), Conflict (the new time, for the organizer, unless allowed).
 */
export function updateEvent(
  command: UpdateEventCommand,
  context: UpdateEventContext,
): Decision<ScheduledEvent> {
  const record = requireOrganizer(context.record, command.eventId, command.actor, 'change');
  const before = record.event;
  const details = validateEventDraft(mergeChanges(before, command.changes));

  const invitees =
    command.invite === undefined || command.invite.length === 0
      ? []
      : validateInvitees(command.invite, command.actor, context.existingUsers).filter(
          (n) => attendeeOf(record, n) === undefined,
        );
  if (invitees.length > 0 && before.group !== null) {
    throw new InvalidInput(
      `group events invite the members of ${before.group.name}; add people to the group instead`,
      {
        field: 'invite',
      },
    );
  }

  if (sameDetails(before, details) && invitees.length === 0) {
    return decide(
      { event: eventDetailsView(record, 'accepted', false), conflicts: [], imposedConflicts: [] },
      [],
      [],
    );
  }

  const retimed = !sameTiming(before, details);
  const attendees: Attendee[] = [
    ...record.attendees.map((a) => (retimed ? askedAgain(a) : a)),
    ...invitees.map((username): Attendee => ({
      eventId: before.id,
      username,
      status: 'pending',
      role: 'invitee',
    })),
  ];
  const event: CalendarEvent = {
    // The reminders and transparency are the details' (absent: none), not what the event had.
    ...withoutOptionalDetails(before),
    ...details,
    status: before.group?.kind === 'flat' ? consensusStatus(attendees) : before.status,
    updatedAt: command.now,
    revision: before.revision + 1,
  };

  // Fewer exceptions bring occurrences back, which may collide as a new time would; an event
  // that took no time and now does (no longer transparent) may collide where it is.
  const recheck =
    retimed || !sameExceptions(before, details) || (!blocksTime(before) && blocksTime(event));
  const conflicts = recheck ? organizerConflicts(event, command.actor, context, command.now) : [];
  if (conflicts.length > 0 && command.allowConflict !== true) {
    throw conflictError('as changed, this event overlaps events you have accepted', conflicts);
  }

  const changed = attendees.filter((a, i) => record.attendees[i] !== a);
  const mutations: Mutation[] = [
    { kind: 'updateEvent', event },
    ...changed.map((attendee): Mutation => ({ kind: 'putAttendee', attendee })),
    ...relinkedDetached(before, event, command, context.detached ?? []),
  ];
  const notifications: Notification[] = [
    ...toldOfChange(
      record.attendees,
      attendees.slice(0, record.attendees.length),
      event.id,
      command.actor,
    ),
    ...invitees.map((n) => eventNotice(n, 'invited', event.id, command.actor)),
  ];
  return decide(
    {
      event: eventDetailsView({ event, attendees }, 'accepted', conflicts.length > 0),
      conflicts,
      imposedConflicts: [],
    },
    mutations,
    notifications,
  );
}

// ---------------------------------------------------------------------------------------

export interface UpdateOccurrenceCommand {
  readonly actor: Username;
  /** The series. */
  readonly eventId: EventId;
  /** The start of the occurrence to change, as the series' rule places it. */
  readonly occurrenceStart: Millis;
  /** The id of the event the occurrence becomes, chosen by the caller. */
  readonly newEventId: EventId;
  readonly now: Millis;
  /** As for {@link updateEvent}, but the occurrence becomes one-off: no recurrence, no exceptions. */
  readonly changes: EventChanges;
  readonly allowConflict?: boolean;
}

export interface UpdateOccurrenceContext extends OccurrenceContext {
  /** The organizer's events that may reach into the changed occurrence's conflict window. */
  readonly events: readonly EventRecord[];
  /**
   * How many live events are detached from the series (its occurrences changed on their
   * own): at {@link MAX_DETACHED_PER_SERIES}, no other one is.
   */
  readonly detachedCount: number;
}

/** What changing or cancelling one occurrence of a series needs to know of the series. */
export interface OccurrenceContext {
  /** The series. */
  readonly record: EventRecord | undefined;
  /**
   * The live event the occurrence asked for became, when it was changed on its own before:
   * a second change to it is refused naming that event, where the change goes now. Needed
   * only when the series has an exception at that start.
   */
  readonly detachedThere?: EventId | undefined;
}

/**
 * The refusal of an occurrence the series does not have at `start`: it was changed on its
 * own (into `detachedThere`, which the refusal names for the client to act on), it was
 * cancelled, or the rule never placed one there.
 */
function noOccurrenceAt(
  series: CalendarEvent,
  start: Millis,
  detachedThere: EventId | undefined,
): NotFound {
  const when = new Date(start).toISOString();
  const exception = series.recurrence?.exceptions.includes(start) === true;
  if (exception && detachedThere !== undefined) {
    return new NotFound(
      `the occurrence starting at ${when} was already changed on its own: it is now event ${detachedThere}`,
      { detachedEventId: detachedThere },
    );
  }
  // Cancelled, or changed on its own into an event since cancelled (or, when the series
  // moved since, not found at its new start).
  if (exception) {
    return new NotFound(
      `the occurrence starting at ${when} is no longer in the series: it was cancelled, or changed on its own`,
    );
  }
  return new NotFound(`the event has no occurrence starting at ${when}`);
}

/**
 * The organizer changes one occurrence of a recurring event on its own ("this event only"):
 * the occurrence becomes an exception of the series, and an event of its own takes its
 * place, with the changes applied. That event keeps what the series had — organizer, group,
 * visibility, reminders, and the attendees with their answers — and names where it came
 * from (`detachedFrom`). Its time is the occurrence's unless changed; when the change moves
 * it, what {@link updateEvent} does when an event's time changes follows: invitees who had
 * answered (accepted or declined) are asked again, a flat-group event waits for everyone
 * again, and the organizer's conflicts refuse it unless `allowConflict`. Both changes are
 * one decision, so the occurrence is never both in the series and on its own, nor gone
 * from both. Every attendee who has not declined it is told of the new event (one asked
 * again after declining is invited to it).
 * An occurrence changed on its own before is refused, naming the event it became; and a series
 * has at most {@link MAX_DETACHED_PER_SERIES} occurrences changed on their own.
 * @throws NotFound (series, or no occurrence starts then: `detachedEventId` when it was
 * changed on its own), Forbidden (not the organizer), InvalidInput (cancelled, not
 * recurring, bad fields, a recurrence asked for, too many changed on their own), Conflict.
 */
export function updateOccurrence(
  command: UpdateOccurrenceCommand,
  context: UpdateOccurrenceContext,
): Decision<ScheduledEvent> {
  const record = requireOrganizer(context.record, command.eventId, command.actor, 'change');
  const series = record.event;
  if (series.recurrence === null) {
    throw new InvalidInput('the event does not repeat: update the event itself', {
      field: 'occurrenceStart',
    });
  }
  if (
    (command.changes.recurrence !== undefined && command.changes.recurrence !== null) ||
    (command.changes.exceptions !== undefined && command.changes.exceptions.length > 0)
  ) {
    throw new InvalidInput('one occurrence cannot repeat: change the series to change its rule', {
      field: 'recurrence',
    });
  }
  const occurrence = expandOccurrences(series, {
    start: command.occurrenceStart,
    end: command.occurrenceStart + 1,
  }).find((o) => o.start === command.occurrenceStart);
  if (occurrence === undefined) {
    throw noOccurrenceAt(series, command.occurrenceStart, context.detachedThere);
  }
  if (context.detachedCount >= MAX_DETACHED_PER_SERIES) {
    throw new InvalidInput(
      `${MAX_DETACHED_PER_SERIES} occurrences of this series are changed on their own already, the most one series may have (so that it can still be cancelled or answered whole): cancel some of them, or change the whole series`,
      { field: 'occurrence' },
    );
  }

  // The occurrence as a one-off event of its own, which the changes are merged into.
  const { uid: _seriesUid, ...inherited } = series;
  const original: CalendarEvent = {
    ...inherited,
    id: command.newEventId,
    start: occurrence.start,
    end: occurrence.end,
    recurrence: null,
  };
  const details = validateEventDraft(
    mergeChanges(original, { ...command.changes, recurrence: null, exceptions: [] }),
  );
  const retimed = !sameTiming(original, details);
  const attendees: Attendee[] = record.attendees.map((a) => {
    const copy = { ...a, eventId: command.newEventId };
    return retimed ? askedAgain(copy) : copy;
  });
  const event: CalendarEvent = {
    // The reminders and transparency are the details' (the series' unless changed), as
    // updateEvent keeps them.
    ...withoutOptionalDetails(original),
    ...details,
    status: series.group?.kind === 'flat' ? consensusStatus(attendees) : series.status,
    createdAt: command.now,
    updatedAt: command.now,
    revision: 0,
    detachedFrom: { seriesId: series.id, occurrenceStart: occurrence.start },
  };
  const remaining: CalendarEvent = {
    ...series,
    recurrence: withException(series.recurrence, occurrence.start),
    updatedAt: command.now,
    revision: series.revision + 1,
  };

  // Unmoved, the occurrence stays where it was in the organizer's agenda: nothing new can
  // collide with it. Moved, it is checked against the series without it.
  const others = context.events.map((r) =>
    r.event.id === series.id ? { event: remaining, attendees: r.attendees } : r,
  );
  const recheck = retimed || (!blocksTime(original) && blocksTime(event));
  const conflicts = recheck ? findConflicts(event, command.actor, others, command.now) : [];
  if (conflicts.length > 0 && command.allowConflict !== true) {
    throw conflictError('as changed, this occurrence overlaps events you have accepted', conflicts);
  }

  return decide(
    {
      event: eventDetailsView({ event, attendees }, 'accepted', conflicts.length > 0),
      conflicts,
      imposedConflicts: [],
    },
    [
      { kind: 'updateEvent', event: remaining },
      { kind: 'insertEvent', event },
      ...attendees.map((attendee): Mutation => ({ kind: 'putAttendee', attendee })),
    ],
    toldOfChange(record.attendees, attendees, event.id, command.actor),
  );
}

/**
 * An attendee of an event whose time changed: an invitee who had answered, either way, is
 * asked again (the answer was about the old time), and an answer they had given to an
 * occurrence changed on its own is no longer theirs to keep. Imposed attendees and the
 * organizer stay as they were; an unchanged attendee is returned as it is.
 */
function askedAgain(attendee: Attendee): Attendee {
  if (attendee.role !== 'invitee' || attendee.status === 'pending') return attendee;
  return {
    eventId: attendee.eventId,
    username: attendee.username,
    status: 'pending',
    role: attendee.role,
  };
}

/**
 * Who is told of a change to an event whose attendees were `before` and are now `after`
 * (the same people, in the same order): everyone who has not declined it is told it
 * changed, and whoever had declined and is asked again is invited again.
 */
function toldOfChange(
  before: readonly Attendee[],
  after: readonly Attendee[],
  eventId: EventId,
  actor: Username,
): Notification[] {
  return after.flatMap((a, i) => {
    if (a.status === 'declined') return [];
    const invitedAgain = before[i]?.status === 'declined';
    return [eventNotice(a.username, invitedAgain ? 'invited' : 'updated', eventId, actor)];
  });
}

// ---------------------------------------------------------------------------------------

/** What importing one event did: made it, brought the event with its UID up to date, or nothing. */
export type ImportAction = 'created' | 'updated' | 'unchanged';

/** The outcome of importing one event: its UID, the id of the event it is, and what happened. */
export interface EventImport {
  readonly uid: string | null;
  readonly id: EventId;
  readonly action: ImportAction;
  /**
   * Set when the file has the event otherwise than the agenda, but its version is not newer
   * than the one imported before (see {@link importEvent}): why the agenda's is kept.
   */
  readonly kept?: string;
}

/**
 * Whether `incoming` is a newer version of a VEVENT than `held` (RFC 5545 §3.8.7.4): a
 * greater SEQUENCE, or the same one with a later LAST-MODIFIED (else DTSTAMP). A stamp that
 * is missing is older than any.
 */
export function isNewerImportedVersion(incoming: ImportedVersion, held: ImportedVersion): boolean {
  if (incoming.sequence !== held.sequence) return incoming.sequence > held.sequence;
  return (incoming.stamp ?? -Infinity) > (held.stamp ?? -Infinity);
}

function describeVersion(version: ImportedVersion): string {
  const stamp =
    version.stamp === null ? '' : `, last modified ${new Date(version.stamp).toISOString()}`;
  return `SEQUENCE ${version.sequence}${stamp}`;
}

/**
 * A changed occurrence of an imported series (an iCalendar VEVENT with a RECURRENCE-ID): the
 * occurrence the series' rule starts at `occurrenceStart`, moved or otherwise changed into
 * `details` (validated, one-off), or cancelled.
 */
export type ImportedOccurrence =
  | {
      readonly occurrenceStart: Millis;
      /** The id the occurrence takes when it becomes an event of its own; unused otherwise. */
      readonly eventId: EventId;
      readonly details: EventDetails;
    }
  | { readonly occurrenceStart: Millis; readonly eventId: EventId; readonly cancelled: true };

export interface ImportEventCommand {
  readonly actor: Username;
  /** The id a new event takes; unused when the UID finds one. */
  readonly eventId: EventId;
  readonly now: Millis;
  /** Null only in commands logged before UIDs were kept: the event is then simply created. */
  readonly uid: string | null;
  /** The imported draft, validated (`validateEventDraft`): the event as the file has it. */
  readonly details: EventDetails;
  /**
   * The series' changed occurrences in the file, at most
   * {@link MAX_IMPORTED_OCCURRENCES_PER_SERIES}, each occurrence once.
   */
  readonly occurrences?: readonly ImportedOccurrence[];
  readonly allowConflict?: boolean;
  /**
   * The file's version of the event (of the series and its changed occurrences), kept on the
   * event; absent in commands logged before it was sent, which import as they did.
   */
  readonly version?: ImportedVersion;
}

export interface ImportEventContext {
  /** The event the actor organizes with this UID (or, for an export of Agenda's own, this id), if any. */
  readonly existing: EventRecord | undefined;
  /**
   * The live events detached from `existing` (its occurrences changed on their own), up to
   * one more than {@link MAX_DETACHED_CANCELLED_WITH_SERIES}, so that a series with too many
   * is seen to have them; none when it does not repeat. Others are ignored.
   */
  readonly detached?: readonly EventRecord[];
  /**
   * The actor's commitments over the conflict windows of the draft and its occurrences;
   * none when conflicts are allowed (the answer does not depend on them).
   */
  readonly commitments: CommitmentIndex | undefined;
}

/**
 * One event of an `agenda import`, idempotent by UID. Without an event of the actor's with
 * that UID, it is created as a personal event (as {@link createEvent}) keeping the UID.
 * With one that keeps the version of the file it was imported from, the file's is compared
 * with it first (RFC 5545's SEQUENCE, then LAST-MODIFIED: {@link isNewerImportedVersion}):
 * unless the file's is newer, the event is left as it is — `unchanged`, and `kept` says why
 * when the file has it otherwise (it was changed here since: importing an old file again
 * does not undo that). The version imported is kept on the event.
 * Otherwise the event is brought to the file's version through {@link updateEvent}'s rules
 * (organizer only, conflicts of a new time refused unless allowed), or left alone —
 * `unchanged` — when nothing differs; a cancelled event stays cancelled (the file does not
 * bring back what its organizer cancelled) and is only refused if the file changed it.
 *
 * A series' changed occurrences come with it, and the whole is one decision:
 * - the occurrences the file changes or cancels are exceptions of the series, besides its
 *   EXDATEs (each must be an occurrence of the series' rule);
 * - a changed one becomes an event detached from the series, as {@link updateOccurrence}
 *   makes it (the series' people and answers, `detachedFrom`), or, when an earlier import
 *   (or the organizer) detached it already, that event is brought to the file's version
 *   through updateEvent's rules; it is conflict-checked as a new or moved event is, against
 *   the series and its other occurrences as the import leaves them;
 * - an occurrence detached before that the file cancels (STATUS:CANCELLED) is cancelled; one
 *   the file says nothing of is cancelled too (the file has that occurrence back in its
 *   series), but one it names in an EXDATE is left as it is (exports older than changed
 *   occurrences wrote every exception as an EXDATE);
 * - a cancelled series keeps its occurrences as they are.
 * The action is the series': `created`, else `updated` when anything changed, else
 * `unchanged`.
 * @throws InvalidInput, Forbidden, Conflict as createEvent and updateEvent do; InvalidInput
 * for occurrences that are not the series' (it does not repeat, or its rule has no
 * occurrence there), repeated, or too many.
 */
export function importEvent(
  command: ImportEventCommand,
  context: ImportEventContext,
): Decision<EventImport> {
  const { version } = command;
  const { existing } = context;
  const held = existing?.event.importedVersion;
  if (existing !== undefined && version !== undefined && held !== undefined) {
    if (!isNewerImportedVersion(version, held)) {
      const result = { uid: command.uid, id: existing.event.id, action: 'unchanged' as const };
      if (asTheFileHasIt(existing.event, command)) return decide(result, [], []);
      return decide(
        {
          ...result,
          kept: `kept the version in your agenda: the file's (${describeVersion(version)}) is not newer than the one it was imported from (${describeVersion(held)})`,
        },
        [],
        [],
      );
    }
  }
  const decision = importAsTheFileHasIt(command, context);
  if (version === undefined) return decision;
  return withImportedVersion(decision, version, existing);
}

/**
 * Whether `event` is the series as the file has it (its changed occurrences as exceptions);
 * the occurrences changed on their own are not compared, as they cost a load each.
 */
function asTheFileHasIt(event: CalendarEvent, command: ImportEventCommand): boolean {
  try {
    const details = withOccurrencesAsExceptions(command.details, command.occurrences ?? []);
    return sameDetails(event, details);
  } catch {
    return false;
  }
}

/**
 * The decision with `version` kept on the event it imported: on the row it writes, or, when
 * it found the event as the file has it and wrote nothing, in a write of its own that changes
 * nothing else (no new revision, nobody told), so that the next import compares with it.
 */
function withImportedVersion(
  decision: Decision<EventImport>,
  version: ImportedVersion,
  existing: EventRecord | undefined,
): Decision<EventImport> {
  const id = decision.result.id;
  let written = false;
  const mutations = decision.mutations.map((m): Mutation => {
    if ((m.kind !== 'insertEvent' && m.kind !== 'updateEvent') || m.event.id !== id) return m;
    written = true;
    return { ...m, event: { ...m.event, importedVersion: version } };
  });
  if (!written && existing !== undefined && existing.event.id === id) {
    const held = existing.event.importedVersion;
    if (held?.sequence !== version.sequence || held.stamp !== version.stamp) {
      mutations.push({
        kind: 'updateEvent',
        event: { ...existing.event, importedVersion: version },
      });
    }
  }
  return { ...decision, mutations };
}

/** {@link importEvent} once the file's version is found newer (or there is none to compare). */
function importAsTheFileHasIt(
  command: ImportEventCommand,
  context: ImportEventContext,
): Decision<EventImport> {
  const occurrences = command.occurrences ?? [];
  const seriesId = context.existing?.event.id;
  const detached = (context.detached ?? []).filter(
    (r) =>
      r.event.detachedFrom !== undefined &&
      r.event.detachedFrom.seriesId === seriesId &&
      r.event.status !== 'cancelled',
  );
  if (occurrences.length === 0 && detached.length === 0) return importSeries(command, context);
  if (detached.length > MAX_DETACHED_CANCELLED_WITH_SERIES) {
    throw new InvalidInput(
      `more than ${MAX_DETACHED_CANCELLED_WITH_SERIES} occurrences of the series "${context.existing?.event.title ?? ''}" were changed on their own, too many to bring to the file's version: cancel some of them first`,
      { field: 'occurrences' },
    );
  }
  const details = withOccurrencesAsExceptions(command.details, occurrences);
  // The detached occurrences this import cancels (the file has them back in the series, or
  // cancelled) are no commitment of the series it decides: one renamed in place would
  // otherwise refuse its own series. Those it keeps or updates stay in the check.
  const fileExceptions = new Set(command.details.recurrence?.exceptions ?? []);
  const changed = new Map<Millis, ImportedOccurrence>(
    occurrences.map((o) => [o.occurrenceStart, o]),
  );
  const cancelling = new Set(
    detached.flatMap((r) => {
      const start = (r.event.detachedFrom as DetachedOccurrence).occurrenceStart;
      const wanted = changed.get(start);
      const cancelled = wanted === undefined ? !fileExceptions.has(start) : 'cancelled' in wanted;
      return cancelled ? [r.event.id] : [];
    }),
  );
  const series =
    context.commitments === undefined
      ? importSeries({ ...command, details }, context)
      : context.commitments.passingOver(cancelling, () =>
          importSeries({ ...command, details }, context),
        );
  const result = series.result;
  const seriesAfter = recordAfter(context.existing, series.mutations, result.id);
  if (seriesAfter.event.status === 'cancelled') return series;

  const { actor, now } = command;
  const mutations: Mutation[] = [...series.mutations];
  const notifications: Notification[] = [...series.notifications];
  // The series' occurrences as the import leaves them, and those to check for conflicts.
  const family: EventRecord[] = [seriesAfter];
  const toCheck: CalendarEvent[] = [];
  const seen = new Set<Millis>();
  for (const record of detached) {
    const start = (record.event.detachedFrom as DetachedOccurrence).occurrenceStart;
    const wanted = seen.has(start) ? undefined : changed.get(start);
    seen.add(start);
    if (wanted === undefined && fileExceptions.has(start)) {
      family.push(record);
      continue;
    }
    if (wanted === undefined || 'cancelled' in wanted) {
      const cancelled = cancelEvent(
        { actor, eventId: record.event.id, now },
        { record, detached: [] },
      );
      mutations.push(...cancelled.mutations);
      notifications.push(...cancelled.notifications);
      continue;
    }
    // allowConflict: the import checks conflicts itself, against the series as it leaves it.
    const updated = updateEvent(
      {
        actor,
        eventId: record.event.id,
        now,
        changes: draftOf(wanted.details),
        allowConflict: true,
      },
      { record, existingUsers: new Set(), events: [] },
    );
    const after = recordAfter(record, updated.mutations, record.event.id);
    family.push(after);
    if (
      !sameTiming(record.event, wanted.details) ||
      (!blocksTime(record.event) && blocksTime(after.event))
    ) {
      toCheck.push(after.event);
    }
    mutations.push(...updated.mutations);
    notifications.push(...updated.notifications);
  }
  for (const occurrence of occurrences) {
    if ('cancelled' in occurrence || seen.has(occurrence.occurrenceStart)) continue;
    // updateOccurrence, over the series as if the occurrence were still in it: the series'
    // own change (the exception) is already in the series' decision, so it is left out.
    const { event } = seriesAfter;
    const recurrence = event.recurrence as Recurrence;
    const detaching = updateOccurrence(
      {
        actor,
        eventId: event.id,
        occurrenceStart: occurrence.occurrenceStart,
        newEventId: occurrence.eventId,
        now,
        changes: { ...draftOf(occurrence.details), recurrence: null, exceptions: [] },
        allowConflict: true,
      },
      {
        record: {
          event: {
            ...event,
            recurrence: {
              ...recurrence,
              exceptions: recurrence.exceptions.filter((x) => x !== occurrence.occurrenceStart),
            },
          },
          attendees: seriesAfter.attendees,
        },
        events: [],
        // The import counts what it leaves detached itself, once every occurrence is done.
        detachedCount: 0,
      },
    );
    const own = detaching.mutations.filter(
      (m) => !(m.kind === 'updateEvent' && m.event.id === event.id),
    );
    const made = recordAfter(undefined, own, occurrence.eventId);
    family.push(made);
    toCheck.push(made.event);
    mutations.push(...own);
    notifications.push(...detaching.notifications);
  }

  // Everything in the family but the series is an occurrence it leaves changed on its own.
  if (family.length - 1 > MAX_DETACHED_PER_SERIES) {
    throw new InvalidInput(
      `as the file has it, "${seriesAfter.event.title}" would have ${family.length - 1} occurrences changed on their own, more than the ${MAX_DETACHED_PER_SERIES} one series may have`,
      { field: 'occurrences' },
    );
  }
  if (command.allowConflict !== true) {
    const ignoring = new Set([seriesAfter.event.id, ...detached.map((r) => r.event.id)]);
    for (const candidate of toCheck) {
      const conflicts = [
        ...(context.commitments?.conflictsOf(candidate, now, ignoring) ?? []),
        ...findConflicts(candidate, actor, family, now),
      ];
      if (conflicts.length > 0) {
        throw conflictError(
          `as the file changes it, the occurrence of "${seriesAfter.event.title}" on ${new Date(candidate.start).toISOString()} overlaps events you have accepted`,
          conflicts,
        );
      }
    }
  }
  const action =
    result.action !== 'unchanged' || mutations.length === 0 ? result.action : 'updated';
  return decide({ ...result, action }, mutations, notifications);
}

/**
 * The series' details with its changed occurrences added to its exceptions (sorted, each
 * once), after checking that each is an occurrence of its rule. The rule is read without the
 * file's EXDATEs: some producers write one for an occurrence they also change.
 * @throws InvalidInput (see {@link importEvent}).
 */
function withOccurrencesAsExceptions(
  details: EventDetails,
  occurrences: readonly ImportedOccurrence[],
): EventDetails {
  if (occurrences.length === 0) return details;
  const recurrence = details.recurrence;
  if (recurrence === null) {
    throw new InvalidInput(
      `"${details.title}" does not repeat, so it has no occurrence to change (RECURRENCE-ID)`,
      { field: 'occurrences' },
    );
  }
  if (occurrences.length > MAX_IMPORTED_OCCURRENCES_PER_SERIES) {
    throw new InvalidInput(
      `"${details.title}" has ${occurrences.length} changed occurrences, more than the ${MAX_IMPORTED_OCCURRENCES_PER_SERIES} one series may bring`,
      { field: 'occurrences' },
    );
  }
  const rule: Series = {
    id: '',
    start: details.start,
    end: details.end,
    timeZone: details.timeZone,
    recurrence: { ...recurrence, exceptions: [] },
  };
  const starts = new Set<Millis>();
  for (const { occurrenceStart } of occurrences) {
    const when = Number.isFinite(occurrenceStart)
      ? new Date(occurrenceStart).toISOString()
      : String(occurrenceStart);
    if (starts.has(occurrenceStart)) {
      throw new InvalidInput(`the occurrence of "${details.title}" on ${when} is changed twice`, {
        field: 'occurrences',
      });
    }
    if (!isOccurrenceStart(rule, occurrenceStart)) {
      throw new InvalidInput(`"${details.title}" has no occurrence starting on ${when} to change`, {
        field: 'occurrences',
      });
    }
    starts.add(occurrenceStart);
  }
  const exceptions = [...new Set([...recurrence.exceptions, ...starts])].sort((a, b) => a - b);
  if (exceptions.length > MAX_EXCEPTIONS) {
    throw new InvalidInput(
      `"${details.title}" would have ${exceptions.length} cancelled or changed occurrences, more than the ${MAX_EXCEPTIONS} one series may have`,
      { field: 'occurrences' },
    );
  }
  return { ...details, recurrence: { ...recurrence, exceptions } };
}

/** `before` (or nothing) with the decision's writes to the event `id` and its attendees. */
function recordAfter(
  before: EventRecord | undefined,
  mutations: readonly Mutation[],
  id: EventId,
): EventRecord {
  let event = before?.event;
  const attendees = new Map((before?.attendees ?? []).map((a) => [a.username, a]));
  for (const m of mutations) {
    if ((m.kind === 'insertEvent' || m.kind === 'updateEvent') && m.event.id === id)
      event = m.event;
    if (m.kind === 'putAttendee' && m.attendee.eventId === id)
      attendees.set(m.attendee.username, m.attendee);
  }
  if (event === undefined) throw new Internal(`the import decided nothing about the event ${id}`);
  return { event, attendees: [...attendees.values()] };
}

/** {@link importEvent} of the series alone. */
function importSeries(
  command: ImportEventCommand,
  context: ImportEventContext,
): Decision<EventImport> {
  const { actor, now, uid, details } = command;
  const options =
    command.allowConflict === undefined ? {} : { allowConflict: command.allowConflict };
  const { existing } = context;
  if (existing === undefined) {
    const created = schedule(
      { actor, eventId: command.eventId, now, ...options, ...(uid === null ? {} : { uid }) },
      details,
      {
        existingUsers: new Set(),
        group: undefined,
        events: [],
        commitments: context.commitments,
      },
    );
    return decide(
      { uid, id: command.eventId, action: 'created' },
      created.mutations,
      created.notifications,
    );
  }
  const id = existing.event.id;
  if (existing.event.organizer !== actor) {
    throw new Internal(`an import by ${actor} was matched with ${id}, which they do not organize`);
  }
  if (sameDetails(existing.event, details)) return decide({ uid, id, action: 'unchanged' }, [], []);
  const updated = updateEvent(
    { actor, eventId: id, now, changes: draftOf(details), ...options },
    { record: existing, existingUsers: new Set(), events: [], commitments: context.commitments },
  );
  const action = updated.mutations.length === 0 ? 'unchanged' : 'updated';
  return decide({ uid, id, action }, updated.mutations, updated.notifications);
}

// ---------------------------------------------------------------------------------------

export interface CancelEventCommand {
  readonly actor: Username;
  readonly eventId: EventId;
  readonly now: Millis;
}

export interface EventContext {
  readonly record: EventRecord | undefined;
}

export interface CancelEventContext extends EventContext {
  /**
   * The live events detached from it (its occurrences changed on their own), up to one more
   * than {@link MAX_DETACHED_CANCELLED_WITH_SERIES}, so that a series with too many is seen
   * to have them. Cancelled events, and events detached from another series, are ignored.
   */
  readonly detached: readonly EventRecord[];
}

/**
 * The organizer cancels the event (the whole series), and with it the occurrences changed
 * on their own (`detachedFrom` it): deleting "all events" of a series in a calendar leaves
 * no moved occurrence behind. Everything goes in one decision, so a replica never has the
 * series gone and a moved occurrence still on, and every attendee of each who has not
 * declined is told it is cancelled. Cancelling a cancelled event changes nothing.
 * @throws NotFound, Forbidden (not the organizer: decline instead; or of a detached
 * event, which only the series' organizer can have made), InvalidInput (more detached
 * events than {@link MAX_DETACHED_CANCELLED_WITH_SERIES}).
 */
export function cancelEvent(
  command: CancelEventCommand,
  context: CancelEventContext,
): Decision<EventDetailsView> {
  const { record } = requireAttendance(context.record, command.eventId, command.actor);
  if (record.event.organizer !== command.actor) {
    throw new Forbidden(
      `only the organizer (${record.event.organizer}) can cancel this event; decline it instead`,
    );
  }
  if (record.event.status === 'cancelled')
    return decide(eventDetailsView(record, 'accepted', false), [], []);
  const detached = context.detached.filter(
    (r) => r.event.detachedFrom?.seriesId === record.event.id && r.event.status !== 'cancelled',
  );
  if (detached.length > MAX_DETACHED_CANCELLED_WITH_SERIES) {
    throw new InvalidInput(
      `more than ${MAX_DETACHED_CANCELLED_WITH_SERIES} occurrences of this series were changed on their own, too many to cancel with it: cancel some of them first`,
      { field: 'eventId' },
    );
  }
  // Only the series' organizer detaches its occurrences, so this never refuses; it is
  // checked all the same, as cancelling each of them alone would check it.
  for (const r of detached) requireOrganizer(r, r.event.id, command.actor, 'cancel');

  const cancel = (r: EventRecord): EventRecord => ({
    event: {
      ...r.event,
      status: 'cancelled',
      updatedAt: command.now,
      revision: r.event.revision + 1,
    },
    attendees: r.attendees,
  });
  const series = cancel(record);
  const cancelled = [series, ...detached.map(cancel)];
  return decide(
    eventDetailsView(series, 'accepted', false),
    cancelled.map((r): Mutation => ({ kind: 'updateEvent', event: r.event })),
    cancelled.flatMap((r) =>
      r.attendees
        .filter((a) => a.status !== 'declined')
        .map((a) => eventNotice(a.username, 'cancelled', r.event.id, command.actor)),
    ),
  );
}

/**
 * `recurrence` with the occurrence starting at `start` removed, as an exception. A series
 * holds at most {@link MAX_EXCEPTIONS} of them, as one written whole is allowed (validation.ts):
 * every expansion of the series skips them, so they bound its cost as its rule does.
 * @throws InvalidInput when the series has as many as it may.
 */
function withException(recurrence: Recurrence, start: Millis): Recurrence {
  if (recurrence.exceptions.length >= MAX_EXCEPTIONS) {
    throw new InvalidInput(
      `the series has ${MAX_EXCEPTIONS} cancelled or changed occurrences already, the most one may have: end it and start a new one`,
      { field: 'occurrence' },
    );
  }
  return { ...recurrence, exceptions: [...recurrence.exceptions, start].sort((a, b) => a - b) };
}

export interface CancelOccurrenceCommand {
  readonly actor: Username;
  readonly eventId: EventId;
  /** The start of the occurrence to remove. */
  readonly occurrenceStart: Millis;
  readonly now: Millis;
}

/**
 * The organizer removes one occurrence of a recurring event (it becomes an exception).
 * Every attendee who has not declined is told the series was updated. One changed on its
 * own before is an event of its own now: the refusal names it, to be cancelled as such.
 * @throws NotFound (event, or no occurrence starts then: `detachedEventId` when it was
 * changed on its own), Forbidden, InvalidInput (not recurring).
 */
export function cancelOccurrence(
  command: CancelOccurrenceCommand,
  context: OccurrenceContext,
): Decision<EventDetailsView> {
  const record = requireOrganizer(context.record, command.eventId, command.actor, 'change');
  const { event: before } = record;
  if (before.recurrence === null) {
    throw new InvalidInput('the event does not repeat: cancel the event itself', {
      field: 'occurrenceStart',
    });
  }
  if (!isOccurrenceStart(before, command.occurrenceStart)) {
    throw noOccurrenceAt(before, command.occurrenceStart, context.detachedThere);
  }
  const event: CalendarEvent = {
    ...before,
    recurrence: withException(before.recurrence, command.occurrenceStart),
    updatedAt: command.now,
    revision: before.revision + 1,
  };
  return decide(
    eventDetailsView({ event, attendees: record.attendees }, 'accepted', false),
    [{ kind: 'updateEvent', event }],
    record.attendees
      .filter((a) => a.status !== 'declined')
      .map((a) => eventNotice(a.username, 'updated', event.id, command.actor)),
  );
}

// ---------------------------------------------------------------------------------------

export interface ListEventsQuery {
  readonly actor: Username;
  readonly from: Millis;
  readonly to: Millis;
}

export interface EventsContext {
  /** The actor's events that may reach into the interval (extra rows are ignored). */
  readonly events: readonly EventRecord[];
}

/**
 * `event list`: every occurrence in `[from, to)` of every event the actor is on the list
 * of — accepted, pending, declined, and cancelled ones too (their status says so) — in
 * start order. `conflict` marks occurrences, accepted or still to answer, that overlap
 * another of the actor's commitments: for a pending invitation it warns that accepting
 * would be refused.
 */
export function listEvents(query: ListEventsQuery, context: EventsContext): EventView[] {
  const window = validateQueryInterval(query.from, query.to);
  return listedOccurrences(query.actor, window, context).map(viewOfListed);
}

/** A page of {@link listEvents}: `next` is the cursor of the following page, null at the end. */
export interface EventsPage {
  readonly events: EventView[];
  readonly next: string | null;
}

/** What placing an event in a list needs: when it occurs, and whether it is live. */
export type ListedEvent = Pick<
  CalendarEvent,
  'id' | 'start' | 'end' | 'timeZone' | 'recurrence' | 'status' | 'transparent'
>;

/** One event of the actor's list, with the actor's answer to it. */
export interface ListingEntry {
  readonly event: ListedEvent;
  readonly status: AttendeeStatus;
}

export interface ListingContext {
  /**
   * The events the actor is on the list of that may reach into the interval (extra rows
   * are ignored), each once.
   */
  readonly entries: readonly ListingEntry[];
}

/**
 * Which occurrences a page of the list holds, decided from the events' times alone: the
 * first {@link PageRequest.limit} after the cursor (and the one after them, which says
 * whether a next page exists), with their conflict flags. {@link eventsPageOf} turns it into
 * the page once the events shown are loaded whole ({@link eventsShownInList}).
 */
export interface EventsPagePlan {
  readonly limit: number;
  readonly items: readonly PlannedOccurrence[];
}

interface PlannedOccurrence {
  readonly status: AttendeeStatus;
  readonly occurrence: Occurrence;
  readonly conflict: boolean;
}

/**
 * The first step of one page of {@link listEvents} (see {@link EventsPagePlan}). Only
 * occurrences from the cursor's start on are expanded, each series once; conflict flags are
 * computed for the page's occurrences only, against the commitments among those expanded.
 * So a page costs the events reaching `[cursor start, to)` and their occurrences there, plus
 * the page — not the whole list's conflicts, nor every event loaded whole.
 * @throws InvalidInput (interval, `limit`, `after`).
 */
export function planEventsPage(
  query: ListEventsQuery & PageRequest,
  context: ListingContext,
): EventsPagePlan {
  return planListingPage(query, (_window, scan) => expandListing(scan, context.entries));
}

/**
 * Every occurrence of a list in `window`, in list order, and the commitments among them:
 * what {@link planListingPage} cuts any page of that list from. The store keeps one while
 * its pages are read (`server/store/listing-cache.ts`), so following a list of 5,000 series
 * page by page expands them once, not once per page.
 */
export interface ListingExpansion {
  readonly window: Interval;
  /** In the order of {@link compareOccurrenceKeys}. */
  readonly rows: readonly ListingRow[];
  /** The accepted, not cancelled occurrences that take time, in no particular order. */
  readonly committed: readonly Occurrence[];
}

interface ListingRow {
  readonly key: OccurrenceKey;
  readonly status: AttendeeStatus;
  /**
   * Checked for conflicts: neither cancelled nor declined (shown as it is), and taking time
   * (not transparent: `blocksTime`).
   */
  readonly live: boolean;
  readonly occurrence: Occurrence;
}

/** {@link ListingExpansion} of `entries` (each event once) in `window`. */
export function expandListing(
  window: Interval,
  entries: readonly ListingEntry[],
): ListingExpansion {
  const rows: ListingRow[] = [];
  const committed: Occurrence[] = [];
  const seen = new Set<EventId>();
  for (const entry of entries) {
    if (seen.has(entry.event.id)) continue;
    seen.add(entry.event.id);
    const cancelled = entry.event.status === 'cancelled';
    const takesTime = entry.event.transparent !== true;
    const commitment = !cancelled && entry.status === 'accepted' && takesTime;
    const live = !cancelled && entry.status !== 'declined' && takesTime;
    for (const occurrence of expandOccurrences(entry.event, window)) {
      if (commitment) committed.push(occurrence);
      rows.push({ key: occurrenceKey(occurrence), status: entry.status, live, occurrence });
    }
  }
  rows.sort((a, b) => compareOccurrenceKeys(a.key, b.key));
  return { window, rows, committed };
}

/**
 * One page of a list: the first `limit` occurrences after the cursor, and one more (whether
 * it exists tells whether there is a next page), with their conflict flags. The query is
 * checked first; then `expand` gives the list's expansion, which must cover `scan` (what is
 * left of `window` after the cursor): the whole window when it is kept for later pages, or
 * `scan` alone. Costs the expansion, a binary search, the page, and one pass over the
 * commitments.
 * @throws InvalidInput (interval, `limit`, `after`); Internal when the expansion does not
 *   cover `scan`.
 */
export function planListingPage(
  query: PageRequest & { readonly from: Millis; readonly to: Millis },
  expand: (window: Interval, scan: Interval) => ListingExpansion,
): EventsPagePlan {
  const window = validateQueryInterval(query.from, query.to);
  const limit = pageLimit(query.limit);
  const after = query.after === undefined ? null : decodeCursor('event', query.after);
  const scan = windowAfter(window, after);
  if (scan === null) return { limit, items: [] };
  const expansion = expand(window, scan);
  if (expansion.window.start > scan.start || expansion.window.end !== scan.end) {
    throw new Internal('the expansion does not cover the page asked for');
  }
  const { rows } = expansion;
  let first = 0;
  if (after !== null) {
    // The first row after the cursor.
    let high = rows.length;
    while (first < high) {
      const middle = (first + high) >>> 1;
      if (compareOccurrenceKeys((rows[middle] as ListingRow).key, after) > 0) high = middle;
      else first = middle + 1;
    }
  }
  const chosen = rows.slice(first, first + limit + 1);
  const live = chosen.filter((r) => r.live).map((r) => r.occurrence);
  let conflicting = new Set<Occurrence>();
  if (live.length > 0) {
    // Only commitments that overlap the page's span can conflict with it.
    const from = Math.min(...live.map((o) => o.start));
    const to = Math.max(...live.map((o) => o.end));
    const near = expansion.committed.filter((o) => o.start < to && o.end > from);
    conflicting = conflictingSubset(live, near);
  }
  return {
    limit,
    items: chosen.map((r) => ({
      status: r.status,
      occurrence: r.occurrence,
      conflict: conflicting.has(r.occurrence),
    })),
  };
}

/** The events a page shows, which {@link eventsPageOf} needs whole. */
export function eventsShownInList(plan: EventsPagePlan): Set<EventId> {
  return new Set(plan.items.slice(0, plan.limit).map((item) => item.occurrence.eventId));
}

/**
 * The page `plan` chose, with `events` holding (at least) {@link eventsShownInList}: cut to
 * the page's text bound, with the cursor of the next page.
 * @throws Internal when an event shown is missing.
 */
export function eventsPageOf(
  plan: EventsPagePlan,
  events: ReadonlyMap<EventId, CalendarEvent>,
): EventsPage {
  const viewOf = (item: PlannedOccurrence): EventView => {
    const event = events.get(item.occurrence.eventId);
    if (event === undefined) throw new Internal(`event ${item.occurrence.eventId} was not loaded`);
    return eventView(event, item.occurrence, item.status, item.conflict);
  };
  const page = takePage(
    plan.items,
    plan.limit,
    (item) => occurrenceKey(item.occurrence),
    (item) => textWeight(viewOf(item)),
  );
  return {
    events: page.items.map(viewOf),
    next: page.last === null ? null : encodeCursor('event', page.last),
  };
}

/**
 * One page of {@link listEvents}: the first `limit` occurrences after the cursor `after`,
 * in the same order ({@link planEventsPage}, then {@link eventsPageOf}), from whole records.
 * @throws InvalidInput (interval, `limit`, `after`).
 */
export function listEventsPage(
  query: ListEventsQuery & PageRequest,
  context: EventsContext,
): EventsPage {
  const mine = uniqueAttended(context.events, query.actor);
  const entries = mine.map((record) => ({
    event: record.event,
    status: attendeeOf(record, query.actor)?.status ?? 'pending',
  }));
  const events = new Map(mine.map((record) => [record.event.id, record.event]));
  return eventsPageOf(planEventsPage(query, { entries }), events);
}

interface ListedOccurrence {
  readonly record: EventRecord;
  readonly status: AttendeeStatus;
  readonly occurrence: Occurrence;
  readonly conflict: boolean;
}

/** The actor's occurrences overlapping `window`, in list order, with their conflict flags. */
function listedOccurrences(
  actor: Username,
  window: Interval,
  context: EventsContext,
): ListedOccurrence[] {
  const mine = uniqueAttended(context.events, actor);
  const committed = occurrencesIn(busyCommitmentsOf(actor, mine), window);
  const rows = mine.flatMap((record) => {
    const status = attendeeOf(record, actor)?.status ?? 'pending';
    return expandOccurrences(record.event, window).map((occurrence) => ({
      record,
      status,
      occurrence,
    }));
  });
  const live = rows
    .filter(
      (r) =>
        r.record.event.status !== 'cancelled' &&
        r.status !== 'declined' &&
        r.record.event.transparent !== true,
    )
    .map((r) => r.occurrence);
  const conflicting = conflictingSubset(live, committed);
  return rows
    .sort((a, b) => compareOccurrenceKeys(occurrenceKey(a.occurrence), occurrenceKey(b.occurrence)))
    .map((r) => ({ ...r, conflict: conflicting.has(r.occurrence) }));
}

function viewOfListed(r: ListedOccurrence): EventView {
  return eventView(r.record.event, r.occurrence, r.status, r.conflict);
}

function uniqueAttended(records: readonly EventRecord[], username: Username): EventRecord[] {
  const byId = new Map<string, EventRecord>();
  for (const r of records) {
    if (!byId.has(r.event.id) && attendeeOf(r, username) !== undefined) byId.set(r.event.id, r);
  }
  return [...byId.values()];
}

export interface ShowEventQuery {
  readonly actor: Username;
  readonly eventId: EventId;
  readonly now: Millis;
}

export interface ShowEventContext {
  readonly record: EventRecord | undefined;
  /** The actor's events that may reach into the event's conflict window. */
  readonly events: readonly EventRecord[];
}

/**
 * `event show`: the whole event with its attendees, to the people on its list.
 * `conflict` says whether it (still to come, not declined) overlaps another commitment.
 * @throws NotFound (also for people not on the list).
 */
export function showEvent(query: ShowEventQuery, context: ShowEventContext): EventDetailsView {
  const { record, attendee } = requireAttendance(context.record, query.eventId, query.actor);
  const live = record.event.status !== 'cancelled' && attendee.status !== 'declined';
  const conflict =
    live && findConflicts(record.event, query.actor, context.events, query.now).length > 0;
  return eventDetailsView(record, attendee.status, conflict);
}
