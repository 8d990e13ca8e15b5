import test from 'ava';
import { retransmitLimit, supersedes, Swim } from './swim.js';
import { TEST_PROTOCOL, TestNetwork } from './test-network.js';
import type { MemberState, MemberUpdate } from './types.js';

const PERIOD = TEST_PROTOCOL.protocolPeriodMs;

function ids(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `n${i}`);
}

function news(incarnation: number, state: MemberState): MemberUpdate {
  return { id: 'a', role: 'users', address: 'a:1', meta: {}, incarnation, state };
}

/** Whether every running member sees exactly the running members, all alive. */
function converged(net: TestNetwork): boolean {
  const running = net.running().sort();
  return running.every((observer) => {
    const live = net
      .core(observer)
      .members()
      .filter((m) => m.state === 'alive')
      .map((m) => m.id);
    return live.join() === running.join();
  });
}

function eventsAbout(net: TestNetwork, subject: string, kind: string): number {
  return net
    .allMembers()
    .flatMap((id) => net.events(id))
    .filter((e) => e.event.member.id === subject && e.event.kind === kind).length;
}

test('news about a member is ordered by incarnation, then suspect over alive, dead over both', (t) => {
  const cases: [string, MemberUpdate, MemberUpdate | undefined, boolean][] = [
    ['anything beats nothing', news(0, 'alive'), undefined, true],
    ['suspect beats alive at the same incarnation', news(3, 'suspect'), news(3, 'alive'), true],
    [
      'alive does not refute a suspicion at the same incarnation',
      news(3, 'alive'),
      news(3, 'suspect'),
      false,
    ],
    ['a higher incarnation refutes a suspicion', news(4, 'alive'), news(3, 'suspect'), true],
    ['dead beats suspect at the same incarnation', news(3, 'dead'), news(3, 'suspect'), true],
    [
      'dead beats a newer-looking alive only at the same incarnation',
      news(3, 'dead'),
      news(4, 'alive'),
      false,
    ],
    ['a rejoin at a higher incarnation beats dead', news(4, 'alive'), news(3, 'dead'), true],
    ['left and dead are equal: the first one stays', news(3, 'left'), news(3, 'dead'), false],
    ['old news never wins', news(2, 'dead'), news(3, 'alive'), false],
    ['the same news is not new', news(3, 'alive'), news(3, 'alive'), false],
  ];
  for (const [name, next, current, expected] of cases) {
    t.is(supersedes(next, current), expected, name);
  }
});

test('every member converges to the full membership', (t) => {
  const net = new TestNetwork(1);
  net.startAll(ids(8));
  const took = net.runUntil(() => converged(net), 20 * PERIOD);
  // Piggybacked news usually does it in a few periods; the periodic full sync bounds the rest.
  t.true(took <= TEST_PROTOCOL.syncEveryPeriods * PERIOD, `took ${took} ms`);
  // Every member learned every other one as a join, and nobody was ever suspected.
  for (const id of ids(8)) {
    const joined = net.events(id).filter((e) => e.event.kind === 'joined');
    t.is(joined.length, 7, id);
  }
  t.is(eventsAbout(net, 'n3', 'suspect'), 0);
});

test('a killed member is declared dead by everyone within the expected number of periods', (t) => {
  const n = 8;
  const net = new TestNetwork(2);
  net.startAll(ids(n));
  net.runUntil(() => converged(net), 20 * PERIOD);
  net.run(3 * PERIOD);
  net.kill('n5');
  const took = net.runUntil(
    () => net.running().every((id) => net.view(id, 'n5')?.state === 'dead'),
    60 * PERIOD,
  );
  // Worst case someone probes it within two rounds of n-1, then the suspicion timeout runs
  // (4 periods), then the news needs a few periods to reach everyone.
  const bound = (2 * (n - 1) + TEST_PROTOCOL.suspicionMultiplier + 4) * PERIOD;
  t.true(took <= bound, `took ${took} ms, bound ${bound} ms`);
  for (const id of ids(n).filter((id) => id !== 'n5')) {
    t.is(eventsAbout(net, id, 'dead'), 0, `${id} was never declared dead`);
  }
});

