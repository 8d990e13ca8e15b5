/**
 * What the dashboard shows at a given terminal size. Ink clears the whole screen on every
 * frame that is as tall as the terminal (that is the flicker, and the header scrolling off),
 * so a frame is at most `rows - 1` lines, and each line at most `columns` cells (a wrapped
 * line would be two). The plan picks, from the richest layout down, the first whose fixed
 * sections fit with room for a few failovers; the failover log takes whatever is left.
 */
import type { ClusterSnapshot } from '../ops/model.js';
import { withoutObservers } from '../ops/model.js';

/**
 * `full`: a titled table; `grid`: the title, then members packed side by side (gossip);
 * `line`: one summary line; `hidden`: not drawn (the raft panel).
 */
export type Variant = 'full' | 'grid' | 'line' | 'hidden';

export interface LayoutPlan {
  /** A blank line between sections (only when there is room to spare). */
  spaced: boolean;
  db: Variant;
  raft: Variant;
  redis: Variant;
  vip: Variant;
  gossip: Variant;
  /** Problems' lines shown (`NOTE …`); the rest are counted on the last one. */
  problems: number;
  /** Failover entries shown (the log's title line comes on top). */
  logLines: number;
  /** Lines the body (everything between the header and the footer) may take. */
  bodyRows: number;
}

/** The lines the header and the footer take. */
export const CHROME_LINES = 2;
/** Fewest failover entries a layout must leave room for before a richer one is chosen. */
const MIN_LOG = 5;

/** The usable size of a terminal whose size may be unknown (a pipe): a generous default. */
export function frameRows(rows: number | undefined): number {
  return Math.max(8, (rows !== undefined && Number.isFinite(rows) && rows > 0 ? rows : 41) - 1);
}

type Sections = Pick<LayoutPlan, 'db' | 'raft' | 'redis' | 'vip' | 'gossip'>;

/** Richest first. */
const CANDIDATES: readonly (Sections & { spaced: boolean })[] = [
  { spaced: true, db: 'full', raft: 'full', redis: 'full', vip: 'full', gossip: 'full' },
  { spaced: false, db: 'full', raft: 'full', redis: 'full', vip: 'full', gossip: 'full' },
  { spaced: false, db: 'full', raft: 'full', redis: 'full', vip: 'full', gossip: 'grid' },
  { spaced: false, db: 'full', raft: 'hidden', redis: 'full', vip: 'full', gossip: 'grid' },
  { spaced: false, db: 'full', raft: 'hidden', redis: 'line', vip: 'line', gossip: 'grid' },
  { spaced: false, db: 'full', raft: 'hidden', redis: 'line', vip: 'line', gossip: 'line' },
  { spaced: false, db: 'line', raft: 'hidden', redis: 'line', vip: 'line', gossip: 'line' },
];

/** A gossip member's cell in the grid: `id state`, padded to the widest. */
export function gossipCellWidth(snapshot: ClusterSnapshot | undefined): number {
  const members = withoutObservers(snapshot?.gossip ?? []);
  return Math.max(1, ...members.map((m) => m.id.length + 1 + m.state.length));
}

/** Grid cells per line at `columns`: cells are two blanks apart. */
export function gridPerLine(columns: number, cellWidth: number): number {
  return Math.max(1, Math.floor((columns + 2) / (cellWidth + 2)));
}

/** Lines a section takes in a variant, its title included. */
export function sectionLines(
  section: keyof Sections,
  variant: Variant,
  snapshot: ClusterSnapshot | undefined,
  columns: number,
): number {
  if (variant === 'hidden' || snapshot === undefined) return 0;
  if (variant === 'line') return 1;
  if (variant === 'grid') {
    const members = withoutObservers(snapshot.gossip ?? []).length;
    if (members === 0) return 1;
    return 1 + Math.ceil(members / gridPerLine(columns, gossipCellWidth(snapshot)));
  }
  const rows = (() => {
    switch (section) {
      case 'db':
        return snapshot.dbMembers?.length;
      case 'raft':
        // Only members whose status said their Raft counters (older feeds do not).
        return snapshot.dbMembers?.filter((m) => m.up && m.raft !== undefined).length;
      case 'redis':
        return snapshot.redis?.length;
      case 'vip':
        return snapshot.vip?.agents.length;
      case 'gossip':
        return snapshot.gossip === undefined ? undefined : withoutObservers(snapshot.gossip).length;
    }
  })();
  // Not observed, or nothing in it: the title line alone (`none seen` shares it).
  if (rows === undefined || rows === 0) return section === 'raft' ? 0 : 1;
  return 2 + rows; // title, column headers, rows
}

/** The plan for a `rows`×`columns` terminal (see the module comment). */
export function planLayout(
  rows: number | undefined,
  columns: number,
  snapshot: ClusterSnapshot | undefined,
  problemCount: number,
): LayoutPlan {
  const bodyRows = frameRows(rows) - CHROME_LINES;
  const problems = Math.min(problemCount, bodyRows >= 30 ? 3 : 1);
  const room = bodyRows - problems;
  const supervisor = snapshot === undefined ? 0 : 1;
  for (const candidate of CANDIDATES) {
    const sections = (['db', 'raft', 'redis', 'vip', 'gossip'] as const).map((s) =>
      sectionLines(s, candidate[s], snapshot, columns),
    );
    const drawn = sections.filter((n) => n > 0).length + supervisor + 1; // + the log
    const gaps = candidate.spaced ? drawn : 0;
    const fixed = sections.reduce((a, b) => a + b, 0) + supervisor + 1 + gaps;
    const minLog = candidate.spaced ? 8 : MIN_LOG;
    if (fixed + minLog <= room || candidate === CANDIDATES.at(-1)) {
      return {
        ...candidate,
        problems,
        logLines: Math.max(0, room - fixed),
        bodyRows,
      };
    }
  }
  /* c8 ignore next */
  throw new Error('unreachable: the last candidate always fits');
}
