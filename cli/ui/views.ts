/**
 * Human renderings of what the API answers: tables of events with local times and relative
 * hints ("in 2 h"), pending and cancelled events and conflicts made visible, groups, agendas,
 * conflicts and free slots. Pure functions of the answer, the zone, "now" and a palette.
 */
import { DateTime } from 'luxon';
import type { ConflictingEvent } from '../../server/errors.js';
import type {
  AgendaView,
  ConflictView,
  EventDetailsView,
  EventView,
  GroupView,
  SlotView,
} from '../../server/domain/index.js';
import type { ScheduledAnswer } from '../../server/protocol/api.js';
import type { Palette } from './palette.js';
import { renderTable } from './table.js';
import type { Cell } from './table.js';

/** How to show times: in which zone, relative to when, with which colours. */
export interface ViewContext {
  readonly zone: string;
  readonly now: DateTime;
  readonly palette: Palette;
}

function instant(iso: string, context: ViewContext): DateTime {
  return DateTime.fromISO(iso, { zone: context.zone }).setLocale('en-GB');
}

function dayAndTime(at: DateTime, now: DateTime): string {
  return at.toFormat(at.year === now.year ? 'ccc d LLL HH:mm' : 'ccc d LLL yyyy HH:mm');
}

/** `Mon 2 Mar 09:00–10:00`, or both ends in full when they fall on different days. */
export function formatSpan(startIso: string, endIso: string, context: ViewContext): string {
  const start = instant(startIso, context);
  const end = instant(endIso, context);
  if (start.hasSame(end, 'day'))
    return `${dayAndTime(start, context.now)}–${end.toFormat('HH:mm')}`;
  return `${dayAndTime(start, context.now)} → ${dayAndTime(end, context.now)}`;
}

/** How far an instant is from now, as a person says it: `in 2 h`, `3 d ago`, `now`. */
export function relativeHint(iso: string, now: DateTime): string {
  const ms = DateTime.fromISO(iso).toMillis() - now.toMillis();
  const abs = Math.abs(ms);
  const minutes = Math.round(abs / 60_000);
  if (minutes < 1) return 'now';
  let amount: string;
  if (minutes < 60) amount = `${minutes} min`;
  else if (minutes < 48 * 60) amount = `${Math.round(minutes / 60)} h`;
  else amount = `${Math.round(minutes / (24 * 60))} d`;
  return ms > 0 ? `in ${amount}` : `${amount} ago`;
}

/** The hint for an occurrence: `now` while it is happening, else relative to its start. */
function occurrenceHint(event: { start: string; end: string }, now: DateTime): string {
  const start = DateTime.fromISO(event.start);
  const end = DateTime.fromISO(event.end);
  if (start <= now && now < end) return 'now';
  return relativeHint(event.start, now);
}

/** `confirmed`, `pending · you: pending`, `cancelled`…, painted by how much it needs attention. */
function statusCell(event: EventView, palette: Palette): Cell {
  if (event.status === 'cancelled') return { text: 'cancelled', paint: palette.dim };
  const text =
    event.myStatus === 'accepted' ? event.status : `${event.status} · you: ${event.myStatus}`;
  if (event.status === 'pending' || event.myStatus !== 'accepted') {
    return { text, paint: palette.yellow };
  }
  return { text, paint: palette.green };
}

function conflictCell(event: EventView, palette: Palette): Cell {
  return event.conflict ? { text: '⚠ conflict', paint: palette.red } : { text: '' };
}

function titleCell(event: EventView, palette: Palette): Cell {
  return event.status === 'cancelled'
    ? { text: event.title, paint: palette.strike }
    : { text: event.title, paint: palette.bold };
}

