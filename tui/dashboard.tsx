/**
 * The operator dashboard: a header saying how fresh the view is and what is alive, one panel
 * per layer of the cluster, the failover log and a status line with the keys — fitted to the
 * terminal (tui/layout.ts): a frame is never as tall as the terminal, or Ink would clear the
 * screen at every frame. It reads `feed` until it unmounts or `signal` aborts, and survives
 * anything the feed says: partial snapshots, error rounds, even the feed throwing (that ends
 * up in the status line, not in a crash).
 *
 * Keys: `?` help, `p` pause, ↑/↓ (k/j), PgUp/PgDn, Home/End scroll the failover log, Tab
 * (→) and Shift-Tab (←) select a member, Enter shows its details, Esc goes back, `q` quits.
 */
import { Box, Text, useApp, useInput, useStdin, useStdout } from 'ink';
import { useCallback, useEffect, useState } from 'react';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { DashboardFeed } from '../ops/feed.js';
import type { ClusterSnapshot } from '../ops/model.js';
import { aliveSummary } from '../ops/model.js';
import { formatClockTime, formatDuration } from './format.js';
import { CHROME_LINES, frameRows, planLayout } from './layout.js';
import { PanelLayoutContext } from './panel.js';
import {
  DbMembersPanel,
  FailoverLog,
  GossipPanel,
  RaftPanel,
  RedisPanel,
  SupervisorPanel,
  VipPanel,
} from './panels.js';
import type { DashboardState } from './state.js';
import { emptyDashboardState, receiveFeedItem, staleFor } from './state.js';
import type { Selectable } from './views.js';
import { DetailView, HelpView, selectableMembers } from './views.js';

export interface DashboardProps {
  feed: DashboardFeed;
  /** Aborting it stops reading the feed and exits the app. */
  signal: AbortSignal;
  clock?: Clock;
  /** How often the header re-checks staleness. */
  refreshMs?: number;
  /** Failovers remembered. */
  logLimit?: number;
  /** Most failovers shown at once (the terminal's height may allow fewer). */
  logLines?: number;
  /** The terminal's size; by default stdout's, followed as it is resized. */
  size?: TerminalSize;
  /** Called once when the operator quits (`q` or Ctrl-C), before the app exits. */
  onQuit?: () => void;
}

export interface TerminalSize {
  columns: number;
  /** Unknown on a pipe: the layout then assumes a tall terminal. */
  rows: number | undefined;
}

/** stdout's size, updated on `resize`; `fixed` overrides it. */
function useTerminalSize(fixed: TerminalSize | undefined): TerminalSize {
  const { stdout } = useStdout();
  const read = useCallback(
    (): TerminalSize => ({
      columns: Number.isFinite(stdout.columns) && stdout.columns > 0 ? stdout.columns : 100,
      rows: Number.isFinite(stdout.rows) && stdout.rows > 0 ? stdout.rows : undefined,
    }),
    [stdout],
  );
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = (): void => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, read]);
  return fixed ?? size;
}

/** What the operator is looking at. */
type Screen = { kind: 'main' } | { kind: 'help' } | { kind: 'detail'; member: Selectable };

