/**
 * The operator dashboard: a header saying how fresh the view is, one panel per layer of the
 * cluster, the failover log and a status line. It reads `feed` until it unmounts or `signal`
 * aborts, and survives anything the feed says: partial snapshots, error rounds, even the
 * feed throwing (that ends up in the status line, not in a crash).
 */
import { Box, Text, useApp, useInput, useStdin } from 'ink';
import { useCallback, useEffect, useState } from 'react';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { DashboardFeed } from '../ops/feed.js';
import { formatClockTime, formatDuration } from './format.js';
import {
  DbMembersPanel,
  FailoverLog,
  GossipPanel,
  RedisPanel,
  SupervisorPanel,
  VipPanel,
} from './panels.js';
import type { DashboardState } from './state.js';
import { emptyDashboardState, receiveFeedItem, staleFor } from './state.js';

export interface DashboardProps {
  feed: DashboardFeed;
  /** Aborting it stops reading the feed and exits the app. */
  signal: AbortSignal;
  clock?: Clock;
  /** How often the header re-checks staleness. */
  refreshMs?: number;
  /** Failovers remembered. */
  logLimit?: number;
  /** Failovers shown; older ones scroll off the top. */
  logLines?: number;
  /** Called once when the operator quits (`q` or Ctrl-C), before the app exits. */
  onQuit?: () => void;
}

export function Dashboard({
  feed,
  signal,
  clock = systemClock,
  refreshMs = 250,
  logLimit = 200,
  logLines = 10,
  onQuit,
}: DashboardProps) {
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const [state, setState] = useState<DashboardState>(emptyDashboardState);
  const [now, setNow] = useState(() => clock.now());

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

  // Without raw mode (stdin not a terminal) there are no keys to read; the signal still quits.
  // Ink reports a stream without `isTTY` as `undefined`, which `useInput` takes as active.
  useInput(
    (input, key) => {
      if (input === 'q' || (key.ctrl && input === 'c')) quit();
    },
    { isActive: isRawModeSupported === true },
  );

  const { snapshot } = state;
  return (
    <Box flexDirection="column">
      <Header state={state} now={now} />
      {snapshot?.problems?.map((problem, index) => (
        <Text key={index} color="yellow">{`NOTE ${problem}`}</Text>
      ))}
      {snapshot === undefined ? null : (
        <>
          <DbMembersPanel members={snapshot.dbMembers} />
          <RedisPanel instances={snapshot.redis} />
          <VipPanel vip={snapshot.vip} at={snapshot.at} />
          <SupervisorPanel lease={snapshot.supervisor} />
          <GossipPanel members={snapshot.gossip} at={snapshot.at} />
        </>
      )}
      <FailoverLog failovers={state.failovers} lines={logLines} />
      <Box marginTop={1}>
        {state.error === undefined ? (
          <Text dimColor>q quits</Text>
        ) : (
          <Text color="red">{`ERROR ${state.error}  ·  q quits`}</Text>
        )}
      </Box>
    </Box>
  );
}

function Header({ state, now }: { state: DashboardState; now: number }) {
  const stale = staleFor(state, now);
  return (
    <Text>
      <Text bold>Agenda cluster</Text>
      {state.snapshot === undefined ? (
        <Text color="yellow">{'  waiting for the first snapshot'}</Text>
      ) : (
        <Text>{`  snapshot ${formatClockTime(state.snapshot.at)}`}</Text>
      )}
      {stale === undefined ? null : (
        <Text color="red" bold>{`  STALE: no snapshot for ${formatDuration(stale)}`}</Text>
      )}
    </Text>
  );
}
