/**
 * The order in which RaftHost persists and sends: a leader's replication goes out before its
 * own fsync (so the followers' fsyncs overlap it), while votes and acknowledgements wait for
 * the fsync that makes them true.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import test from 'ava';
import type { RaftError } from '../core/errors.js';
import type { Entry, HardState, Message, NodeId } from '../core/types.js';
import {
  RaftHost,
  type AsyncStateMachine,
  type Callback,
  type HostStorage,
  type StateMachine,
} from './host.js';

/** An in-memory log that records, in one timeline shared by all members, when it syncs. */
function recordingStorage(id: NodeId, timeline: string[]): HostStorage {
  return {
    load: () => ({ hardState: { term: 0, vote: 0 }, snapshot: null, entries: [] }),
    saveHardState: (hs: HardState) => timeline.push(`${id} hardState term ${hs.term}`),
    append: (_entries: readonly Entry[]) => undefined,
    installSnapshot: () => undefined,
    saveSnapshot: (snap) => timeline.push(`${id} snapshot ${snap.meta.index}`),
    compact: () => undefined,
    sync: () => timeline.push(`${id} sync`),
  };
}

/** Answers each command with its index; a query answers the last index applied. */
function counter(batches: number[][]): StateMachine<number, null, number> {
  let last = 0;
  return {
    apply: (commands) => {
      batches.push(commands.map((c) => c.index));
      last = commands[commands.length - 1]?.index ?? last;
      return commands.map((c) => c.index);
    },
    snapshot: () => new Uint8Array(),
    restore: () => undefined,
    query: () => last,
  };
}

function cluster(
  followerApplyBatch = 0,
  reads: { budgetMs: number; clock: () => number } | null = null,
  snapshots: { every: number; phase: (id: NodeId) => number } | null = null,
  machine:
    ((id: NodeId, batches: number[][]) => AsyncStateMachine<number, null, number>) | null = null,
) {
  const timeline: string[] = [];
  const applied = new Map<NodeId, number[][]>();
  const inFlight: Message[] = [];
  const hosts = new Map<NodeId, RaftHost<number, null, number>>();
  for (const id of [1, 2, 3]) {
    hosts.set(
      id,
      new RaftHost({
        raft: { id, electionTicks: 10, heartbeatTicks: 1, random: () => 0 },
        storage: recordingStorage(id, timeline),
        stateMachine: (machine ?? ((_id, batches) => counter(batches)))(
          id,
          applied.set(id, []).get(id)!,
        ),
        followerApplyBatch,
        ...(reads ? { readBudgetMs: reads.budgetMs, clock: reads.clock } : {}),
        ...(snapshots
          ? { snapshotEvery: snapshots.every, snapshotPhase: snapshots.phase(id) }
          : {}),
        bootstrap: { voters: [1, 2, 3], learners: [] },
        send: (messages) => {
          for (const m of messages) {
            timeline.push(`${id} send ${m.type}${m.type === 'vote' && m.pre ? ' (pre)' : ''}`);
            inFlight.push(m);
          }
        },
        flush: () => timeline.push(`${id} flush`),
      }),
    );
  }
  const host = (id: NodeId) => hosts.get(id)!;
  /** Delivers messages until none are left. */
  const settle = () => {
    while (inFlight.length > 0) {
      const m = inFlight.shift()!;
      host(m.to).receive(m);
      host(m.to).process();
    }
  };
  /** Ticks member 1 until it leads. */
  const elect = () => {
    for (let i = 0; i < 20 && host(1).status().role !== 'leader'; i++) {
      host(1).tick();
      host(1).process();
      settle();
    }
  };
  const propose = (n: number) => {
    for (let i = 0; i < n; i++) host(1).propose(new Uint8Array([i + 1]), () => undefined);
    host(1).process();
    settle();
    // One more round carries the new commit index to the followers.
    host(1).tick();
    host(1).process();
    settle();
  };
  return { timeline, host, settle, applied, elect, propose };
}

