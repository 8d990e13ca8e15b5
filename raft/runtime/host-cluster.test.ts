/**
 * Hosts on the real storage code, through restarts, joins and power cuts: what a member
 * must still know after a restart (the membership, the commit index), what a joiner must
 * learn (the founding voters), which answers a restarted member may take (its own reads
 * only), and when a leader may count its own copy of an entry (once stored).
 */
import test from 'ava';
import type { Message } from '../core/types.js';
import { PowerCut, HostCluster } from './test-cluster.js';

test('a restarted member re-applies the membership changes it knew committed before it campaigns', (t) => {
  const c = new HostCluster([1, 2, 3]);
  c.start(4, true);
  c.start(5, true);
  c.elect(1);
  c.write(1, 'a');
  c.changeMembership(1, { kind: 'addVoter', node: 4 });
  c.changeMembership(1, { kind: 'addVoter', node: 5 });
  for (const id of [1, 2, 3, 4, 5]) {
    t.deepEqual(c.host(id).status().conf.voters, [1, 2, 3, 4, 5], `member ${id}`);
  }
  // Member 1 restarts into a partition {1, 2} | {3, 4, 5}; the others' timeouts are later,
  // so member 1 asks first. A member that believed the founding {1, 2, 3} would win with 2
  // alone, beside a leader the other side elects in the same term.
  for (const [id, jitter] of [
    [2, 0.9],
    [4, 0.5],
    [5, 0.7],
  ] as const)
    c.setJitter(id, jitter);
  c.restart(1);
  c.partition([1, 2], [3, 4, 5]);
  for (let i = 0; i < 40; i++) {
    c.tick(1, [1, 2]);
    t.deepEqual(c.leaders(), [], `no leader in the minority, tick ${i}`);
  }
  t.true(c.host(1).status().conf.voters.length >= 4, 'member 1 re-applied at least one addition');
  // The majority side elects a leader; at most one leader in any term.
  c.tick(40, [3, 4, 5]);
  t.deepEqual(c.leaders(), [3]);
  c.heal();
  c.tick(3, [3]);
  t.deepEqual(c.host(1).status().conf.voters, [1, 2, 3, 4, 5]);
});

test('a member that joins before any snapshot learns the founding voters from the log', (t) => {
  const c = new HostCluster([1, 2, 3]);
  c.elect(1);
  for (let i = 0; i < 5; i++) c.write(1, `v${i}`);
  // Member 4 starts with an empty disk and no voters, and waits to be added.
  c.start(4, true);
  t.deepEqual(c.host(4).status().conf, { voters: [], learners: [] });
  c.changeMembership(1, { kind: 'addLearner', node: 4 });
  c.tick(3, [1]);
  t.is(c.host(4).status().snapshotIndex, 0, 'caught up from the log, not a snapshot');
  c.changeMembership(1, { kind: 'promote', node: 4 });
  t.deepEqual(c.host(4).status().conf, { voters: [1, 2, 3, 4], learners: [] });
  t.deepEqual(c.applied(4), ['v0', 'v1', 'v2', 'v3', 'v4']);
  // Cut off, it needs three of four votes: it never leads on its own.
  c.isolate(4);
  c.tick(60, [4]);
  t.deepEqual(c.leaders(), [1]);
  // After a restart it still knows them (its promotion, which it did not know committed, it
  // learns again from the leader).
  c.restart(4);
  c.tick(60, [4]);
  t.deepEqual(c.leaders(), [1]);
  t.deepEqual(c.host(4).status().conf.voters.slice(0, 3), [1, 2, 3]);
  c.heal();
  c.tick(3, [1]);
  t.deepEqual(c.host(4).status().conf.voters, [1, 2, 3, 4]);
});

test('a read of an earlier run of a member never answers a read of its next run', (t) => {
  const c = new HostCluster([1, 2, 3]);
  c.elect(1);
  c.write(1, 'a');
  c.tick(2);
  // Member 3 reads; the leader's confirmation rounds are lost (until 'b' below), so the read
  // stays pending there.
  const lost = (m: Message) => m.type === 'heartbeatResp';
  c.host(3).read(null, () => undefined);
  c.deliverAll(lost);
  c.restart(3);
  // It learns who leads again.
  c.host(1).tick();
  c.deliverAll(lost);
  t.is(c.host(3).status().leader, 1);
  // 'b' is acknowledged (members 1 and 2) while member 3 gets no entries.
  let acknowledged = false;
  c.host(1).propose(new TextEncoder().encode('b'), (error) => (acknowledged = error === null));
  c.deliverAll((m) => lost(m) || (m.type === 'app' && m.to === 3));
  t.true(acknowledged);
  // A read that begins after 'b' was acknowledged must see it, however its answer is routed.
  const answers: string[] = [];
  c.host(3).read(null, (error, value) =>
    answers.push(error ? `error ${error.message}` : `${value}`),
  );
  c.deliverAll((m) => m.type === 'app' && m.to === 3);
  t.deepEqual(answers, [], 'the read waits for member 3 to apply what it must see');
  c.tick(2, [1]);
  t.deepEqual(answers, ['b']);
});

test('a single voter counts its own entry only once stored: a learner never applies one it lost', (t) => {
  const c = new HostCluster([1]);
  c.start(2, true);
  c.elect(1);
  c.changeMembership(1, { kind: 'addLearner', node: 2 });
  c.write(1, 'kept');
  c.tick(2, [1]);
  t.deepEqual(c.applied(2), ['kept']);
  // The leader sends its append to the learner, then loses power in its own fsync.
  c.cutPowerAtNextSync(1);
  c.host(1).propose(new TextEncoder().encode('lost'), () => undefined);
  t.throws(() => c.process(1), { instanceOf: PowerCut });
  c.crash(1);
  t.true(
    c.inflight.some((m) => m.type === 'app' && m.to === 2),
    'the append left before the fsync',
  );
  c.deliverAll();
  t.deepEqual(c.applied(2), ['kept'], 'the learner did not apply what the voter lost');
  c.restart(1);
  c.elect(1);
  c.write(1, 'after');
  c.tick(2, [1]);
  t.false(c.applied(1).includes('lost'));
  t.deepEqual(c.applied(2), ['kept', 'after']);
});
