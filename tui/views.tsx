/**
 * The dashboard's other screens: the help overlay (`?`) and a member's details (Enter on the
 * selection), each fitted to the lines the body has.
 */
import { Box, Text } from 'ink';
import { formatBytes, formatClockTime, formatCount, formatDuration } from './format.js';
import type { ClusterSnapshot, FailoverEvent } from '../ops/model.js';
import { sortGossipMembers, withoutObservers } from '../ops/model.js';
import { displayWidth } from '../base/table.js';

/** One member the operator can select: `key` is `<kind>:<id>`. */
export interface Selectable {
  key: string;
  kind: 'db' | 'redis' | 'vip' | 'gossip';
  id: string;
}

/** Every member of the snapshot, in the order the panels show them. */
export function selectableMembers(snapshot: ClusterSnapshot | undefined): Selectable[] {
  if (snapshot === undefined) return [];
  const of = (kind: Selectable['kind'], ids: readonly string[]) =>
    ids.map((id) => ({ key: `${kind}:${id}`, kind, id }));
  return [
    ...of(
      'db',
      (snapshot.dbMembers ?? []).map((m) => m.id),
    ),
    ...of(
      'redis',
      (snapshot.redis ?? []).map((r) => r.name),
    ),
    ...of(
      'vip',
      (snapshot.vip?.agents ?? []).map((a) => a.id),
    ),
    ...of(
      'gossip',
      sortGossipMembers(withoutObservers(snapshot.gossip ?? [])).map((m) => m.id),
    ),
  ];
}

const KEYS: readonly (readonly [string, string])[] = [
  ['?', 'this help (any key closes it)'],
  ['p', 'pause: freeze the picture (the feed is still read); p again resumes'],
  ['↑ ↓  k j', 'scroll the failover log by one'],
  ['PgUp PgDn', 'scroll the failover log by a page; Home/End: oldest/newest'],
  ['Tab  ⇧Tab  → ←', 'select the next/previous member (DB, Redis, VIP agent, gossip)'],
  ['Enter', "the selected member's details"],
  ['Esc', 'back: close details or help, clear the selection'],
  ['q  Ctrl-C', 'quit'],
];

/** What the help says under the keys, as paragraphs: wrapped to the terminal's width. */
const NOTES: readonly string[] = [
  "alive counts each layer by its own word: DB members by their status API (the DB is not in gossip), Redis by ROLE, VIP agents by their status, gossip by the observer's view.",
  "Failovers marked * were read from the DB registry's history (supervisor and VIP lease tenures, Redis primary writes; the last 50 of each) from before the dashboard started. DB leader changes before it are not recorded: the term when it started bounds them.",
];

/** The width of the keys' column of the help. */
const KEYS_COLUMN = 16;

/**
 * `text` broken at spaces into lines of at most `width` cells (inside a word only where one
 * is longer than a line): the help is text a person needs whole, so it wraps rather than
 * being cut at the edge as a table's cells are.
 */