test("a leader's appends leave before its fsync; a follower acknowledges only after its own", (t) => {
  const { timeline, host, settle, elect } = cluster();
  elect();
  t.is(host(1).status().role, 'leader');

  timeline.length = 0;
  let applied: number | undefined;
  host(1).propose(new Uint8Array([1]), (error, result) => {
    t.is(error, null);
    applied = result;
  });
  host(1).process();
  t.deepEqual(timeline, ['1 send app', '1 send app', '1 flush', '1 sync']);

  timeline.length = 0;
  settle();
  t.true(applied !== undefined);
  // Each follower syncs the entry before it says it has it.
  for (const follower of [2, 3]) {
    const events = timeline.filter((e) => e.startsWith(`${follower} `));
    t.deepEqual(events.slice(0, 2), [`${follower} sync`, `${follower} send appResp`]);
  }
});

test('a candidate stores its term and vote before it asks for votes, and flushes nothing early', (t) => {
  const { timeline, host, elect } = cluster();
  elect();
  t.is(host(1).status().role, 'leader');
  const stored = timeline.indexOf(`1 hardState term 1`);
  const asked = timeline.indexOf('1 send vote');
  t.true(stored >= 0 && asked > stored, timeline.join(', '));
  // Voters too store their vote before they answer.
  for (const voter of [2, 3]) {
    const voted = timeline.indexOf(`${voter} hardState term 1`);
    t.true(voted >= 0 && timeline.indexOf(`${voter} send voteResp`, voted) > voted);
  }
  t.false(timeline.slice(0, asked).includes('1 flush'));
});

test('a follower batches its applies: held until the batch is full or its next tick', (t) => {
  const { host, applied, elect, propose } = cluster(4);
  elect();
  const leaderLast = () => applied.get(1)!.flat().at(-1) ?? 0;
  const followerLast = () => applied.get(2)!.flat().at(-1) ?? 0;
  propose(1);
  t.is(host(2).status().commit, leaderLast());
  // Committed on the follower, not applied yet: its status says how far it really got.
  t.true(followerLast() < leaderLast());
  t.true(host(2).status().applied < host(2).status().commit);
  host(2).tick();
  t.is(followerLast(), leaderLast());
  t.is(host(2).status().applied, host(2).status().commit);

  const before = applied.get(2)!.length;
  propose(5);
  // Five entries reached the batch size of four: applied together, in order, no tick needed.
  t.is(followerLast(), leaderLast());
  t.deepEqual(applied.get(2)!.slice(before).flat(), applied.get(1)!.flat().slice(-5));
  t.true(applied.get(2)!.length - before <= 2);
});

test('a follower applies what it holds before it answers a read or leads', (t) => {
  const { host, applied, elect, propose, settle } = cluster(64);
  elect();
  propose(3);
  const leaderLast = applied.get(1)!.flat().at(-1);
  t.true((applied.get(3)!.flat().at(-1) ?? 0) < (leaderLast ?? 0));
  let answer: number | undefined;
  host(3).read(null, (error, value) => {
    t.is(error, null);
    answer = value;
  });
  host(3).process();
  settle();
  host(1).tick();
  host(1).process();
  settle();
  t.is(answer, leaderLast);

  t.true((applied.get(2)!.flat().at(-1) ?? 0) < (leaderLast ?? 0));
  host(1).core.transferLeadership(2);
  host(1).process();
  settle();
  t.is(host(2).status().role, 'leader');
  t.true((applied.get(2)!.flat().at(-1) ?? 0) >= (leaderLast ?? 0));
});

