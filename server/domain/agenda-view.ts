/**
 * Looking at other people's agendas, with privacy and hierarchy respected.
 *
 * Viewer V may see user U's agenda only if V = U or they share a group. U's agenda is U's
 * commitments (accepted, not cancelled). Each occurrence is shown in full when
 * {@link canSeeDetails}, otherwise as a busy block — start, end, `busy: true`, nothing else.
 * An event shown as free (transparent) keeps no one busy: it is shown to those who may see
 * its details, marked `transparent`, and not at all to the others, for whom a busy block
 * would say U is busy when U is not.
 */
import { Forbidden, InvalidInput, NotFound } from '../../contract/errors.js';
import { Internal } from '../../contract/errors.js';
import { attendeeOf } from './attendance.js';
import { conflictingSubset } from './conflicts.js';
import { compareText } from './decisions.js';
import { isSuperior, membershipOf, sharedGroups } from './groups.js';
import { MAX_GROUP_MEMBERS } from '../../contract/limits.js';
import { validateQueryInterval, validateUsername } from './validation.js';
import {
  MAX_PAGE_TEXT,
  compareOccurrenceKeys,
  decodeCursor,
  encodeCursor,
  pageLimit,
  windowAfter,
} from './paging.js';
import type { AgendaKey, OccurrenceKey, PageRequest } from './paging.js';
import { expandOccurrences } from './recurrence.js';
import { busyBlock, busyBlockWeight, eventView, eventViewWeight } from './views.js';
import type {
  CalendarEvent,
  EventId,
  EventRecord,
  GroupName,
  GroupRecord,
  Interval,
  Millis,
  Occurrence,
  Username,
} from './types.js';
import type { AgendaEntry, AgendaView } from '../../contract/views.js';

export type { AgendaEntry, AgendaView };

/**
 * Whether V may look at U's agenda at all: V = U, or they share a group.
 */
export function canViewAgenda(
  groups: readonly GroupRecord[],
  viewer: Username,
  owner: Username,
): boolean {
  return viewer === owner || sharedGroups(groups, viewer, owner).length > 0;
}

/**
 * The owners whose agendas V may look at among `groups` ({@link canViewAgenda}'s rule, for
 * many owners at once): V and everyone in a group with V. One pass over the members, where
 * asking {@link canViewAgenda} of each of many names scans every group for each.
 */
export function agendasVisibleTo(
  groups: readonly GroupRecord[],
  viewer: Username,
): ReadonlySet<Username> {
  const visible = new Set<Username>([viewer]);
  for (const group of groups) {
    if (membershipOf(group, viewer) === undefined) continue;
    for (const member of group.members) visible.add(member.username);
  }
  return visible;
}

/**
 * The privacy rule for the events of U's agenda seen by V — the single place it is decided.
 * Full details iff V = U, or V is on the event's attendee list (`viewerAttends`, whatever
 * V's answer), or the event is `public`, or it is `busy` and V is superior to U in a
 * hierarchical group they share. So a `private` event is a busy block for everyone but its
 * attendees, superiors included. The groups are looked at once, for all of U's events.
 */
export function detailsRule(
  groups: readonly GroupRecord[],
  viewer: Username,
  owner: Username,
): (event: Pick<CalendarEvent, 'visibility'>, viewerAttends: boolean) => boolean {
  if (viewer === owner) return () => true;
  const superior = sharedGroups(groups, viewer, owner).some((g) => isSuperior(g, viewer, owner));
  return (event, viewerAttends) =>
    viewerAttends || event.visibility === 'public' || (event.visibility === 'busy' && superior);
}

/** {@link detailsRule} for one event, with its attendee list. */
export function canSeeDetails(
  groups: readonly GroupRecord[],
  viewer: Username,
  owner: Username,
  record: EventRecord,
): boolean {
  return detailsRule(groups, viewer, owner)(record.event, attendeeOf(record, viewer) !== undefined);
}

/** Whose agendas to show: a group's members, or named users. */
export type AgendaTargets = { readonly group: GroupName } | { readonly users: readonly Username[] };

export interface AgendaQuery {
  readonly viewer: Username;
  readonly targets: AgendaTargets;
  readonly from: Millis;
  readonly to: Millis;
}

/** What an agenda needs of an event to place its occurrences and to choose what it shows. */
export type AgendaEvent = Pick<
  CalendarEvent,
  'id' | 'start' | 'end' | 'timeZone' | 'recurrence' | 'visibility' | 'transparent'
>;

/** An event in a target's agenda. */
export interface AgendaCommitment {
  /** The target who has accepted the event. */
  readonly owner: Username;
  /** The event, which is not cancelled (a whole event will do). */
  readonly event: AgendaEvent;
  /** Whether the viewer is on the event's attendee list, whatever their answer. */
  readonly viewerAttends: boolean;
}