export function wrapWords(text: string, width: number): string[] {
  const room = Math.max(1, width);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ').filter((w) => w !== '')) {
    if (line !== '' && displayWidth(line) + 1 + displayWidth(word) <= room) {
      line += ` ${word}`;
      continue;
    }
    if (line !== '') lines.push(line);
    let rest = word;
    while (displayWidth(rest) > room) {
      lines.push(rest.slice(0, room));
      rest = rest.slice(room);
    }
    line = rest;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/**
 * The keys and what they do, then the notes, wrapped to `width` columns: a description in
 * its own column beside its keys when that column holds 20 cells, else under them. Only
 * what `rows` can hold is shown: at 80×24 that is all of it.
 */
export function HelpView({ rows, width }: { rows: number; width: number }) {
  const beside = width - KEYS_COLUMN >= 20;
  const lines = [
    <Text key="title" bold color="cyan">
      Keys
    </Text>,
    ...KEYS.flatMap(([keys, what]) => {
      if (!beside) {
        return [
          <Text key={keys} bold wrap="truncate-end">
            {keys}
          </Text>,
          ...wrapWords(what, width - 2).map((line, i) => (
            <Text key={`${keys}-${i}`}>{`  ${line}`}</Text>
          )),
        ];
      }
      return wrapWords(what, width - KEYS_COLUMN).map((line, i) =>
        i === 0 ? (
          <Text key={keys}>
            <Text bold>{keys.padEnd(KEYS_COLUMN)}</Text>
            {line}
          </Text>
        ) : (
          <Text key={`${keys}-${i}`}>{`${' '.repeat(KEYS_COLUMN)}${line}`}</Text>
        ),
      );
    }),
    <Text key="gap"> </Text>,
    ...NOTES.flatMap((note, n) =>
      wrapWords(note, width).map((line, i) => (
        <Text key={`note-${n}-${i}`} dimColor>
          {line}
        </Text>
      )),
    ),
  ];
  return <Box flexDirection="column">{lines.slice(0, rows)}</Box>;
}

/** `label  value` lines of a member's details. */
type Field = readonly [string, string];

function fieldsOf(snapshot: ClusterSnapshot, member: Selectable): Field[] | undefined {
  const at = snapshot.at;
  switch (member.kind) {
    case 'db': {
      const m = snapshot.dbMembers?.find((x) => x.id === member.id);
      if (m === undefined) return undefined;
      const common: Field[] = [
        ['address', m.address],
        ['state', m.up ? 'up' : 'DOWN (its status API did not answer)'],
        ['membership', m.membership ?? '-'],
      ];
      if (!m.up) {
        return [...common, ['last contact', `${formatDuration(m.lastContactMs)} (leader's view)`]];
      }
      return [
        ...common,
        ['role', m.role],
        ['term', String(m.term)],
        ['leader', m.leader ?? 'none'],
        ['commit / applied', `${m.commit} / ${m.applied}`],
        ['last index', formatCount(m.raft?.lastIndex)],
        ['apply backlog', formatCount(m.raft?.applyBacklog)],
        ['lag', `${formatCount(m.lagEntries)} entries`],
        ['last contact', m.role === 'leader' ? 'self' : formatDuration(m.lastContactMs)],
        ['snapshot index', String(m.snapshotIndex)],
        [
          'snapshots',
          `${formatCount(m.raft?.snapshots)}${m.raft?.lastSnapshotAt ? `, last ${m.raft.lastSnapshotAt}` : ''}`,
        ],
        ['fsyncs', formatCount(m.raft?.fsyncs)],
        [
          'fsync / apply avg',
          m.metrics === undefined
            ? '- (not scraped yet)'
            : `${formatMsOrDash(m.metrics.fsyncMeanMs)} / ${formatMsOrDash(m.metrics.applyMeanMs)}`,
        ],
        [
          'RSS / heap',
          m.metrics === undefined
            ? '-'
            : `${formatBytes(m.metrics.rssBytes)} / ${formatBytes(m.metrics.heapUsedBytes)} (at ${formatClockTime(m.metrics.at)})`,
        ],
      ];
    }
    case 'redis': {
      const r = snapshot.redis?.find((x) => x.name === member.id);
      if (r === undefined) return undefined;
      if (!r.up)
        return [
          ['address', r.address],
          ['state', 'DOWN (ROLE did not answer)'],
        ];
      return [
        ['address', r.address],
        ['state', 'up'],
        ['role', r.role],
        ['offset', String(r.offset)],
        ['link', r.role === 'primary' ? '-' : r.linkUp ? 'up' : 'DOWN'],
        ['epoch', formatCount(r.epoch)],
      ];
    }
    case 'vip': {
      const a = snapshot.vip?.agents.find((x) => x.id === member.id);
      if (a === undefined) return undefined;
      return [
        ['host', a.host],
        ['state', a.state === 'down' ? `DOWN (${a.error ?? 'no answer'})` : a.state],
        ['VIP here', a.vipConfigured === null ? '-' : a.vipConfigured ? 'yes' : 'no'],
        ['heartbeat age', formatDuration(a.lastHeartbeatMs)],
        ['gateway failures', formatCount(a.gatewayFailures)],
        [
          'last action',
          a.lastAction === null
            ? '-'
            : a.lastActionAt === null
              ? a.lastAction
              : `${a.lastAction}, ${formatDuration(Math.max(0, at - a.lastActionAt))} ago`,
        ],
      ];
    }
    case 'gossip': {
      const g = snapshot.gossip?.find((x) => x.id === member.id);
      if (g === undefined) return undefined;
      return [
        ['role', g.role],
        ['address', g.address],
        ['state', g.state],
        ['incarnation', String(g.incarnation)],
        ['in this state for', formatDuration(Math.max(0, at - g.since))],
      ];
    }
  }
}

function formatMsOrDash(ms: number | null): string {
  return ms === null ? '-' : `${ms < 10 ? ms.toFixed(2) : Math.round(ms)} ms`;
}

/** Whether a failover's message names `id` as a word. */
function mentions(event: FailoverEvent, id: string): boolean {
  return event.message.split(/[\s(),]+/).includes(id);
}

const KIND_NAMES: Record<Selectable['kind'], string> = {
  db: 'DB member',
  redis: 'Redis',
  vip: 'VIP agent',
  gossip: 'gossip member',
};

/** A member's fields and the failovers naming it, newest last, in `rows` lines. */
export function DetailView({
  snapshot,
  member,
  failovers,
  rows,
}: {
  snapshot: ClusterSnapshot;
  member: Selectable;
  failovers: readonly FailoverEvent[];
  rows: number;
}) {
  const fields = fieldsOf(snapshot, member);
  const title = (
    <Text key="title" wrap="truncate-end">
      <Text bold color="cyan">{`${KIND_NAMES[member.kind]} ${member.id}`}</Text>
      <Text dimColor>{`  as of ${formatClockTime(snapshot.at)}  ·  Esc back`}</Text>
    </Text>
  );
  if (fields === undefined) {
    return (
      <Box flexDirection="column">
        {title}
        <Text color="yellow">no longer in the snapshot</Text>
      </Box>
    );
  }
  const width = Math.max(...fields.map(([label]) => label.length)) + 2;
  const fieldLines = fields.map(([label, value]) => (
    <Text key={label} wrap="truncate-end">
      <Text dimColor>{label.padEnd(width)}</Text>
      {value}
    </Text>
  ));
  const events = failovers.filter((event) => mentions(event, member.id));
  const room = Math.max(0, rows - 1 - fieldLines.length - 1);
  const recent = events.slice(Math.max(0, events.length - room));
  const eventLines = [
    <Text key="events" bold color="cyan" wrap="truncate-end">
      {`Recent events`}
      <Text dimColor>{events.length === 0 ? '  none seen' : `  ${events.length}`}</Text>
    </Text>,
    ...recent.map((event, i) => (
      <Text key={`e${i}`} wrap="truncate-end">
        <Text
          dimColor
        >{`${formatClockTime(event.at)}${event.recorded === true ? '*' : ' '} `}</Text>
        {`${event.kind}  ${event.message}`}
      </Text>
    )),
  ];
  return <Box flexDirection="column">{[title, ...fieldLines, ...eventLines].slice(0, rows)}</Box>;
}