test('a burst of reads is answered over several rounds within the read budget, in order', (t) => {
  // Every reading of the clock is a millisecond later: a 3 ms budget answers a few reads a round.
  let now = 0;
  const { host, elect, propose, settle } = cluster(0, { budgetMs: 3, clock: () => ++now });
  elect();
  propose(1);
  const answered: number[] = [];
  for (let i = 0; i < 100; i++) {
    host(1).read(null, (error) => {
      t.is(error, null);
      answered.push(i);
    });
  }
  host(1).process();
  settle();
  host(1).tick();
  host(1).process();
  settle();
  t.true(answered.length > 0 && answered.length < 50, `${answered.length} answered at once`);
  t.true(host(1).hasServableReads());
  let rounds = 1;
  while (host(1).hasServableReads() && rounds < 200) {
    host(1).process();
    rounds++;
  }
  t.deepEqual(
    answered,
    Array.from({ length: 100 }, (_, i) => i),
  );
  t.true(rounds >= 10, `${rounds} rounds`);
  t.false(host(1).hasServableReads());
});

test('members snapshot at their own phase, and a leader puts its snapshot off while it leads', (t) => {
  const every = 6;
  const { timeline, host, elect, propose } = cluster(0, null, {
    every,
    phase: (id) => (id - 1) * 2,
  });
  elect();
  timeline.length = 0;
  for (let i = 0; i < 13; i++) propose(1);
  const taken = (id: NodeId) =>
    timeline.filter((e) => e.startsWith(`${id} snapshot `)).map((e) => Number(e.split(' ')[2]));
  // The founding membership is index 1, the leader's election entry 2, then 13 more: 15
  // applied everywhere.
  t.is(host(2).status().applied, 15);
  // Member 2 (phase 2) crosses its grid at 4 and 10, member 3 (phase 4) at 2, 8 and 14.
  t.deepEqual(taken(2), [4, 10]);
  t.deepEqual(taken(3), [2, 8, 14]);
  // The leader (phase 0) lets twice the interval pass: 12 entries since nothing was taken.
  t.deepEqual(taken(1), [12]);
});

test('a snapshot written in the background leaves the member working; the log is compacted once it is durable', async (t) => {
  const events: string[] = [];
  const saves: { index: number; settle: (adopted: boolean) => void }[] = [];
  const work: Promise<void>[] = [];
  const storage: HostStorage = {
    ...recordingStorage(1, events),
    saveSnapshot: () => t.fail('a member with background work saves no snapshot synchronously'),
    saveSnapshotInBackground: (snap) =>
      new Promise<boolean>((resolve) => saves.push({ index: snap.meta.index, settle: resolve })),
    compact: (index) => events.push(`compact ${index}`),
  };
  const applied: number[][] = [];
  const host = new RaftHost({
    raft: { id: 1, electionTicks: 10, heartbeatTicks: 1, random: () => 0 },
    storage,
    stateMachine: counter(applied),
    bootstrap: { voters: [1], learners: [] },
    send: () => undefined,
    snapshotEvery: 4,
    snapshotRetain: 1,
    background: (w) => work.push(w),
  });
  for (let i = 0; i < 20 && host.status().role !== 'leader'; i++) {
    host.tick();
    host.process();
  }
  // A single member leads with no one to wait for, so it snapshots like a follower would
  // only after twice the interval: index 8 (the founding membership is 1, the election entry 2).
  const propose = (n: number) => {
    for (let i = 0; i < n; i++) host.propose(new Uint8Array([1]), () => undefined);
    host.process();
  };
  propose(6);
  t.deepEqual(
    saves.map((s) => s.index),
    [8],
  );
  // Writing: the member goes on applying, starts no second snapshot and compacts nothing.
  propose(12);
  t.is(host.status().applied, 20);
  t.is(saves.length, 1);
  t.false(events.some((e) => e.startsWith('compact')));
  t.is(host.metrics().snapshotsTaken, 0);
  // Durable: the log goes up to the snapshot but for the retained entry.
  saves[0]!.settle(true);
  await work[0];
  t.deepEqual(
    events.filter((e) => e.startsWith('compact')),
    ['compact 7'],
  );
  t.is(host.metrics().snapshotsTaken, 1);
  // The next round finds the next snapshot due (20 is 12 past 8); one no longer wanted
  // (a newer one was installed meanwhile) compacts nothing and lets the next one start.
  host.process();
  t.deepEqual(
    saves.map((s) => s.index),
    [8, 20],
  );
  saves[1]!.settle(false);
  await work[1];
  t.is(host.metrics().snapshotsTaken, 1);
  // The next round starts the next one at once: at 20 again, since the new entry commits only
  // once the member's own fsync is done, a round later.
  propose(1);
  t.deepEqual(
    saves.map((s) => s.index),
    [8, 20, 20],
  );
});