export interface AgendaContext {
  /** Every group the viewer belongs to (including a target group), with members. */
  readonly groups: readonly GroupRecord[];
  /**
   * The targets' commitments (accepted, not cancelled) that may reach into the interval:
   * those of other people, outside the interval or repeated are ignored.
   */
  readonly commitments: readonly AgendaCommitment[];
  /**
   * Whole events by id: at least those the viewer sees in detail in some target's agenda
   * ({@link eventsShownInDetail}). Only these need more than their {@link AgendaEvent}.
   */
  readonly events: ReadonlyMap<EventId, CalendarEvent>;
}

/**
 * The commitments and events of an {@link AgendaContext} from whole records, as a caller
 * that has them (with their attendee lists) passes them.
 */
export function agendaContextOf(
  viewer: Username,
  records: readonly EventRecord[],
): Pick<AgendaContext, 'commitments' | 'events'> {
  const commitments: AgendaCommitment[] = [];
  const events = new Map<EventId, CalendarEvent>();
  for (const { event, attendees } of records) {
    events.set(event.id, event);
    if (event.status === 'cancelled') continue;
    const viewerAttends = attendees.some((a) => a.username === viewer);
    for (const a of attendees) {
      if (a.status === 'accepted') commitments.push({ owner: a.username, event, viewerAttends });
    }
  }
  return { commitments, events };
}

/**
 * The ids of the events the viewer sees in detail in some owner's agenda, among
 * `commitments`: what a caller must load whole for {@link AgendaContext.events}.
 */
export function eventsShownInDetail(
  viewer: Username,
  groups: readonly GroupRecord[],
  commitments: readonly AgendaCommitment[],
): Set<EventId> {
  const rules = new Map<Username, ReturnType<typeof detailsRule>>();
  const shown = new Set<EventId>();
  for (const { owner, event, viewerAttends } of commitments) {
    let rule = rules.get(owner);
    if (rule === undefined) rules.set(owner, (rule = detailsRule(groups, viewer, owner)));
    if (rule(event, viewerAttends)) shown.add(event.id);
  }
  return shown;
}

function resolveTargets(query: AgendaQuery, context: AgendaContext): Username[] {
  if ('group' in query.targets) {
    const name = query.targets.group;
    const group = context.groups.find((g) => g.group.name === name);
    if (group === undefined) throw new NotFound(`no group named ${name}`);
    if (membershipOf(group, query.viewer) === undefined) {
      throw new Forbidden(`you are not a member of ${name}`);
    }
    return group.members.map((m) => m.username).sort(compareText);
  }
  const users = [...new Set(query.targets.users.map((u) => validateUsername(u.trim())))];
  if (users.length === 0) throw new InvalidInput('name at least one user', { field: 'users' });
  if (users.length > MAX_GROUP_MEMBERS) {
    throw new InvalidInput(`at most ${MAX_GROUP_MEMBERS} users at once`, { field: 'users' });
  }
  // A name nobody has and a stranger's name get the same answer: otherwise anyone could
  // register and learn which usernames exist, a thousand names a request. Whoever shares a
  // group with the viewer exists, so no one the viewer may see is refused by this.
  const hidden = users.filter((u) => !canViewAgenda(context.groups, query.viewer, u));
  if (hidden.length > 0) {
    throw new Forbidden(
      `you share no group with ${hidden.join(', ')} (or there is no such user), so you cannot see their agenda`,
    );
  }
  return users;
}

/**
 * `agenda --group g | --users a,b`: each target's agenda over `[from, to)` as the viewer
 * may see it. Entries keep the targets' conflict flags (only in full-detail entries).
 * @throws InvalidInput (interval, names), NotFound (no such group), Forbidden (not a member
 * of the group; a named user who shares no group with the viewer, or does not exist).
 */
export function viewAgendas(query: AgendaQuery, context: AgendaContext): AgendaView[] {
  const window = validateQueryInterval(query.from, query.to);
  const byOwner = commitmentsByOwner(context.commitments);
  return resolveTargets(query, context).map((owner) => ({
    user: owner,
    entries: agendaOf(query.viewer, owner, window, context, byOwner).map((e) => e.entry),
  }));
}

/** A page of {@link viewAgendas}: `next` is the cursor of the following page, null at the end. */
export interface AgendasPage {
  readonly agendas: AgendaView[];
  readonly next: string | null;
}

/**
 * One page of {@link viewAgendas}: at most `limit` entries, counted over all agendas (and at
 * most `MAX_PAGE_TEXT` of their JSON), after the cursor `after`. A page holds the agendas from the cursor's owner on, in target order;
 * an agenda cut by the page end goes on in the next page under the same `user`, so pages
 * concatenated (merging an agenda with its continuation) are the whole view. Agendas after
 * the page's last entry are not computed, and the cursor's owner's only from its start.
 * @throws InvalidInput (interval, names, `limit`, `after` — also when its owner is no longer
 * among the targets), NotFound, Forbidden as {@link viewAgendas}.
 */
