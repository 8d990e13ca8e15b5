/**
 * When the gossip view says a service has no replica up: never on no knowledge, never in the
 * start-up window, never on the word of a view that looks cut off, never because of an
 * observer, and still after the protocol forgot the dead. First with a hand-fed view, then
 * with SWIM cores on the deterministic test network.
 */
import test from 'ava';
import type { GossipStats } from './node.js';
import { TEST_PROTOCOL, TestNetwork } from './test-network.js';
import type { MemberState, MemberView, MembershipEvent } from './types.js';
import type { MembershipSource } from './view.js';
import { GossipView } from './view.js';

const STATS: GossipStats = {
  sent: 0,
  received: 0,
  sendErrors: 0,
  dropped: {
    too_large: 0,
    too_short: 0,
    bad_mac: 0,
    malformed: 0,
    version: 0,
    stale: 0,
    replay: 0,
  },
  unproven: 0,
};

function member(id: string, role: string, state: MemberState, incarnation = 0): MemberView {
  return { id, role, state, incarnation, address: `${id}:7946`, meta: {}, since: 0 };
}

/** A view fed by hand: `set` replaces the protocol's view, `emit` plays a change event. */
class FakeSource implements MembershipSource {
  readonly self = { id: 'gateway-1', role: 'gateway', address: 'gateway-1:7946', meta: {} };
  private view: MemberView[] = [member('gateway-1', 'gateway', 'alive')];
  private readonly listeners = new Set<(change: MembershipEvent) => void>();