test('a log large in bytes is snapshotted before its count is reached, and never before it outgrows half the last image', (t) => {
  const events: string[] = [];
  let image = new Uint8Array(0);
  const applied: number[][] = [];
  const machine = counter(applied);
  const host = new RaftHost({
    raft: { id: 1, electionTicks: 10, heartbeatTicks: 1, random: () => 0 },
    storage: recordingStorage(1, events),
    stateMachine: { ...machine, snapshot: () => image },
    bootstrap: { voters: [1], learners: [] },
    send: () => undefined,
    snapshotEvery: 1_000_000,
    snapshotBytes: 10_000,
  });
  for (let i = 0; i < 20 && host.status().role !== 'leader'; i++) {
    host.tick();
    host.process();
  }
  const snapshots = () =>
    events.filter((e) => e.includes('snapshot')).map((e) => Number(e.split(' ').at(-1)));
  const propose = (n: number, bytes: number) => {
    for (let i = 0; i < n; i++) host.propose(new Uint8Array(bytes), () => undefined);
    host.process();
    host.process();
  };
  // A leader waits for twice the bound, 20,000 bytes: 19 entries of 1,000 with their
  // overhead, far below the count of a million.
  propose(15, 1_000);
  t.deepEqual(snapshots(), []);
  propose(10, 1_000);
  // Taken after the batch that crossed it: the founding entries (2) and 25 proposals.
  t.deepEqual(snapshots(), [27]);
  // The state grew to 50,000 bytes: the next waits until the log behind it is as large (a
  // leader's twice half the image).
  image = new Uint8Array(50_000);
  propose(20, 1_000);
  t.is(snapshots().length, 2, 'the bound of 10,000 bytes alone is reached again');
  propose(40, 1_000);
  t.is(snapshots().length, 2, 'but not the image of 50,000');
  propose(15, 1_000);
  t.is(snapshots().length, 3);
});

/** {@link counter} in a worker of our own: work waits in a queue until the test lets it finish. */
function deferred(batches: number[][]) {
  const sync = counter(batches);
  const queue: (() => void)[] = [];
  const later =
    <T>(work: () => T) =>
    (done: Callback<T>) =>
      queue.push(() => done(null, work()));
  const machine: AsyncStateMachine<number, null, number> = {
    startApply: (commands, done) => later(() => sync.apply(commands))(done),
    startQuery: (q, done) => later(() => sync.query(q))(done),
    startSnapshot: (done) => later(() => sync.snapshot())(done),
    startRestore: (data, done) => later(() => sync.restore(data))(done),
  };
  /** Finishes the oldest `n` pieces of work (all by default), in order. */
  const finish = (n = queue.length) => {
    for (let i = 0; i < n; i++) queue.shift()?.();
  };
  return { machine, finish, waiting: () => queue.length };
}