/** A table of occurrences (a list or the caller's invitations). */
export function renderEvents(
  events: readonly EventView[],
  context: ViewContext,
  whenEmpty: string,
): string {
  if (events.length === 0) return context.palette.dim(whenEmpty);
  const { palette } = context;
  return renderTable(
    ['WHEN', 'STARTS', 'TITLE', 'STATUS', 'CONFLICT', 'ORGANIZER', 'GROUP', 'ID'],
    events.map((event) => [
      formatSpan(event.start, event.end, context),
      { text: occurrenceHint(event, context.now), paint: palette.dim },
      titleCell(event, palette),
      statusCell(event, palette),
      conflictCell(event, palette),
      event.organizer,
      event.group ?? '',
      { text: event.id, paint: palette.dim },
    ]),
    palette.dim,
  );
}

/** Every detail of one event (series), as `event show` and write commands print it. */
export function renderEventDetails(event: EventDetailsView, context: ViewContext): string {
  const { palette } = context;
  const status = statusCell(event, palette);
  const rows: [string, string][] = [
    [
      'when',
      `${formatSpan(event.start, event.end, context)} (${occurrenceHint(event, context.now)})`,
    ],
    ['zone', event.timeZone],
    ['status', (status.paint ?? ((text: string) => text))(status.text)],
    ['organizer', event.organizer],
  ];
  if (event.group !== null) rows.push(['group', event.group]);
  rows.push(['visibility', event.visibility]);
  if (event.recurrence !== null) rows.push(['repeats', event.recurrence]);
  if (event.exceptions.length > 0) {
    rows.push([
      'except',
      event.exceptions.map((start) => dayAndTime(instant(start, context), context.now)).join(', '),
    ]);
  }
  if (event.location !== '') rows.push(['location', event.location]);
  if (event.description !== '') rows.push(['description', event.description]);
  if (event.attendees.length > 0) {
    rows.push([
      'attendees',
      event.attendees
        .map((a) => `${a.username} (${a.role === 'organizer' ? 'organizer' : a.status})`)
        .join(', '),
    ]);
  }
  if (event.conflict) rows.push(['conflict', palette.red('⚠ overlaps another event you accepted')]);
  rows.push(['id', event.id]);
  const width = Math.max(...rows.map(([key]) => key.length));
  return [
    palette.bold(event.status === 'cancelled' ? palette.strike(event.title) : event.title),
    ...rows.map(([key, value]) => `  ${palette.dim(key.padEnd(width))}  ${value}`),
  ].join('\n');
}

/**
 * The answer of a create or update: the event, the overlaps it was allowed to make in the
 * organizer's agenda, and the subordinates it was imposed on despite their conflicts.
 */
export function renderScheduled(
  verb: string,
  answer: ScheduledAnswer,
  context: ViewContext,
): string {
  const { palette } = context;
  const lines = [`${verb}: ${renderEventDetails(answer.event, context)}`];
  if (answer.conflicts.length > 0) {
    const count = answer.conflicts.length;
    lines.push(
      palette.red(
        `⚠ it overlaps ${count === 1 ? 'another event' : `${count} other events`} you accepted:`,
      ),
      renderConflictingEvents(answer.conflicts, context),
    );
  }
  if (answer.imposedConflicts.length > 0) {
    lines.push(
      palette.yellow(
        `⚠ imposed although it conflicts with the agenda of ${answer.imposedConflicts.join(', ')}`,
      ),
    );
  }
  return lines.join('\n');
}

/** One group: kind, owner and members (with levels in a hierarchical group). */
export function renderGroup(group: GroupView, palette: Palette): string {
  const hierarchical = group.kind === 'hierarchical';
  const members = renderTable(
    hierarchical ? ['MEMBER', 'LEVEL'] : ['MEMBER'],
    group.members.map((m) => {
      const name = m.username === group.owner ? `${m.username} (owner)` : m.username;
      return hierarchical ? [name, String(m.level ?? '')] : [name];
    }),
    palette.dim,
  );
  return `${palette.bold(group.name)} — ${group.kind}, owned by ${group.owner}\n${members}`;
}

