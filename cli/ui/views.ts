/**
 * Human renderings of what the API answers: tables of events with local times and relative
 * hints ("in 2 h"), pending and cancelled events and conflicts made visible, groups, agendas,
 * conflicts and free slots. Pure functions of the answer, the zone, "now" and a palette.
 */
import { DateTime } from 'luxon';
import type { ConflictingEvent } from '../../contract/errors.js';
import type {
  AgendaView,
  ConflictView,
  EventDetailsView,
  EventView,
  GroupInvitationView,
  GroupView,
  SlotView,
} from '../../contract/views.js';
import type { ScheduledAnswer } from '../../contract/api.js';
import { COLUMN_GAP, displayWidth, layoutTable, printableLines } from '../../base/table.js';
import {
  dayKey,
  eventPaint,
  fitText,
  fittedHeading,
  legend,
  markedTitle,
  statusMarkedTitle,
  timeOnDay,
  wallTime,
} from './calendar.js';
import type { Paint, Palette } from './palette.js';
import { describeRecurrence } from './recurrence.js';
import { renderTable, roomFor, shownColumns, tableFits } from './table.js';
import type { Column } from './table.js';

/** How to show times: in which zone, relative to when, with which colours, in what width. */
export interface ViewContext {
  readonly zone: string;
  readonly now: DateTime;
  readonly palette: Palette;
  /** The terminal's columns, which tables cut titles to fit; absent off a terminal. */
  readonly width?: number;
}

function instant(iso: string, context: ViewContext): DateTime {
  return DateTime.fromISO(iso, { zone: context.zone }).setLocale('en-GB');
}

function dayAndTime(at: DateTime, now: DateTime): string {
  return wallTime(at, at.year === now.year ? 'ccc d LLL HH:mm' : 'ccc d LLL yyyy HH:mm');
}

/** `Mon 2 Mar 09:00` (the year only when it is not this one), in the view's zone. */
export function formatInstant(iso: string, context: ViewContext): string {
  return dayAndTime(instant(iso, context), context.now);
}

/**
 * `Mon 2 Mar 09:00–10:00`, or both ends in full when they fall on different days (each with
 * its year when either is not this year: `Sun 7 Jun 2027 00:00 → Tue 8 Jun 2027 00:00`), or
 * `Mon 2 Mar 17:00` alone for an instant (it ends when it starts).
 */