test('with a state machine that finishes later, proposals and reads wait for it, in order, and consensus does not', (t) => {
  const machines = new Map<NodeId, ReturnType<typeof deferred>>();
  const { host, settle, elect, propose } = cluster(0, null, null, (id, batches) => {
    const m = deferred(batches);
    machines.set(id, m);
    return m.machine;
  });
  elect();
  const leader = host(1);
  const answers: string[] = [];
  leader.propose(new Uint8Array([7]), (error, result) =>
    answers.push(error ? `error ${error.message}` : `applied at ${result}`),
  );
  propose(0);
  // A read after the write committed must see it, so it waits for the machine to apply it.
  leader.read(null, (error, value) => answers.push(error ? `error` : `read ${value}`));
  leader.process();
  settle();
  // Committed everywhere, applied nowhere (but for the founding membership and the leader's
  // empty entry, which hold no command): consensus went on without the machines.
  t.is(leader.status().commit, 3);
  t.is(leader.status().applied, 2);
  t.deepEqual(answers, []);
  leader.tick();
  leader.process();
  settle();
  t.is(leader.status().role, 'leader');

  const mine = machines.get(1)!;
  mine.finish(1);
  leader.process();
  t.deepEqual(answers, ['applied at 3']);
  t.is(leader.status().applied, 3);
  // The read was started once the machine had been given its index, and answers after the apply.
  mine.finish();
  t.deepEqual(answers, ['applied at 3', 'read 3']);
});

test('proposals are refused as busy while the state machine trails by more than maxApplyLag', (t) => {
  const timeline: string[] = [];
  const m = deferred([]);
  const solo = new RaftHost({
    raft: { id: 1, electionTicks: 10, heartbeatTicks: 1, random: () => 0 },
    storage: recordingStorage(1, timeline),
    stateMachine: m.machine,
    maxApplyLag: 3,
    bootstrap: { voters: [1], learners: [] },
    send: () => undefined,
  });
  for (let i = 0; i < 30 && solo.status().role !== 'leader'; i++) {
    solo.tick();
    solo.process();
  }
  const errors: string[] = [];
  const record = (error: Error | null) => {
    if (error) errors.push((error as Error & { code?: string }).code ?? error.message);
  };
  for (let i = 0; i < 6; i++) {
    solo.propose(new Uint8Array([i + 1]), record);
    solo.process();
  }
  t.true(errors.includes('busy'), errors.join(', '));
  m.finish();
  solo.process();
  errors.length = 0;
  solo.propose(new Uint8Array([9]), record);
  solo.process();
  t.deepEqual(errors, []);
});

/**
 * Three members whose fsyncs, and installs of a leader's snapshot, run in the background and
 * finish only when the test says: `pending` holds each member's unfinished syncs, `installs`
 * its unfinished installs. With `snapshotEvery`, members snapshot (synchronously) and compact
 * their whole log.
 */
function backgroundCluster(snapshotEvery = 0) {
  const timeline: string[] = [];
  const inFlight: Message[] = [];
  const pending = new Map<NodeId, ((error: Error | null) => void)[]>();
  const installs = new Map<NodeId, { resolve: () => void; reject: (e: Error) => void }[]>();
  const hosts = new Map<NodeId, RaftHost<number, null, number>>();
  const failures: (Error | null)[] = [];
  for (const id of [1, 2, 3]) {
    pending.set(id, []);
    installs.set(id, []);
    const storage: HostStorage = {
      ...recordingStorage(id, timeline),
      installSnapshot: () => {
        throw new Error('a member with background syncs installs in the background');
      },
      installSnapshotInBackground: (snap) => {
        timeline.push(`${id} install ${snap.meta.index} started`);
        return new Promise((resolve, reject) => installs.get(id)!.push({ resolve, reject }));
      },
      syncInBackground: (done) => {
        timeline.push(`${id} sync started`);
        pending.get(id)!.push(done);
      },
    };
    hosts.set(
      id,
      new RaftHost({
        raft: { id, electionTicks: 10, heartbeatTicks: 1, random: () => 0 },
        storage,
        stateMachine: counter([]),
        bootstrap: { voters: [1, 2, 3], learners: [] },
        syncInBackground: true,
        onBackgroundSync: (error) => failures.push(error),
        snapshotEvery,
        snapshotRetain: 0,
        send: (messages) => {
          for (const m of messages) {
            timeline.push(`${id} send ${m.type}`);
            inFlight.push(m);
          }
        },
      }),
    );
  }
  const host = (id: NodeId) => hosts.get(id)!;
  /** Finishes member `id`'s oldest background sync. */
  const synced = (id: NodeId) => {
    const done = pending.get(id)!.shift();
    if (done === undefined) throw new Error(`member ${id} is not syncing`);
    timeline.push(`${id} sync done`);
    done(null);
  };
  /** Members whose messages, both ways, are lost. */
  const isolated = new Set<NodeId>();
  /** Delivers messages and finishes syncs until nothing is left. */
  const settle = () => {
    for (;;) {
      const m = inFlight.shift();
      if (m !== undefined) {
        if (isolated.has(m.to) || isolated.has(m.from)) continue;
        host(m.to).receive(m);
        host(m.to).process();
        continue;
      }
      const syncing = [...pending].find(([, queue]) => queue.length > 0);
      if (syncing === undefined) return;
      synced(syncing[0]);
    }
  };
  for (let i = 0; i < 20 && host(1).status().role !== 'leader'; i++) {
    host(1).tick();
    host(1).process();
    settle();
  }
  return {
    timeline,
    inFlight,
    pending,
    installs,
    host,
    synced,
    settle,
    isolated,
    failures,
  };
}