  set(...others: MemberView[]): void {
    this.view = [member('gateway-1', 'gateway', 'alive'), ...others];
  }
  emit(change: MembershipEvent): void {
    for (const listener of this.listeners) listener(change);
  }
  listening(): number {
    return this.listeners.size;
  }
  members(): MemberView[] {
    return this.view;
  }
  on(_event: 'change', listener: (change: MembershipEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  stats(): GossipStats {
    return STATS;
  }
}

function setup(settleMs = 1000) {
  const clock = { now: 0 };
  const source = new FakeSource();
  const view = new GossipView(source, { settleMs, clock: () => clock.now });
  return { clock, source, view };
}

test('a role never seen gets no opinion', (t) => {
  const { clock, source, view } = setup();
  source.set(member('groups-1', 'groups', 'alive'));
  clock.now = 60_000;
  t.false(view.hasSeen('users'));
  t.is(view.unavailable('users'), null);
  t.is(view.describe('users'), 'no users member seen');
  t.is(view.unavailable('groups'), null);
});

test('the start-up window: no refusal until settleMs after the first contact', (t) => {
  const { clock, source, view } = setup(1000);
  clock.now = 5_000;
  // The first sync brings a tombstone of users-1 and a live groups replica.
  source.set(member('users-1', 'users', 'dead', 2), member('groups-1', 'groups', 'alive'));
  t.true(view.hasSeen('users'));
  t.is(view.unavailable('users'), null, 'just joined: the view may still be incomplete');
  clock.now = 5_999;
  t.is(view.unavailable('users'), null);
  clock.now = 6_000;
  t.is(view.unavailable('users'), 'no users service replica is alive (gossip: users-1 dead)');
});

test('a suspect or alive replica keeps its service available', (t) => {
  const { clock, source, view } = setup(0);
  source.set(
    member('users-1', 'users', 'dead'),
    member('users-2', 'users', 'suspect'),
    member('groups-1', 'groups', 'alive'),
  );
  clock.now = 10;
  t.is(view.unavailable('users'), null);
  t.deepEqual(
    view.liveMembers('users').map((m) => m.id),
    ['users-2'],
  );
  t.deepEqual(view.aliveMembers('users'), []);
  source.set(
    member('users-1', 'users', 'dead'),
    member('users-2', 'users', 'left', 1),
    member('groups-1', 'groups', 'alive'),
  );
  t.is(
    view.unavailable('users'),
    'no users service replica is alive (gossip: users-1 dead, users-2 left)',
  );
});

test('a view where every other member failed looks cut off and refuses nothing', (t) => {
  const { clock, source, view } = setup(0);
  source.set(member('users-1', 'users', 'alive'), member('supervisor-1', 'supervisor', 'alive'));
  clock.now = 10;
  source.set(member('users-1', 'users', 'dead'), member('supervisor-1', 'supervisor', 'dead'));
  t.is(view.unavailable('users'), null, 'more likely this gateway is cut off than all died');
  source.set(member('users-1', 'users', 'dead'), member('supervisor-1', 'supervisor', 'alive'));
  t.regex(view.unavailable('users') ?? '', /users-1 dead/);
  // Members that said goodbye are not failures: a view of clean departures is trusted.
  source.set(member('users-1', 'users', 'left'), member('supervisor-1', 'supervisor', 'left'));
  t.regex(view.unavailable('users') ?? '', /users-1 left/);
});

test('observers count for nothing: not as contact, not as proof the view works', (t) => {
  const { clock, source, view } = setup(1000);
  source.set(member('dashboard', 'observer', 'alive'), member('users-1', 'users', 'dead'));
  clock.now = 10_000;
  t.is(view.unavailable('users'), null, 'only an observer was ever heard from');
  source.set(
    member('dashboard', 'observer', 'alive'),
    member('users-1', 'users', 'dead'),
    member('groups-1', 'groups', 'dead'),
  );
  clock.now = 20_000;
  t.is(view.unavailable('users'), null, 'an observer does not make a deaf view trustworthy');
  t.is(view.unavailable('observer'), null, 'and is never a service to fail fast on');
  source.set(
    member('dashboard', 'observer', 'left'),
    member('users-1', 'users', 'dead'),
    member('groups-1', 'groups', 'alive'),
  );
  clock.now = 30_000;
  t.is(view.unavailable('users'), null, 'groups-1 is the first real contact: the window starts');
  clock.now = 31_000;
  t.regex(view.unavailable('users') ?? '', /^no users service replica is alive/);
  t.is(view.unavailable('groups'), null);
});

test('members the protocol forgot are still named, and counts cover every seen role', (t) => {
  const { clock, source, view } = setup(0);
  source.set(member('users-1', 'users', 'alive'), member('groups-1', 'groups', 'alive'));
  clock.now = 10;
  // users-1 dies and is forgotten between two reads: only the events tell.
  source.emit({ kind: 'dead', member: member('users-1', 'users', 'dead') });
  source.set(member('groups-1', 'groups', 'alive'));
  source.emit({ kind: 'removed', member: member('users-1', 'users', 'dead') });
  t.is(view.unavailable('users'), 'no users service replica is alive (gossip: users-1 dead)');
  t.deepEqual(view.roles(), ['gateway', 'groups', 'users']);
  const users = view.counts().filter((c) => c.role === 'users');
  t.deepEqual(users, [
    { role: 'users', state: 'alive', count: 0 },
    { role: 'users', state: 'suspect', count: 0 },
    { role: 'users', state: 'dead', count: 0 },
    { role: 'users', state: 'left', count: 0 },
  ]);
  t.like(
    view.counts().find((c) => c.role === 'groups' && c.state === 'alive'),
    { count: 1 },
  );
  // It comes back at a higher incarnation.
  source.set(member('users-1', 'users', 'alive', 3), member('groups-1', 'groups', 'alive'));
  t.is(view.unavailable('users'), null);
  t.is(view.stats(), STATS);
  t.is(source.listening(), 1);
  view.close();
  t.is(source.listening(), 0);
});

test('on SWIM cores: replicas die, are forgotten, and one comes back', (t) => {
  const net = new TestNetwork(7);
  const period = TEST_PROTOCOL.protocolPeriodMs;
  net.start('gateway', [], 'gateway');
  for (const [id, role] of [
    ['u1', 'users'],
    ['u2', 'users'],
    ['g1', 'groups'],
  ] as const) {
    net.start(id, ['gateway'], role);
  }
  const core = () => net.core('gateway');
  const source: MembershipSource = {
    self: { id: 'gateway', role: 'gateway', address: TestNetwork.address('gateway'), meta: {} },
    members: () => core().members(),
    on: () => () => undefined,
    stats: () => STATS,
  };
  const view = new GossipView(source, { settleMs: 3 * period, clock: () => net.now });
  t.is(view.unavailable('users'), null);
  net.runUntil(() => view.liveMembers('users').length === 2, 20 * period);
  net.run(3 * period);
  t.is(view.unavailable('users'), null);

  net.kill('u1');
  net.kill('u2');
  net.runUntil(() => view.unavailable('users') !== null, 30 * period);
  t.is(view.unavailable('users'), 'no users service replica is alive (gossip: u1 dead, u2 dead)');
  t.is(view.unavailable('groups'), null);
  // Past the tombstones' retention the protocol forgets them; the view does not.
  net.runUntil(
    () =>
      !core()
        .members()
        .some((m) => m.role === 'users'),
    5 * TEST_PROTOCOL.deadRetentionMs,
  );
  t.is(view.unavailable('users'), 'no users service replica is alive (gossip: u1 dead, u2 dead)');

  net.start('u2', ['gateway'], 'users');
  net.runUntil(() => view.unavailable('users') === null, 20 * period);
  t.deepEqual(
    view.liveMembers('users').map((m) => m.id),
    ['u2'],
  );
  t.is(view.describe('users'), 'u1 dead, u2 alive');
});
