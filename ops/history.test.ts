import test from 'ava';
import { recordedFailovers } from './history.js';
import { readScrape } from './observer.js';
import { parsePrometheusText } from '../server/metrics/prometheus-text.js';
import { aliveSummary, detectFailovers } from './model.js';
import { gossipMember, labCluster } from './fixtures.js';

test('the registry history reads as failovers, oldest first, named by instance', (t) => {
  const lease = (name: string, holder: string, epoch: number, at: number) => ({
    name,
    kind: 'lease' as const,
    holder,
    epoch,
    at,
  });
  const events = recordedFailovers(
    {
      supervisor: [lease('redis-supervisor', 's1', 1, 10), lease('redis-supervisor', 's1', 2, 40)],
      vip: [lease('vip', 'vip-1', 1, 20), lease('vip', 'vip-2', 2, 50)],
      primary: [
        {
          name: 'redis/primary',
          kind: 'key',
          holder: '{"host":"10.0.0.1","port":6380}',
          epoch: 1,
          at: 30,
        },
        {
          name: 'redis/primary',
          kind: 'key',
          holder: '{"host":"10.0.0.9","port":6380}',
          epoch: 2,
          at: 60,
        },
      ],
    },
    (address) => (address === '10.0.0.1:6380' ? 'redis-1' : undefined),
  );
  t.deepEqual(
    events.map((e) => [e.at, e.kind, e.message, e.recorded]),
    [
      [10, 'supervisor', 'supervisor lease s1 (epoch 1)', true],
      [20, 'vip', 'VIP lease vip-1 (epoch 1)', true],
      [30, 'redis-primary', 'Redis primary redis-1 (epoch 1)', true],
      [40, 'supervisor', 'supervisor lease re-acquired by s1 after it lapsed (epoch 2)', true],
      [50, 'vip', 'VIP lease vip-1 → vip-2 (epoch 2)', true],
      [60, 'redis-primary', 'Redis primary redis-1 → 10.0.0.9:6380 (epoch 2)', true],
    ],
  );
});

test('a scrape gives memory and the mean fsync and apply time since the previous one', (t) => {
  const text = (fsyncSum: number, fsyncCount: number) =>
    parsePrometheusText(
      [
        '# TYPE process_resident_memory_bytes gauge',
        'process_resident_memory_bytes 209715200',
        '# TYPE nodejs_heap_size_used_bytes gauge',
        'nodejs_heap_size_used_bytes 73400320',
        '# TYPE agenda_raft_fsync_seconds histogram',
        `agenda_raft_fsync_seconds_sum{service="db",member="db-1"} ${fsyncSum}`,
        `agenda_raft_fsync_seconds_count{service="db",member="db-1"} ${fsyncCount}`,
        '',
      ].join('\n'),
    ).samples;
  const first = readScrape(text(2, 1000), 1, undefined);
  t.is(first.metrics.rssBytes, 209_715_200);
  t.is(first.metrics.heapUsedBytes, 73_400_320);
  t.is(first.metrics.fsyncMeanMs, 2);
  t.is(first.metrics.applyMeanMs, null);
  const second = readScrape(text(2.3, 1100), 2, first);
  t.is(Math.round((second.metrics.fsyncMeanMs ?? 0) * 100) / 100, 3);
  t.is(readScrape(text(2.3, 1100), 3, second).metrics.fsyncMeanMs, null, 'idle: no samples');
});

test('alive counts DB members by their status, and leaves observers out', (t) => {
  const snapshot = labCluster(0);
  t.like(aliveSummary(snapshot), { up: 17, total: 17, gossip: { up: 8, total: 8 } });
  const dbDown = {
    ...snapshot,
    dbMembers: snapshot.dbMembers?.map((m) => ({
      id: m.id,
      address: m.address,
      up: false as const,
      lastContactMs: null,
    })),
  };
  t.like(aliveSummary(dbDown), { up: 12, total: 17, db: { up: 0, total: 5 } });
});

test('an observer leaving gossip is not a failover', (t) => {
  const before = labCluster(0);
  const observer = gossipMember('observer-x-1', 'observer', '10.0.0.1:1', 'alive', 0);
  const after = labCluster(1000);
  t.deepEqual(
    detectFailovers(
      { ...before, gossip: [...(before.gossip ?? []), observer] },
      { ...after, gossip: [...(after.gossip ?? []), { ...observer, state: 'left' }] },
    ),
    [],
  );
});