test('with background fsyncs, acknowledgements wait for the fsync and inputs wait for the Ready', (t) => {
  const { timeline, inFlight, pending, host, synced, settle, failures } = backgroundCluster();
  t.is(host(1).status().role, 'leader');
  settle();
  timeline.length = 0;

  let first: number | undefined;
  host(1).propose(new Uint8Array([1]), (error, result) => {
    t.is(error, null);
    first = result;
  });
  host(1).process();
  // The appends leave at once; the leader's fsync runs in the background.
  t.deepEqual(timeline, ['1 send app', '1 send app', '1 sync started']);

  // A proposal during the fsync waits: nothing more goes out, no second fsync starts.
  let second: number | undefined;
  host(1).propose(new Uint8Array([2]), (error, result) => {
    t.is(error, null);
    second = result;
  });
  host(1).process();
  t.is(timeline.length, 3);

  // A follower receives the append and syncs in the background: no acknowledgement yet,
  // and a heartbeat arriving meanwhile is not answered before the fsync either.
  const toTwo = inFlight.findIndex((m) => m.to === 2);
  const [append] = inFlight.splice(toTwo, 1);
  host(2).receive(append!);
  host(2).process();
  t.deepEqual(pending.get(2)!.length, 1);
  host(1).tick();
  host(1).process();
  const heartbeat = inFlight.findIndex((m) => m.to === 2 && m.type === 'heartbeat');
  if (heartbeat >= 0) {
    host(2).receive(inFlight.splice(heartbeat, 1)[0]!);
    host(2).process();
  }
  t.false(
    timeline.some((e) => e.startsWith('2 send')),
    timeline.join(', '),
  );
  synced(2);
  t.true(timeline.indexOf('2 send appResp') > timeline.indexOf('2 sync done'));

  // The leader's fsync ends: the waiting proposal goes out in the next Ready.
  synced(1);
  const after = timeline.slice(timeline.lastIndexOf('1 sync done'));
  t.true(after.includes('1 send app'), after.join(', '));
  settle();
  t.true(first !== undefined, 'the first proposal was applied');
  t.is(second, (first ?? 0) + 1, 'the second, in the next entry');
  t.deepEqual(
    failures.filter((f) => f !== null),
    [],
  );
});

test('a member stopped during a background fsync fails the inputs that waited for it', (t) => {
  const { host, settle } = backgroundCluster();
  settle();
  host(1).propose(new Uint8Array([1]), () => undefined);
  host(1).process();
  let outcome: Error | null | undefined;
  host(1).propose(new Uint8Array([2]), (error) => {
    outcome = error;
  });
  host(1).close();
  t.is((outcome as RaftError | undefined)?.code, 'stopped');
});

/**
 * A background cluster in which member 1 led, proposed while cut off, and was replaced: the
 * new leader went on past a snapshot and compacted its log, so member 1, back, is sent the
 * snapshot. Returns once member 1 has started installing it.
 */