export function formatSpan(startIso: string, endIso: string, context: ViewContext): string {
  const start = instant(startIso, context);
  const end = instant(endIso, context);
  if (end.toMillis() === start.toMillis()) return dayAndTime(start, context.now);
  if (start.hasSame(end, 'day'))
    return `${dayAndTime(start, context.now)}–${wallTime(end, 'HH:mm')}`;
  // A year on one end only read as if the other were this year's (outside attack, P4).
  const format =
    start.year === context.now.year && end.year === context.now.year
      ? 'ccc d LLL HH:mm'
      : 'ccc d LLL yyyy HH:mm';
  return `${wallTime(start, format)} → ${wallTime(end, format)}`;
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

/** `confirmed`, `pending · you: pending`, `cancelled`… */
function statusText(event: EventView): string {
  if (event.status === 'cancelled') return 'cancelled';
  return event.myStatus === 'accepted' ? event.status : `${event.status} · you: ${event.myStatus}`;
}

/** The status painted by how much it needs attention. */
function statusPaint(event: EventView, palette: Palette): Paint {
  if (event.status === 'cancelled') return palette.dim;
  return event.status === 'pending' || event.myStatus !== 'accepted'
    ? palette.yellow
    : palette.green;
}

type AgendaEntry = AgendaView['entries'][number];
type GroupMember = GroupView['members'][number];
type GroupInvitee = GroupView['invited'][number];

/**
 * The cells a title gets before the columns a table can do without make room for it (a
 * title shorter than this needs no more than its length).
 */
const TITLE_ROOM = 24;

/** What every table of occurrences shows of one, from its title on. */
function occurrenceColumns(
  palette: Palette,
): Record<'title' | 'status' | 'conflict', Column<EventView>> {
  return {
    title: {
      key: 'title',
      header: 'TITLE',
      text: (event) => event.title,
      style: (event) => (event.status === 'cancelled' ? palette.strike : palette.bold),
      truncate: true,
    },
    status: {
      key: 'status',
      header: 'STATUS',
      text: statusText,
      style: (event) => statusPaint(event, palette),
    },
    conflict: {
      key: 'conflict',
      header: 'CONFLICT',
      text: (event) => (event.conflict ? '⚠ conflict' : ''),
      style: (event) => (event.conflict ? palette.red : undefined),
    },
  };
}

/** An occurrence's column over agenda entries: a busy block shows `busy` or nothing in it. */
function entryColumn(
  column: Column<EventView>,
  busy: { text: string; paint?: Paint } = { text: '' },
): Column<AgendaEntry> {
  return {
    ...column,
    text: (entry) => ('busy' in entry ? busy.text : column.text(entry)),
    style: (entry) => ('busy' in entry ? busy.paint : column.style?.(entry)),
  };
}

/** The span of an occurrence and how far it is from now. */
function whenColumns(context: ViewContext): Column<{ start: string; end: string }>[] {
  return [
    { key: 'when', header: 'WHEN', text: (entry) => formatSpan(entry.start, entry.end, context) },
    {
      key: 'starts',
      header: 'STARTS',
      text: (entry) => occurrenceHint(entry, context.now),
      style: () => context.palette.dim,
    },
  ];
}

/** The `#n` a listing numbers its rows with (`agenda event show '#2'`). */
function numberColumn(palette: Palette): Column<{ readonly number: number }> {
  return {
    key: 'number',
    header: '#',
    text: (row) => `#${row.number}`,
    style: () => palette.dim,
    align: 'right',
  };
}

/**
 * A table of occurrences (a list or the caller's invitations), numbered `#1…` in order as
 * the listing the command saves (`agenda event show '#2'`), ids cut to 8 characters (any
 * unique prefix names an event); a REPEATS column, in words, when any of them recurs.
 */
export function renderEvents(
  events: readonly EventView[],
  context: ViewContext,
  whenEmpty: string,
): string {
  if (events.length === 0) return fitText(whenEmpty, context.width, context.palette.dim);
  const { palette } = context;
  const occurrence = occurrenceColumns(palette);
  const numbered = events.map((event, i) => ({ ...event, number: i + 1 }));
  type Numbered = (typeof numbered)[number];
  const repeats: Column<Numbered>[] = events.some((event) => event.recurrence !== null)
    ? [
        {
          key: 'repeats',
          header: 'REPEATS',
          text: (event) =>
            event.recurrence === null ? '' : describeRecurrence(event.recurrence, context.zone),
          style: () => palette.dim,
          truncate: true,
          minWidth: 7,
        },
      ]
    : [];
  // Columns that say nothing of any row are left out: their headers took a title's room
  // (outside attack 14: `Stan…` at 100 columns beside an empty CONFLICT and GROUP).
  const conflicts = events.some((event) => event.conflict);
  const grouped = events.some((event) => event.group !== null);
  const columns: Column<Numbered>[] = [
    numberColumn(palette),
    ...whenColumns(context),
    occurrence.title,
    ...repeats,
    occurrence.status,
    ...(conflicts ? [occurrence.conflict] : []),
    { key: 'organizer', header: 'ORGANIZER', text: (event) => event.organizer, truncate: true },
    ...(grouped
      ? [
          {
            key: 'group',
            header: 'GROUP',
            text: (event: Numbered) => event.group ?? '',
            truncate: true,
          },
        ]
      : []),
    { key: 'id', header: 'ID', text: (event) => event.id.slice(0, 8), style: () => palette.dim },
  ];
  const options = {
    paintHeader: palette.dim,
    width: context.width,
    // `#n` names a row as well as its id; then what `event show` tells; the time, the
    // title and whether it conflicts stay.
    dropFirst: ['id', 'group', 'organizer', 'starts', 'repeats', 'status'],
  };
  if (context.width === undefined || tableFits(numbered, columns, options)) {
    // The title is what people read: the columns that can go make room for it first.
    const roomy = roomFor(numbered, columns, options, 'title', TITLE_ROOM);
    if (shownColumns(numbered, roomy, options).includes('status')) {
      return renderTable(numbered, roomy, options);
    }
    // Without STATUS a cancelled or unanswered event would look like any other (outside
    // attack 8): its title carries the mark the day lists use, explained under the table.
    const marked = roomy.map((column): Column<Numbered> =>
      column.key === 'title' ? { ...column, text: statusMarkedTitle } : column,
    );
    const note = legend(
      events.map((event) => ({ ...event, conflict: false })),
      palette,
      context.width,
    );
    return [renderTable(numbered, marked, options), ...(note === '' ? [] : [note])].join('\n');
  }
  return renderNarrowEvents(numbered, { ...context, width: context.width });
}

/**
 * Numbered events as a terminal too narrow for their table shows them (the time, a title's
 * first cells and the conflict column take 44 cells; a phone's terminal, a split pane has
 * 20 to 40): under the day each starts on, one line each — its `#n`, its start time
 * (`all day`), and its title after the marker of what needs attention (`!` a conflict, `?`
 * an answer awaited, `✗` cancelled; explained under the list), cut to fit. Every line fits
 * `context.width`: a heading too long loses its "Today, ", then is cut.
 */
function renderNarrowEvents(
  events: readonly (EventView & { readonly number: number })[],
  context: ViewContext & { readonly width: number },
): string {
  const { palette, zone, width } = context;
  type Numbered = (typeof events)[number];
  const dayOf = (event: EventView): DateTime => instant(event.start, context).startOf('day');
  const columns: Column<Numbered>[] = [
    numberColumn(palette),
    {
      key: 'time',
      header: 'TIME',
      text: (event) => timeOnDay(event, dayOf(event), zone),
      style: () => palette.dim,
    },
    {
      key: 'title',
      header: 'TITLE',
      text: markedTitle,
      style: (event) => eventPaint(event, palette),
      truncate: true,
      minWidth: 1,
    },
  ];
  // Below about 14 cells the time goes too: the title says more.
  const layout = layoutTable(events, columns, { header: false, width, dropFirst: ['time'] });
  const lines: string[] = [];
  let current = '';
  layout.rows.forEach((cells, i) => {
    const event = events[i];
    if (event === undefined) return;
    const day = dayOf(event);
    if (dayKey(day) !== current) {
      current = dayKey(day);
      lines.push(palette.bold(fittedHeading(day, context.now.setZone(zone), width)));
    }
    lines.push(
      cells
        .map((cell) => (cell.style === undefined ? cell.text : cell.style(cell.text)))
        .join(COLUMN_GAP),
    );
  });
  const note = legend(events, palette, width);
  if (note !== '') lines.push(note);
  return lines.join('\n');
}

/** A reminder, minutes before the start, as a person says it: `10 min before`, `1 d before`, `at the start`. */
export function describeReminder(minutes: number): string {
  if (minutes === 0) return 'at the start';
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  const parts = [
    days > 0 ? `${days} d` : '',
    hours > 0 ? `${hours} h` : '',
    rest > 0 ? `${rest} min` : '',
  ].filter((part) => part !== '');
  return `${parts.join(' ')} before`;
}

/** Every detail of one event (series), as `event show` and write commands print it. */
export function renderEventDetails(event: EventDetailsView, context: ViewContext): string {
  const { palette } = context;
  /**
   * A field: its name, its text (lines of its own kept), how the text is painted, and how
   * it is painted when it goes out whole on one line (parts of it painted apart).
   */
  type Row = readonly [key: string, value: string, paint?: Paint, whole?: string];
  const rows: Row[] = [
    [
      'when',
      `${formatSpan(event.start, event.end, context)} (${occurrenceHint(event, context.now)})`,
    ],
    ['zone', event.timeZone],
    ['status', statusText(event), statusPaint(event, palette)],
    ['organizer', event.organizer],
  ];
  if (event.group !== null) rows.push(['group', event.group]);
  rows.push(['visibility', event.visibility]);
  if (event.transparent === true) rows.push(['shows as', 'free (takes none of your time)']);
  if (event.recurrence !== null) {
    const words = describeRecurrence(event.recurrence, context.zone);
    const rule = `(${event.recurrence})`;
    rows.push(['repeats', `${words}  ${rule}`, undefined, `${words}  ${palette.dim(rule)}`]);
  }
  if (event.alsoOn !== undefined && event.alsoOn.length > 0) {
    rows.push([
      'also on',
      event.alsoOn.map((start) => dayAndTime(instant(start, context), context.now)).join(', '),
    ]);
  }
  if (event.exceptions.length > 0) {
    rows.push([
      'except',
      event.exceptions.map((start) => dayAndTime(instant(start, context), context.now)).join(', '),
    ]);
  }
  // A location may take several lines (an address, as calendar apps write one).
  if (event.location !== '') rows.push(['location', printableLines(event.location)]);
  if (event.description !== '') rows.push(['description', printableLines(event.description)]);
  if (event.reminders !== undefined && event.reminders.length > 0) {
    rows.push(['reminders', event.reminders.map(describeReminder).join(', ')]);
  }
  if (event.attendees.length > 0) {
    rows.push([
      'attendees',
      event.attendees
        .map((a) => `${a.username} (${a.role === 'organizer' ? 'organizer' : a.status})`)
        .join(', '),
    ]);
  }
  if (event.conflict) {
    rows.push(['conflict', '⚠ overlaps another event you accepted', palette.red]);
  }
  rows.push(['id', event.id]);
  const keyWidth = Math.max(...rows.map(([key]) => key.length));
  // A value's own lines (a description's) stay under the value column, so no line of it can
  // pass for a field of the event: "organizer: …" typed into a description stays indented.
  // On a terminal (context.width) each line is broken at spaces to fit, as every view's
  // text is, and the continuation stays under the value column too; on one too narrow for
  // that column to hold ten cells, values go under their names, indented by two.
  const column = keyWidth + 4;
  const under = context.width !== undefined && context.width - column < 10;
  const indent = ' '.repeat(under ? 4 : column);
  const room = context.width === undefined ? Infinity : context.width - indent.length;
  const fitted = (value: string, paint?: Paint, whole?: string): string[] =>
    whole !== undefined && displayWidth(value) <= room
      ? [whole]
      : value.split('\n').flatMap((line) =>
          fitText(line, context.width, paint, indent)
            .split('\n')
            .map((l) => l.slice(indent.length)),
        );
  const titlePaint: Paint = (t) =>
    palette.bold(event.status === 'cancelled' ? palette.strike(t) : t);
  return [
    fitText(event.title, context.width, titlePaint),
    ...rows.flatMap(([key, value, paint, whole]) => {
      const lines = fitted(value, paint, whole);
      const name = `  ${palette.dim(key.padEnd(keyWidth))}`;
      if (under) {
        return [
          fitText(key, context.width, palette.dim, '  '),
          ...lines.map((l) => `${indent}${l}`),
        ];
      }
      return lines.map((line, i) => (i === 0 ? `${name}  ${line}` : `${indent}${line}`));
    }),
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

/**
 * One group: kind, owner and members (with levels in a hierarchical group). With a `width`
 * (a terminal's), the heading wraps and names are cut to fit it.
 */
export function renderGroup(
  group: GroupView,
  palette: Palette,
  width?: number,
  /** What the heading opens with (`Created `), fitted with it. */
  lead = '',
): string {
  const hierarchical = group.kind === 'hierarchical';
  const members = renderTable(
    group.members,
    [
      {
        key: 'member',
        header: 'MEMBER',
        text: (m) => (m.username === group.owner ? `${m.username} (owner)` : m.username),
        truncate: true,
      },
      ...(hierarchical
        ? [{ key: 'level', header: 'LEVEL', text: (m: GroupMember) => String(m.level ?? '') }]
        : []),
    ],
    { paintHeader: palette.dim, width },
  );
  const line = `${lead}${group.name} — ${group.kind}, owned by ${group.owner}`;
  const kind = `${group.kind}, owned by ${group.owner}`;
  // Narrow: the name on a line of its own (after the lead when both fit), then the kind.
  const named =
    displayWidth(`${lead}${group.name}`) <= (width ?? Infinity)
      ? `${lead}${palette.bold(group.name)}`
      : `${lead === '' ? '' : `${fitText(lead.trim(), width)}\n`}${fitText(group.name, width, palette.bold)}`;
  const heading =
    width === undefined || displayWidth(line) <= width
      ? `${lead}${palette.bold(group.name)} — ${kind}`
      : `${named}\n${fitText(kind, width)}`;
  // Older gateways answer without `invited`.
  const invited = group.invited ?? [];
  if (invited.length === 0) return `${heading}\n${members}`;
  const pending = renderTable(
    invited,
    [
      {
        key: 'invited',
        header: 'INVITED (not yet joined)',
        text: (i) => i.username,
        truncate: true,
        minWidth: 7,
      },
      ...(hierarchical
        ? [{ key: 'level', header: 'LEVEL', text: (i: GroupInvitee) => String(i.level ?? '') }]
        : []),
      { key: 'by', header: 'BY', text: (i) => i.invitedBy, truncate: true },
    ],
    { paintHeader: palette.dim, width, dropFirst: ['by'] },
  );
  return `${heading}\n${members}\n\n${pending}`;
}

/**
 * Invitations to join groups, as the invitee sees them (`agenda invite list`): on a narrow
 * terminal (`context.width`) the members, the day, the kind and the level go, in that order,
 * and the group's and the inviter's names are cut.
 */
export function renderGroupInvitations(
  invitations: readonly GroupInvitationView[],
  context: ViewContext,
): string {
  const { palette } = context;
  return renderTable(
    invitations,
    [
      {
        key: 'group',
        header: 'GROUP',
        text: (i) => i.group,
        style: () => palette.bold,
        truncate: true,
        minWidth: 10,
      },
      { key: 'kind', header: 'KIND', text: (i) => i.kind },
      {
        key: 'level',
        header: 'LEVEL',
        text: (i) => (i.level === null ? '' : String(i.level)),
      },
      { key: 'by', header: 'INVITED BY', text: (i) => i.invitedBy, truncate: true, minWidth: 5 },
      { key: 'members', header: 'MEMBERS', text: (i) => String(i.members) },
      {
        key: 'when',
        header: 'WHEN',
        text: (i) => {
          const at = DateTime.fromISO(i.invitedAt, { zone: context.zone });
          return at.isValid ? at.toFormat('yyyy-MM-dd HH:mm') : i.invitedAt;
        },
      },
    ],
    {
      paintHeader: palette.dim,
      width: context.width,
      dropFirst: ['members', 'when', 'kind', 'level', 'by'],
    },
  );
}

/**
 * The caller's groups. On a narrow terminal (`width`) the member count and the kind go
 * first, then the owner; the names are cut.
 */
export function renderGroups(
  groups: readonly GroupView[],
  palette: Palette,
  width?: number,
): string {
  if (groups.length === 0) return fitText('You are in no group.', width, palette.dim);
  return renderTable(
    groups,
    [
      {
        key: 'group',
        header: 'GROUP',
        text: (g) => g.name,
        style: () => palette.bold,
        truncate: true,
        minWidth: 10,
      },
      { key: 'kind', header: 'KIND', text: (g) => g.kind },
      { key: 'owner', header: 'OWNER', text: (g) => g.owner, truncate: true },
      { key: 'members', header: 'MEMBERS', text: (g) => String(g.members.length) },
    ],
    { paintHeader: palette.dim, width, dropFirst: ['members', 'kind', 'owner'] },
  );
}

/** Each person's agenda: full entries or busy blocks, as privacy allows the caller. */
export function renderAgendas(agendas: readonly AgendaView[], context: ViewContext): string {
  const { palette } = context;
  return agendas
    .map((agenda) => {
      const title = palette.bold(agenda.user);
      if (agenda.entries.length === 0) return `${title}\n  ${palette.dim('free the whole time')}`;
      const occurrence = occurrenceColumns(palette);
      const table = renderTable(
        agenda.entries,
        [
          ...whenColumns(context),
          {
            ...entryColumn(occurrence.title, { text: 'busy', paint: palette.dim }),
            key: 'what',
            header: 'WHAT',
          },
          entryColumn(occurrence.status),
          entryColumn(occurrence.conflict),
        ],
        {
          paintHeader: palette.dim,
          width: context.width === undefined ? undefined : context.width - 2,
          dropFirst: ['starts', 'status'],
        },
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
    conflicts,
    [
      {
        key: 'overlap',
        header: 'OVERLAP',
        text: (c) => formatSpan(c.start, c.end, context),
        style: () => palette.red,
      },
      ...([0, 1] as const).flatMap((side): Column<ConflictView>[] => [
        {
          key: `event-${side}`,
          header: side === 0 ? 'EVENT' : 'OVERLAPS WITH',
          text: (c) => c.events[side].title,
          style: () => palette.bold,
          truncate: true,
        },
        {
          key: `id-${side}`,
          header: 'ID',
          text: (c) => c.events[side].id,
          style: () => palette.dim,
        },
      ]),
    ],
    { paintHeader: palette.dim, width: context.width, dropFirst: ['id-1', 'id-0'] },
  );
}

/** Free slots with their lengths. */
export function renderSlots(slots: readonly SlotView[], context: ViewContext): string {
  if (slots.length === 0) return context.palette.dim('No common free time in that interval.');
  return renderTable(
    slots,
    [
      { key: 'free', header: 'FREE', text: (slot) => formatSpan(slot.start, slot.end, context) },
      {
        key: 'length',
        header: 'LENGTH',
        text: (slot) =>
          describeLength(DateTime.fromISO(slot.end).diff(DateTime.fromISO(slot.start)).toMillis()),
      },
      {
        key: 'starts',
        header: 'STARTS',
        text: (slot) => relativeHint(slot.start, context.now),
        style: () => context.palette.dim,
      },
    ],
    { paintHeader: context.palette.dim, width: context.width, dropFirst: ['starts', 'length'] },
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
