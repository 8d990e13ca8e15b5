/**
 * # The calendar domain
 *
 * Every user-facing rule of Agenda, as pure functions over plain data. This folder knows
 * nothing of Redis, HTTP or sql.js: no I/O, no clock, no randomness, no hidden state.
 *
 * ## The decision-function pattern
 *
 * The store (SQLite inside the Raft state machine) runs each command in three steps:
 *
 * 1. **Load** the rows the operation's `…Context` names (the actor's group, the event and
 *    its attendees, the commitments that may collide…). Loading more than asked is
 *    harmless — every operation filters what it is given — loading less is a bug.
 * 2. **Decide**: call the operation with the command (actor, fields, and — because `apply`
 *    must be deterministic — the new ids and `now` carried inside the command). It either
 *    throws an `AgendaError` from `contract/errors.ts` (`invalid`, `forbidden`, `not_found`,
 *    `conflict` with the occurrences in the way) or returns a {@link Decision}:
 *    `mutations` (rows to insert/update/delete, in order), `notifications` (who to tell
 *    what, for live updates) and `result` (what to answer, in the CLI's field names).
 * 3. **Apply** the mutations verbatim, publish the notifications, return the result.
 *
 * Queries (`list…`, `show…`, `view…`, `find…`, `conflictsFor`, `exportPieceOf`) take the same
 * kind of context and return views directly.
 *
 * ## What to load: windows
 *
 * - {@link conflictWindow}`(details, now)`: the interval in which a candidate event is
 *   checked; load the commitments of the people concerned that reach into it.
 * - {@link seriesEnd}`(event)`: no occurrence ends after it (+Infinity for endless series);
 *   index it to find series reaching into an interval: `start < to AND seriesEnd > from`.
 *
 * ## Operations (command → context → result)
 *
 * | operation | command | context | result |
 * |---|---|---|---|
 * | `registerUser` | username, displayName? | existing user, retired? | `User` |
 * | `leaveEventOfDeletedAccount` | username, now | the event record | `EventDeparture` |
 * | `leaveGroupOfDeletedAccount` | username, now | group, a page of its events | `GroupDeparture` |
 * | `createGroup` | actor, name, kind | existing group | `GroupView` |
 * | `inviteMember` | actor, group, username, level?, now | group, user, blocked | `GroupView` |
 * | `joinGroup` | actor, group, now | group, groupEvents | `GroupView` |
 * | `declineGroupInvitation` | actor, group, block | group, blocked | `DeclineGroupResult` |
 * | `unblockGroup` | actor, group | group, blocked | `DeclineGroupResult` |
 * | `removeMember` (a member, or withdraws an invitation) | actor, group, username, now | group, groupEvents | `GroupView` |
 * | `leaveGroup` | actor, group, now | group, groupEvents | `{ group: GroupView \| null }` |
 * | `changeLevel` | actor, group, username, level | group | `GroupView` |
 * | `transferOwnership` | actor, group, to | group | `GroupView` |
 * | `createEvent` | actor, eventId, now, draft, with? \| group?, allowConflict? | existingUsers, group, events | `ScheduledEvent` |
 * | `updateEvent` | actor, eventId, now, changes, invite?, allowConflict? | record, existingUsers, events | `ScheduledEvent` |
 * | `importEvent` | actor, eventId, now, uid, details, occurrences?, allowConflict? | existing (by UID), detached (live, from it), commitments | `EventImport` |
 * | `cancelEvent` | actor, eventId, now | record, detached | `EventDetailsView` |
 * | `cancelOccurrence` | actor, eventId, occurrenceStart, now | record, detachedThere? | `EventDetailsView` |
 * | `updateOccurrence` | actor, eventId, occurrenceStart, newEventId, now, changes, allowConflict? | record, detachedThere?, events, detachedCount | `ScheduledEvent` |
 * | `acceptInvitation` | actor, eventId, now, allowConflict? | record, events | `EventDetailsView` |
 * | `declineInvitation` | actor, eventId, now | record | `EventDetailsView` |
 * | `listEvents` (query) | actor, from, to | events | `EventView[]` |
 * | `listEventsPage` (query) | actor, from, to, limit?, after? | events | `{ events, next }` |
 * | `planEventsPage` → `eventsPageOf` (query, two steps) | actor, from, to, limit?, after? | entries (times, the actor's answer); then the events `eventsShownInList` names | `{ events, next }` |
 * | `showEvent` (query) | actor, eventId, now | record, events | `EventDetailsView` |
 * | `listInvitations` (query) | actor, now | events | `EventDetailsView[]` |
 * | `conflictsFor` / `conflictsPage` (query) | actor, from, to (+ limit?, after?) | events | `ConflictView[]` / `{ conflicts, next }` |
 * | `viewAgendas` / `viewAgendasPage` (query) | viewer, targets, from, to (+ limit?, after?) | existingUsers, groups, commitments, events (`agendaContextOf` from records) | `AgendaView[]` / `{ agendas, next }` |
 * | `findCommonFreeTime` (query) | actor, group, from, to, duration | group, events | `SlotView[]` |
 * | `showGroup` / `listGroups` (query) | actor, group? | group / groups | `GroupView` / `GroupView[]` |
 * | `listGroupInvitations` (query) | actor | groups inviting the actor | `GroupInvitationView[]` |
 * | `calendarHead` + `exportPieceOf`/`exportPieceText` + `CALENDAR_TAIL` (query, a page at a time) | zones used; each record with its series' exported detached events | — | iCalendar text |
 * | `importICalendar` | file text, defaultTimeZone | — | drafts with UIDs (and changed occurrences) for `importEvent` + skipped and changed components |
 *
 * `events` in a context always means: events with their complete attendee lists, those the
 * named people attend that may reach into the relevant window. `commitments` is a
 * {@link CommitmentIndex}: one user's commitments over the windows of many candidates,
 * built once per command that checks many (an import), and told what each decision changed.
 */