export function Dashboard({
  feed,
  signal,
  clock = systemClock,
  refreshMs = 250,
  logLimit = 200,
  logLines = Number.POSITIVE_INFINITY,
  size: fixedSize,
  onQuit,
}: DashboardProps) {
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const size = useTerminalSize(fixedSize);
  const [state, setState] = useState<DashboardState>(emptyDashboardState);
  const [now, setNow] = useState(() => clock.now());
  /** While paused: the picture as it was when `p` was pressed. */
  const [frozen, setFrozen] = useState<{ state: DashboardState; now: number } | null>(null);
  const [screen, setScreen] = useState<Screen>({ kind: 'main' });
  /** Entries scrolled up from the newest failover. */
  const [scroll, setScroll] = useState(0);
  const [selected, setSelected] = useState<string | undefined>(undefined);

  useEffect(() => clock.every(refreshMs, () => setNow(clock.now())), [clock, refreshMs]);

  useEffect(() => {
    const reading = new AbortController();
    const stop = (): void => reading.abort();
    signal.addEventListener('abort', stop);
    const read = async (): Promise<void> => {
      try {
        for await (const item of feed.snapshots(AbortSignal.any([signal, reading.signal]))) {
          if (reading.signal.aborted) return;
          const at = clock.now();
          setState((previous) => receiveFeedItem(previous, item, at, logLimit));
          setNow(at);
        }
        if (!reading.signal.aborted) {
          setState((previous) => ({ ...previous, error: 'the feed ended; the view is frozen' }));
        }
      } catch (error) {
        if (reading.signal.aborted) return;
        const message = error instanceof Error ? error.message : String(error);
        setState((previous) => ({ ...previous, error: `the feed failed: ${message}` }));
      }
    };
    void read();
    return () => {
      signal.removeEventListener('abort', stop);
      reading.abort();
    };
  }, [feed, signal, clock, logLimit]);

  useEffect(() => {
    if (signal.aborted) {
      exit();
      return;
    }
    signal.addEventListener('abort', exit);
    return () => signal.removeEventListener('abort', exit);
  }, [signal, exit]);

  const quit = useCallback(() => {
    onQuit?.();
    exit();
  }, [onQuit, exit]);

  // What is drawn: the frozen picture while paused, else the live one.
  const shown = frozen?.state ?? state;
  const shownNow = frozen?.now ?? now;
  const { snapshot } = shown;
  const plan = planLayout(size.rows, size.columns, snapshot, snapshot?.problems?.length ?? 0);
  const pageLines = Math.max(1, Math.min(plan.logLines, logLines));
  const maxScroll = Math.max(0, shown.failovers.length - pageLines);
  const members = selectableMembers(snapshot);

  // Without raw mode (stdin not a terminal) there are no keys to read; the signal still quits.
  // Ink reports a stream without `isTTY` as `undefined`, which `useInput` takes as active.
  useInput(
    (input, key) => {
      if (input === 'q' || (key.ctrl && input === 'c')) {
        quit();
        return;
      }
      if (screen.kind === 'help') {
        setScreen({ kind: 'main' });
        return;
      }
      if (input === '?') {
        setScreen({ kind: 'help' });
        return;
      }
      if (input === 'p') {
        setFrozen((current) => (current === null ? { state, now } : null));
        return;
      }
      if (key.escape) {
        setScreen((shown) => {
          if (shown.kind === 'main') setSelected(undefined);
          return { kind: 'main' };
        });
        return;
      }
      const scrollBy = (lines: number) =>
        setScroll((current) => Math.min(maxScroll, Math.max(0, current + lines)));
      if (key.upArrow || input === 'k') scrollBy(1);
      else if (key.downArrow || input === 'j') scrollBy(-1);
      else if (key.pageUp) scrollBy(pageLines);
      else if (key.pageDown) scrollBy(-pageLines);
      else if (key.home) setScroll(maxScroll);
      else if (key.end) setScroll(0);
      else if (key.tab || key.rightArrow || key.leftArrow) {
        if (members.length === 0) return;
        const back = key.leftArrow || (key.tab && key.shift);
        // From the current selection, not this render's: keys may come faster than frames.
        setSelected((current) => {
          const at = members.findIndex((m) => m.key === current);
          const next =
            at === -1
              ? back
                ? members.length - 1
                : 0
              : (at + (back ? -1 : 1) + members.length) % members.length;
          const member = members[next];
          setScreen((shown) =>
            shown.kind === 'detail' && member !== undefined ? { kind: 'detail', member } : shown,
          );
          return member?.key;
        });
      } else if (key.return) {
        setSelected((current) => {
          const member = members.find((m) => m.key === current);
          if (member !== undefined) setScreen({ kind: 'detail', member });
          return current;
        });
      }
    },
    { isActive: isRawModeSupported === true },
  );

  // A log that grew while scrolled up keeps showing the same entries.
  const [seenLength, setSeenLength] = useState(0);
  useEffect(() => {
    const grown = shown.failovers.length - seenLength;
    if (grown !== 0) {
      setSeenLength(shown.failovers.length);
      if (grown > 0) setScroll((current) => (current === 0 ? 0 : current + grown));
    }
  }, [shown.failovers.length, seenLength]);
  const effectiveScroll = Math.min(scroll, maxScroll);

  const rows = frameRows(size.rows);
  const bodyRows = rows - CHROME_LINES;
  const layout = { width: size.columns, spaced: plan.spaced, selected };
  const problems = snapshot?.problems ?? [];
  return (
    <PanelLayoutContext.Provider value={layout}>
      <Box flexDirection="column" width={size.columns}>
        <Header state={shown} now={shownNow} paused={frozen !== null} width={size.columns} />
        <Box flexDirection="column" height={bodyRows} overflow="hidden">
          {screen.kind === 'help' ? (
            <HelpView rows={bodyRows} width={size.columns} />
          ) : screen.kind === 'detail' && snapshot !== undefined ? (
            <DetailView
              snapshot={snapshot}
              member={screen.member}
              failovers={shown.failovers}
              rows={bodyRows}
            />
          ) : (
            <>
              {problems.slice(0, plan.problems).map((problem, index) => (
                <Text key={index} color="yellow" wrap="truncate-end">
                  {`NOTE ${problem}${
                    index === plan.problems - 1 && problems.length > plan.problems
                      ? ` (+${problems.length - plan.problems} more)`
                      : ''
                  }`}
                </Text>
              ))}
              {snapshot === undefined ? null : <Panels snapshot={snapshot} plan={plan} />}
              <FailoverLog
                failovers={shown.failovers}
                lines={Math.min(plan.logLines, logLines)}
                scroll={effectiveScroll}
                note={
                  shown.startTerm === undefined || shown.startTerm <= 1
                    ? undefined
                    : `DB term ${shown.startTerm} at start`
                }
              />
            </>
          )}
        </Box>
        <Footer
          error={shown.error}
          paused={frozen !== null}
          screen={screen.kind}
          selected={selected}
        />
      </Box>
    </PanelLayoutContext.Provider>
  );
}