/** The caller's groups. */
export function renderGroups(groups: readonly GroupView[], palette: Palette): string {
  if (groups.length === 0) return palette.dim('You are in no group.');
  return renderTable(
    ['GROUP', 'KIND', 'OWNER', 'MEMBERS'],
    groups.map((g) => [
      { text: g.name, paint: palette.bold },
      g.kind,
      g.owner,
      String(g.members.length),
    ]),
    palette.dim,
  );
}

/** Each person's agenda: full entries or busy blocks, as privacy allows the caller. */
export function renderAgendas(agendas: readonly AgendaView[], context: ViewContext): string {
  const { palette } = context;
  return agendas
    .map((agenda) => {
      const title = palette.bold(agenda.user);
      if (agenda.entries.length === 0) return `${title}\n  ${palette.dim('free the whole time')}`;
      const table = renderTable(
        ['WHEN', 'STARTS', 'WHAT', 'STATUS', 'CONFLICT'],
        agenda.entries.map((entry) =>
          'busy' in entry
            ? [
                formatSpan(entry.start, entry.end, context),
                { text: occurrenceHint(entry, context.now), paint: palette.dim },
                { text: 'busy', paint: palette.dim },
                '',
                '',
              ]
            : [
                formatSpan(entry.start, entry.end, context),
                { text: occurrenceHint(entry, context.now), paint: palette.dim },
                titleCell(entry, palette),
                statusCell(entry, palette),
                conflictCell(entry, palette),
              ],
        ),
        palette.dim,
      );
      return `${title}\n${indent(table)}`;
    })
    .join('\n\n');
}

/** Pairs of overlapping occurrences in the caller's agenda. */
export function renderConflicts(conflicts: readonly ConflictView[], context: ViewContext): string {
  const { palette } = context;
  if (conflicts.length === 0) return palette.dim('No conflicts.');
  return renderTable(
    ['OVERLAP', 'EVENT', 'ID', 'OVERLAPS WITH', 'ID'],
    conflicts.map((c) => [
      { text: formatSpan(c.start, c.end, context), paint: palette.red },
      { text: c.events[0].title, paint: palette.bold },
      { text: c.events[0].id, paint: palette.dim },
      { text: c.events[1].title, paint: palette.bold },
      { text: c.events[1].id, paint: palette.dim },
    ]),
    palette.dim,
  );
}

/** Free slots with their lengths. */
export function renderSlots(slots: readonly SlotView[], context: ViewContext): string {
  if (slots.length === 0) return context.palette.dim('No common free time in that interval.');
  return renderTable(
    ['FREE', 'LENGTH', 'STARTS'],
    slots.map((slot) => [
      formatSpan(slot.start, slot.end, context),
      describeLength(DateTime.fromISO(slot.end).diff(DateTime.fromISO(slot.start)).toMillis()),
      { text: relativeHint(slot.start, context.now), paint: context.palette.dim },
    ]),
    context.palette.dim,
  );
}

/** The occurrences that stand in the way of a refused change. */
export function renderConflictingEvents(
  conflicts: readonly ConflictingEvent[],
  context: ViewContext,
): string {
  return conflicts
    .map(
      (c) =>
        `  ${context.palette.red('⚠')} ${formatSpan(c.start, c.end, context)}  ${context.palette.bold(c.title)}  ${context.palette.dim(c.id)}`,
    )
    .join('\n');
}

/** `1 h 30 min`, `2 d 3 h`. */
export function describeLength(ms: number): string {
  const totalMinutes = Math.round(ms / 60_000);
  const days = Math.floor(totalMinutes / (24 * 60));
  const hours = Math.floor((totalMinutes % (24 * 60)) / 60);
  const minutes = totalMinutes % 60;
  const parts = [
    days > 0 ? `${days} d` : '',
    hours > 0 ? `${hours} h` : '',
    minutes > 0 ? `${minutes} min` : '',
  ].filter((part) => part !== '');
  return parts.length === 0 ? '0 min' : parts.join(' ');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