test('a slow member that loses acks is suspected but refutes and stays alive', (t) => {
  const net = new TestNetwork(3);
  net.startAll(ids(6));
  net.runUntil(() => converged(net), 20 * PERIOD);
  net.loseAcksFrom('n2', 0.7);
  net.run(60 * PERIOD);
  t.true(eventsAbout(net, 'n2', 'suspect') > 0, 'n2 was suspected at least once');
  t.true(eventsAbout(net, 'n2', 'alive') > 0, 'and refuted');
  t.is(eventsAbout(net, 'n2', 'dead'), 0, 'but never declared dead');
  net.loseAcksFrom('n2', 0);
  net.runUntil(() => converged(net), 10 * PERIOD);
  t.true((net.view('n0', 'n2')?.incarnation ?? 0) > 0, 'refuting raised its incarnation');
});

test('indirect probes prevent a false suspicion when one link is broken', (t) => {
  const net = new TestNetwork(4);
  net.startAll(ids(6));
  net.runUntil(() => converged(net), 20 * PERIOD);
  net.breakLink('n0', 'n1');
  const from = net.now;
  net.run(40 * PERIOD);
  const indirect = net.sent.filter(
    (s) =>
      s.at > from && s.from === 'n0' && s.message.type === 'pingReq' && s.message.target === 'n1',
  );
  t.true(indirect.length > 0, 'n0 had to go through others to reach n1');
  for (const id of ids(6)) {
    t.deepEqual(
      net
        .events(id)
        .filter((e) => e.at > from)
        .map((e) => e.event.kind),
      [],
      `${id} saw no change`,
    );
  }
});

test('a member that comes back after being declared dead is alive again, at a higher incarnation', (t) => {
  const net = new TestNetwork(5);
  net.startAll(ids(6));
  net.runUntil(() => converged(net), 20 * PERIOD);
  net.kill('n4');
  net.runUntil(
    () => net.running().every((id) => net.view(id, 'n4')?.state === 'dead'),
    60 * PERIOD,
  );
  const deadAt = net.view('n0', 'n4')?.incarnation ?? -1;
  net.start('n4', ['n0']);
  net.runUntil(() => converged(net), 20 * PERIOD);
  for (const id of net.running()) {
    t.true((net.view(id, 'n4')?.incarnation ?? -1) > deadAt, id);
  }
  const rejoined = net
    .events('n1')
    .filter((e) => e.event.member.id === 'n4')
    .map((e) => e.event.kind);
  t.deepEqual(rejoined.slice(-2), ['dead', 'joined']);
});

test('after a partition heals, the halves find each other and false deaths are refuted at once', (t) => {
  const net = new TestNetwork(11);
  const all = ids(9);
  const cut = all.slice(0, 3);
  const rest = all.slice(3);
  net.startAll(all);
  net.runUntil(() => converged(net), 20 * PERIOD);
  for (const a of cut) for (const b of rest) net.breakLink(a, b);
  const sees = (observers: string[], subjects: string[], state: string) =>
    observers.every((o) => subjects.every((s) => net.view(o, s)?.state === state));
  net.runUntil(() => sees(cut, rest, 'dead') && sees(rest, cut, 'dead'), 60 * PERIOD);
  for (const a of cut) for (const b of rest) net.healLink(a, b);
  const healedAt = net.now;
  // The cut-off side tells everyone that the other side died; the other side must not
  // believe it of members it can reach for long (a gateway refuses requests meanwhile).
  let longestFalseDeath = 0;
  const deadSince = new Map<string, number>();
  net.runUntil(() => {
    for (const o of rest) {
      for (const s of rest) {
        const key = `${o}>${s}`;
        if (o !== s && net.view(o, s)?.state === 'dead') {
          if (!deadSince.has(key)) deadSince.set(key, net.now);
        } else if (deadSince.has(key)) {
          longestFalseDeath = Math.max(longestFalseDeath, net.now - (deadSince.get(key) ?? 0));
          deadSince.delete(key);
        }
      }
    }
    return converged(net) && deadSince.size === 0;
  }, 200 * PERIOD);
  t.log(
    `healed → converged in ${net.now - healedAt} ms; longest false death ${longestFalseDeath} ms`,
  );
  t.true(longestFalseDeath <= PERIOD, `${longestFalseDeath} ms`);
  // Members believed dead are knocked on every period, so the halves find each other fast.
  t.true(net.now - healedAt <= 5 * PERIOD, `converged ${net.now - healedAt} ms after the heal`);
});