export type * from './types.js';
export * from '../../contract/limits.js';

export { registerUser } from './users.js';
export type { RegisterUserCommand, RegisterUserContext } from './users.js';

export { leaveEventOfDeletedAccount, leaveGroupOfDeletedAccount, successorOf } from './accounts.js';
export type {
  AccountDeletionCommand,
  EventDeparture,
  GroupDeparture,
  GroupDepartureContext,
} from './accounts.js';

export {
  changeLevel,
  createGroup,
  declineGroupInvitation,
  groupView,
  invitationOf,
  inviteMember,
  isSuperior,
  joinGroup,
  leaveGroup,
  listGroupInvitations,
  listGroups,
  membershipOf,
  unblockGroup,
  removeMember,
  sharedGroups,
  showGroup,
  transferOwnership,
} from './groups.js';
export type {
  ChangeLevelCommand,
  CreateGroupCommand,
  CreateGroupContext,
  DeclineGroupCommand,
  DeclineGroupContext,
  DeclineGroupResult,
  GroupContext,
  GroupInvitationView,
  GroupView,
  InviteMemberCommand,
  InviteMemberContext,
  JoinGroupCommand,
  LeaveGroupCommand,
  LeaveResult,
  MembershipChangeContext,
  RemoveMemberCommand,
  TransferOwnershipCommand,
} from './groups.js';

export { eventMatcher, validateSearchText } from './search.js';

export {
  cancelEvent,
  cancelOccurrence,
  changesByAttendee,
  createEvent,
  importEvent,
  eventsPageOf,
  eventsShownInList,
  expandListing,
  listEvents,
  listEventsPage,
  planEventsPage,
  planListingPage,
  showEvent,
  updateEvent,
  updateOccurrence,
} from './events.js';
export type {
  CancelEventCommand,
  CancelEventContext,
  CancelOccurrenceCommand,
  CreateEventCommand,
  CreateEventContext,
  EventChanges,
  EventContext,
  EventImport,
  EventsContext,
  EventsPage,
  EventsPagePlan,
  ImportAction,
  ImportEventCommand,
  ImportEventContext,
  ImportedOccurrence,
  ListedEvent,
  ListEventsQuery,
  ListingContext,
  ListingEntry,
  ListingExpansion,
  OccurrenceContext,
  ScheduledEvent,
  ShowEventContext,
  ShowEventQuery,
  UpdateEventCommand,
  UpdateEventContext,
  UpdateOccurrenceCommand,
  UpdateOccurrenceContext,
} from './events.js';

export {
  acceptInvitation,
  declineInvitation,
  invitationsPage,
  listInvitations,
} from './invitations.js';
export type {
  AnswerInvitationCommand,
  AnswerInvitationContext,
  InvitationsQuery,
} from './invitations.js';

export {
  ALLOW_CONFLICT_HINT,
  CommitmentIndex,
  conflictWindow,
  conflictsFor,
  conflictsPage,
  findConflicts,
  mergeIntervals,
} from './conflicts.js';
export type {
  CommittedEvent,
  ConflictsContext,
  ConflictsPage,
  ConflictsQuery,
} from './conflicts.js';

export {
  agendaContextOf,
  canSeeDetails,
  canViewAgenda,
  detailsRule,
  eventsShownInDetail,
  viewAgendas,
  viewAgendasPage,
} from './agenda-view.js';
export type {
  AgendasPage,
  AgendaCommitment,
  AgendaContext,
  AgendaEvent,
  AgendaEntry,
  AgendaQuery,
  AgendaTargets,
  AgendaView,
} from './agenda-view.js';

export {
  MAX_CURSOR_LENGTH,
  compareOccurrenceKeys,
  decodeCursor,
  encodeCursor,
  pageLimit,
} from './paging.js';
export type { ListKind, PageRequest } from './paging.js';

export { findCommonFreeTime, freeGaps, freeTimePeople } from './free-time.js';
export type { FreeTimeContext, FreeTimeQuery } from './free-time.js';

export {
  expandOccurrences,
  formatRecurrenceRule,
  isOccurrenceStart,
  parseRecurrenceRule,
  RecurrenceBudget,
  seriesEnd,
} from './recurrence.js';
export type { Series } from './recurrence.js';

export {
  CALENDAR_TAIL,
  calendarHead,
  derivedUid,
  exportICalendar,
  exportPieceOf,
  exportPieceText,
  vtimezoneText,
  zoneSpan,
  zoneText,
  importICalendar,
  MAX_IMPORTED_EVENTS,
  MAX_UID_LENGTH,
} from './icalendar.js';
export type {
  ChangedComponent,
  ExportedDetached,
  ExportOptions,
  ExportPiece,
  ImportedEvent,
  ImportOptions,
  ImportResult,
  SkippedComponent,
  ZoneUse,
} from './icalendar.js';

export {
  calendarResources,
  resourceName,
  resourceReaches,
  resourceText,
} from './calendar-resources.js';
export type { CalendarResource } from './calendar-resources.js';

export {
  parseDuration,
  parseInstant,
  validateDisplayName,
  validateEventDraft,
  validateFeedLabel,
  validateGroupName,
  validatePassword,
  validateQueryInterval,
  validateTimeZone,
  validateUsername,
} from './validation.js';
export type { EventDetails, EventDraft } from './validation.js';

export { toIso } from './views.js';
export type {
  AttendeeView,
  BusyBlock,
  ConflictView,
  EventDetailsView,
  EventView,
  SlotView,
} from './views.js';