function memberBehindASnapshot() {
  const c = backgroundCluster(4);
  const { host, settle, isolated, installs, timeline } = c;
  settle();
  const outcomes: string[] = [];
  const record = (name: string) => (error: Error | null, result?: number) =>
    outcomes.push(`${name} ${error ? (error as RaftError).code : `applied ${result}`}`);
  isolated.add(1);
  host(1).propose(new Uint8Array([1]), record('cut off'));
  host(1).process();
  settle();
  const others = [2, 3];
  const leading = () => others.find((id) => host(id).status().role === 'leader');
  for (let i = 0; i < 50 && leading() === undefined; i++) {
    for (const id of others) {
      host(id).tick();
      host(id).process();
    }
    settle();
  }
  const leader = leading()!;
  for (let i = 0; i < 12; i++) {
    host(leader).propose(new Uint8Array([i + 1]), () => undefined);
    host(leader).process();
    settle();
  }
  isolated.delete(1);
  timeline.length = 0;
  for (let i = 0; i < 20 && installs.get(1)!.length === 0; i++) {
    host(leader).tick();
    host(leader).process();
    settle();
  }
  return { ...c, leader, outcomes, record };
}

test('a snapshot from the leader is installed in the background: inputs wait for it, in order, then the member answers', async (t) => {
  const { host, settle, inFlight, installs, timeline, leader, outcomes, record, failures } =
    memberBehindASnapshot();
  t.deepEqual(timeline.slice(-2), [`${leader} send snap`, '1 install 8 started']);
  const started = timeline.length;
  const own = () => timeline.slice(started).filter((e) => e.startsWith('1 '));
  // While it installs, a proposal, the leader's heartbeat, a tick and another proposal come:
  // none reaches the core, nothing is answered, and the covered proposal is not failed yet.
  host(1).propose(new Uint8Array([7]), record('first'));
  host(leader).tick();
  host(leader).process();
  const heartbeat = inFlight.findIndex((m) => m.to === 1 && m.type === 'heartbeat');
  host(1).receive(inFlight.splice(heartbeat, 1)[0]!);
  host(1).tick();
  host(1).propose(new Uint8Array([8]), record('second'));
  host(1).process();
  t.deepEqual(own(), []);
  t.deepEqual(outcomes, []);
  t.is(host(1).status().snapshotIndex, 0);

  installs.get(1)![0]!.resolve();
  await nextTurn();
  // Durable: the snapshot is acknowledged, then the heartbeat that waited; the proposal the
  // snapshot covers has an unknown outcome, as before; the two that waited are refused in
  // the order they came, naming the leader the heartbeat made known.
  t.deepEqual(own(), ['1 send snapResp', '1 send heartbeatResp']);
  t.deepEqual(outcomes, ['cut off outcome_unknown', 'first not_leader', 'second not_leader']);
  t.is(host(1).status().snapshotIndex, 8);
  t.is(host(1).status().leader, leader);
  // And it goes on as a follower: what the leader commits next is applied there too.
  host(leader).propose(new Uint8Array([9]), () => undefined);
  host(leader).process();
  settle();
  host(leader).tick();
  host(leader).process();
  settle();
  t.is(host(1).status().applied, host(leader).status().commit);
  t.true(host(1).status().applied > 8);
  t.deepEqual(
    failures.filter((f) => f !== null),
    [],
  );
});

test('a background install that fails stops the member, as a failed background fsync does', async (t) => {
  const { host, installs, failures, outcomes, record } = memberBehindASnapshot();
  host(1).propose(new Uint8Array([7]), record('waiting'));
  installs.get(1)![0]!.reject(new Error('disk full'));
  await nextTurn();
  t.deepEqual(
    failures.filter((f) => f !== null).map((f) => f.message),
    ['disk full'],
  );
  t.throws(() => host(1).process(), { message: 'disk full' });
  t.deepEqual(outcomes, []);
  host(1).close();
  t.deepEqual(outcomes, ['cut off outcome_unknown', 'waiting stopped']);
});