test('a member that leaves is seen as left, not as failed', (t) => {
  const net = new TestNetwork(6);
  net.startAll(ids(6));
  net.runUntil(() => converged(net), 20 * PERIOD);
  net.core('n3').leave();
  net.run(2 * PERIOD);
  net.kill('n3');
  net.runUntil(
    () => net.running().every((id) => net.view(id, 'n3')?.state === 'left'),
    10 * PERIOD,
  );
  t.is(eventsAbout(net, 'n3', 'suspect'), 0);
  t.is(eventsAbout(net, 'n3', 'dead'), 0);
});

test('dissemination is bounded per message and per news item', (t) => {
  const n = 10;
  const maxPiggyback = 3;
  const net = new TestNetwork(7, { ...TEST_PROTOCOL, maxPiggyback });
  net.startAll(ids(n));
  net.runUntil(() => converged(net), 30 * PERIOD);
  net.run(10 * PERIOD);
  const gossip = net.sent.filter((s) => s.message.type !== 'sync');
  t.true(gossip.every((s) => s.message.updates.length <= maxPiggyback));
  const sends = new Map<string, number>();
  for (const s of gossip) {
    for (const u of s.message.updates) {
      const key = `${s.from} ${u.id} ${u.incarnation} ${u.state}`;
      sends.set(key, (sends.get(key) ?? 0) + 1);
    }
  }
  const limit = retransmitLimit(n, TEST_PROTOCOL.retransmitMultiplier);
  t.true(Math.max(...sends.values()) <= limit, `each news item sent at most ${limit} times`);
  // Once the news ran out, messages travel light.
  const late = gossip.filter((s) => s.at > net.now - 3 * PERIOD);
  t.true(late.length > 0);
  t.true(late.every((s) => s.message.updates.length === 0));
});

test('the same seed replays the same run', (t) => {
  const trace = (seed: number) => {
    const net = new TestNetwork(seed);
    net.startAll(ids(5));
    net.loseAcksFrom('n1', 0.5);
    net.run(30 * PERIOD);
    return net.sent.map((s) => `${s.at} ${s.from}>${s.to} ${JSON.stringify(s.message)}`);
  };
  t.deepEqual(trace(11), trace(11));
  t.notDeepEqual(trace(11), trace(12));
});

test('tunables are checked', (t) => {
  const self = { id: 'a', role: 'users', address: 'a:1', meta: {} };
  const error = t.throws(
    () => new Swim({ self, random: () => 0, now: 0, protocolPeriodMs: 100, ackTimeoutMs: 100 }),
  );
  t.is((error as { code?: string }).code, 'invalid_config');
});

test('a dead member is forgotten everywhere: no member hands the tombstone back to one that forgot it', (t) => {
  // Short retention and frequent syncs: members forget at slightly different times, and a
  // sync in between used to hand the record back.
  const retention = 5_000;
  const net = new TestNetwork(35, {
    ...TEST_PROTOCOL,
    deadRetentionMs: retention,
    syncEveryPeriods: 2,
  });
  const members = ids(8);
  for (const id of members) net.start(id, ['n0']);
  net.run(15_000);
  t.true(converged(net));
  net.kill('n7');
  // Detection, then one retention period on the last member to learn, then syncs that could
  // hand the record back (one every 10 periods); well past all of that, nobody holds it.
  net.run(60_000);
  for (const observer of members.slice(0, 7)) {
    t.is(net.view(observer, 'n7'), undefined, `${observer} still holds n7`);
  }
  // Each member forgets it once: a second removal means the record was handed back.
  for (const observer of members.slice(0, 7)) {
    const removals = net
      .events(observer)
      .filter((e) => e.event.member.id === 'n7' && e.event.kind === 'removed');
    t.is(removals.length, 1, `${observer} forgot n7 ${removals.length} times`);
  }
});