function Panels({
  snapshot,
  plan,
}: {
  snapshot: ClusterSnapshot;
  plan: ReturnType<typeof planLayout>;
}) {
  return (
    <>
      <DbMembersPanel members={snapshot.dbMembers} variant={plan.db} />
      {plan.raft === 'hidden' ? null : <RaftPanel members={snapshot.dbMembers} />}
      <RedisPanel instances={snapshot.redis} variant={plan.redis} />
      <VipPanel vip={snapshot.vip} at={snapshot.at} variant={plan.vip} />
      <SupervisorPanel lease={snapshot.supervisor} />
      <GossipPanel members={snapshot.gossip} at={snapshot.at} variant={plan.gossip} />
    </>
  );
}

/** `alive 13/15: DB 5/5 · Redis 2/2 · VIP 2/2 · gossip 4/4`, a DB without quorum in red. */
function Alive({ snapshot, wide }: { snapshot: ClusterSnapshot; wide: boolean }) {
  const alive = aliveSummary(snapshot);
  const db = alive.db;
  const dbDown = db !== undefined && db.up <= db.total / 2;
  const layers = [
    ['DB', db],
    ['Redis', alive.redis],
    ['VIP', alive.vipAgents],
    ['gossip', alive.gossip],
  ] as const;
  const shown = layers.filter(([, layer]) => layer !== undefined);
  return (
    <Text>
      {`  alive ${alive.up}/${alive.total}:`}
      {shown.map(([name, layer], index) => {
        if (layer === undefined) return null;
        const down = name === 'DB' && dbDown;
        return (
          <Text
            key={name}
            color={down ? 'red' : layer.up < layer.total ? 'yellow' : undefined}
            bold={down}
          >
            {`${index > 0 && wide ? ' ·' : ''} ${name} ${layer.up}/${layer.total}${down ? ' DOWN' : ''}`}
          </Text>
        );
      })}
    </Text>
  );
}

function Header({
  state,
  now,
  paused,
  width,
}: {
  state: DashboardState;
  now: number;
  paused: boolean;
  width: number;
}) {
  const stale = staleFor(state, now);
  const wide = width >= 100;
  return (
    <Text wrap="truncate-end">
      <Text bold>{wide ? 'Agenda cluster' : 'Agenda'}</Text>
      {state.snapshot === undefined ? (
        <Text color="yellow">{'  waiting for the first snapshot'}</Text>
      ) : (
        <Text>{`  ${wide ? 'snapshot ' : ''}${formatClockTime(state.snapshot.at)}`}</Text>
      )}
      {paused ? (
        <Text color="yellow" bold inverse>
          {' PAUSED '}
        </Text>
      ) : null}
      {stale === undefined || paused ? null : (
        <Text color="red" bold>{`  STALE: no snapshot for ${formatDuration(stale)}`}</Text>
      )}
      {state.snapshot === undefined ? null : <Alive snapshot={state.snapshot} wide={wide} />}
    </Text>
  );
}

function Footer({
  error,
  paused,
  screen,
  selected,
}: {
  error: string | undefined;
  paused: boolean;
  screen: Screen['kind'];
  selected: string | undefined;
}) {
  if (error !== undefined) {
    return <Text color="red" wrap="truncate-end">{`ERROR ${error}  ·  ? help  ·  q quits`}</Text>;
  }
  const keys =
    screen === 'help'
      ? 'any key closes the help  ·  q quits'
      : screen === 'detail'
        ? 'Esc back  ·  Tab next member  ·  p pause  ·  q quits'
        : `? help  p pause  ↑↓ PgUp/PgDn log  Tab select${selected === undefined ? '' : '  ⏎ details  Esc clear'}  q quits`;
  return (
    <Text wrap="truncate-end">
      {paused ? (
        <Text color="yellow" bold>
          {'PAUSED (p resumes)  '}
        </Text>
      ) : null}
      {selected === undefined || screen !== 'main' ? null : (
        <Text bold>{`[${selected.slice(selected.indexOf(':') + 1)}]  `}</Text>
      )}
      <Text dimColor>{keys}</Text>
    </Text>
  );
}