export function viewAgendasPage(
  query: AgendaQuery & PageRequest,
  context: AgendaContext,
): AgendasPage {
  const window = validateQueryInterval(query.from, query.to);
  const limit = pageLimit(query.limit);
  const after = query.after === undefined ? null : decodeCursor('agenda', query.after);
  const targets = resolveTargets(query, context);
  let first = 0;
  if (after !== null) {
    first = targets.indexOf(after.user);
    if (first < 0) {
      throw new InvalidInput(
        `"after" names ${after.user}, who is not among the agendas asked for: start again`,
        { field: 'after' },
      );
    }
  }
  const byOwner = commitmentsByOwner(context.commitments);
  const agendas: AgendaView[] = [];
  let taken = 0;
  let text = 0;
  let last: AgendaKey | null = null;
  for (let i = first; i < targets.length; i++) {
    const owner = targets[i] as Username;
    const resumed = after !== null && i === first ? after.occurrence : null;
    const scan = windowAfter(window, resumed);
    const entries =
      scan === null
        ? []
        : agendaOf(query.viewer, owner, scan, context, byOwner).filter(
            (e) => resumed === null || compareOccurrenceKeys(e.key, resumed) > 0,
          );
    if (resumed !== null && entries.length === 0) continue;
    const kept: AgendaEntry[] = [];
    for (const { key, entry, weight } of entries) {
      // The page is full: it ends after the last entry kept, here or in an earlier agenda.
      if (last !== null && (taken === limit || text + weight > MAX_PAGE_TEXT)) {
        if (kept.length > 0) agendas.push({ user: owner, entries: kept });
        return { agendas, next: encodeCursor('agenda', last) };
      }
      kept.push(entry);
      taken += 1;
      text += weight;
      last = { user: owner, occurrence: key };
    }
    agendas.push({ user: owner, entries: kept });
    // A page that is full while agendas remain ends here, at this agenda's last entry.
    if (taken === limit && last !== null && i + 1 < targets.length) {
      return { agendas, next: encodeCursor('agenda', last) };
    }
  }
  return { agendas, next: null };
}

/** Each owner's commitments, each event once. */
function commitmentsByOwner(
  commitments: readonly AgendaCommitment[],
): Map<Username, Map<EventId, AgendaCommitment>> {
  const byOwner = new Map<Username, Map<EventId, AgendaCommitment>>();
  for (const c of commitments) {
    let mine = byOwner.get(c.owner);
    if (mine === undefined) byOwner.set(c.owner, (mine = new Map<EventId, AgendaCommitment>()));
    if (!mine.has(c.event.id)) mine.set(c.event.id, c);
  }
  return byOwner;
}

/** An agenda entry with its place in the list and the length of its JSON (`textWeight`). */
interface PlacedEntry {
  readonly key: OccurrenceKey;
  readonly entry: AgendaEntry;
  readonly weight: number;
}

/** One owner's agenda over `window` as the viewer may see it, in list order, with keys. */
function agendaOf(
  viewer: Username,
  owner: Username,
  window: Interval,
  context: AgendaContext,
  byOwner: ReadonlyMap<Username, ReadonlyMap<EventId, AgendaCommitment>>,
): PlacedEntry[] {
  const commitments = byOwner.get(owner);
  if (commitments === undefined) return [];
  const seesDetails = detailsRule(context.groups, viewer, owner);
  const occurrences: Occurrence[] = [];
  const blocking: Occurrence[] = [];
  for (const { event, viewerAttends } of commitments.values()) {
    const free = event.transparent === true;
    // Free time the viewer may not look into is not shown at all (see the module comment).
    if (free && !seesDetails(event, viewerAttends)) continue;
    for (const o of expandOccurrences(event, window)) {
      occurrences.push(o);
      if (!free) blocking.push(o);
    }
  }
  // An occurrence is its own key: start, end, event id.
  occurrences.sort(compareOccurrenceKeys);
  const conflicting = conflictingSubset(blocking, blocking);
  return occurrences.map((occurrence) => {
    const { event, viewerAttends } = commitments.get(occurrence.eventId) as AgendaCommitment;
    const key = { start: occurrence.start, end: occurrence.end, eventId: occurrence.eventId };
    if (!seesDetails(event, viewerAttends)) {
      const block = busyBlock(occurrence);
      return { key, entry: block, weight: busyBlockWeight(block) };
    }
    const whole = context.events.get(event.id);
    if (whole === undefined) throw new Internal(`event ${event.id} was not loaded whole`);
    const view = eventView(whole, occurrence, 'accepted', conflicting.has(occurrence));
    return { key, entry: view, weight: eventViewWeight(view) };
  });
}
