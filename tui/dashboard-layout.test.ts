/**
 * The dashboard at real terminal sizes (80×24, 120×40 and a sweep): a frame is never as
 * tall as the terminal (Ink would clear the screen at every frame) nor a line wider, the
 * header stays on top; and the keys: help, pause, scroll, drill-down and back.
 */
import test from 'ava';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { ManualClock } from './clock.js';
import type { DashboardProps } from './dashboard.js';
import { Dashboard } from './dashboard.js';
import { FakeFeed } from '../ops/feed.js';
import type { ClusterSnapshot, DbMember } from '../ops/model.js';
import { labCluster } from '../ops/fixtures.js';
import { waitForFrame, waitForText } from './testing.js';
import { displayWidth } from '../base/table.js';

const START = Date.UTC(2026, 10, 26, 22, 57, 3);
const KEY = {
  up: '\u001B[A',
  down: '\u001B[B',
  pageUp: '\u001B[5~',
  pageDown: '\u001B[6~',
  tab: '\t',
  enter: '\r',
  escape: '\u001B',
};

function renderAt(columns: number, rows: number, props: Partial<DashboardProps> = {}) {
  const feed = new FakeFeed();
  const controller = new AbortController();
  const app = render(
    createElement(Dashboard, {
      feed,
      clock: new ManualClock(START),
      signal: controller.signal,
      size: { columns, rows },
      ...props,
    }),
  );
  return { app, feed, controller };
}

/** Sends keys one by one, each after a render, as a person types. */
async function press(app: ReturnType<typeof render>, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    await new Promise((resolve) => setTimeout(resolve, 30));
    app.stdin.write(key);
  }
}

/** Asserts the frame fits `columns`×`rows` with the header on its first line. */
function assertFits(
  t: { true: (value: boolean, message?: string) => void; regex: (s: string, r: RegExp) => void },
  frame: string,
  columns: number,
  rows: number,
): void {
  const lines = frame.split('\n');
  t.true(lines.length <= rows - 1, `${lines.length} lines at ${columns}×${rows}:\n${frame}`);
  const widest = Math.max(...lines.map((line) => displayWidth(line)));
  t.true(widest <= columns, `a line of ${widest} cells at ${columns}×${rows}:\n${frame}`);
  t.regex(lines[0] ?? '', /^Agenda/);
}

const withHistory = (at: number): ClusterSnapshot => labCluster(at);

test('80×24: fits, header on top, the DB as a table, the rest in lines, the log below', async (t) => {
  const { app, feed } = renderAt(80, 24);
  t.teardown(() => app.unmount());
  feed.push(withHistory(START));
  const frame = await waitForText(app.lastFrame, 'alive ', 'Failovers');
  assertFits(t, frame, 80, 24);
  t.regex(frame, /alive 17\/17: DB 5\/5 Redis 2\/2 VIP 2\/2 gossip 8\/8/);
  t.regex(frame, /^db-4\s+up\s+follower\s+7\s+48213\/48211\s+db-2\s+2\s+50 ms$/m);
  t.regex(frame, /^Redis {2}redis-1 replica 9412730 link up · redis-2 primary e3 9412886$/m);
  t.regex(
    frame,
    /^VIP {2}10\.77\.0\.10 owner vm2 {2}lease vip-2 e4 1\.3 s · vip-1 passive · vip-2 active$/m,
  );
  t.regex(frame, /^groups-1 alive\s+groups-2 alive\s+supervisor-1 alive\s+supervisor-2 alive$/m);
  t.regex(frame, /22:26:13Z\*\s+vip\s+VIP lease vip-1 → vip-2 \(epoch 4\)/);
  t.regex(frame, /\* 6 recorded before start · DB term 7 at start/);
  t.notRegex(frame, /observer-/, 'the previous dashboard is not a departed member');
  t.regex(frame.split('\n').at(-1) ?? '', /\? help\s+p pause/);
});

test('120×40: fits, with the Raft panel and every table', async (t) => {
  const { app, feed } = renderAt(120, 40);
  t.teardown(() => app.unmount());
  feed.push(withHistory(START));
  const frame = await waitForText(app.lastFrame, 'alive ', 'Failovers');
  assertFits(t, frame, 120, 40);
  t.regex(frame, /alive 17\/17: DB 5\/5 · Redis 2\/2 · VIP 2\/2 · gossip 8\/8/);
  t.regex(frame, /^Raft {2}term 7, commit 48213/m);
  t.regex(
    frame,
    /^db-4\s+7\s+48213\s+48213\s+48211\s+2\s+1\.20 ms\s+0\.39 ms\s+3\s+208 MiB\s+73 MiB$/m,
  );
  t.regex(frame, /^redis-2\s+10\.77\.0\.12:6380\s+up\s+primary/m);
  t.regex(frame, /^vip-2\s+vm2\s+active\s+yes/m);
  t.regex(frame, /21:57:03Z\*\s+redis-primary\s+Redis primary redis-1 \(epoch 1\)/);
  t.notRegex(frame, /observer-/);
});

test('no size from 60×10 to 160×60 makes a frame taller or wider than the terminal', async (t) => {
  for (const [columns, rows] of [
    [60, 10],
    [60, 16],
    [80, 20],
    [80, 30],
    [100, 24],
    [100, 34],
    [120, 50],
    [160, 60],
  ] as const) {
    const { app, feed, controller } = renderAt(columns, rows);
    const snapshot = withHistory(START);
    feed.push({ ...snapshot, problems: ['gossip: one problem', 'redis-1: another'] });
    const frame = await waitForText(app.lastFrame, 'alive ', 'Failovers');
    assertFits(t, frame, columns, rows);
    controller.abort();
    app.unmount();
  }
});

test('follows the terminal when it is resized', async (t) => {
  const feed = new FakeFeed();
  const controller = new AbortController();
  const app = render(
    createElement(Dashboard, { feed, clock: new ManualClock(START), signal: controller.signal }),
  );
  t.teardown(() => app.unmount());
  feed.push(withHistory(START));
  await waitForText(app.lastFrame, 'Raft');
  Object.defineProperty(app.stdout, 'columns', { value: 80, configurable: true });
  Object.defineProperty(app.stdout, 'rows', { value: 24, configurable: true });
  app.stdout.emit('resize');
  const frame = await waitForFrame(app.lastFrame, (f) => f.split('\n').length <= 23);
  assertFits(t, frame, 80, 24);
  t.notRegex(frame, /^Raft/m);
});

test('a DB outage shows in the header: the DB is not in gossip, so gossip alone is not "alive"', async (t) => {
  const { app, feed } = renderAt(80, 24);
  t.teardown(() => app.unmount());
  const snapshot = withHistory(START);
  const down: DbMember[] = (snapshot.dbMembers ?? []).map((m) => ({
    id: m.id,
    address: m.address,
    up: false,
    lastContactMs: null,
  }));
  feed.push({ ...snapshot, dbMembers: down });
  const frame = await waitForText(app.lastFrame, 'DB 0/5 DOWN');
  t.regex(frame, /alive 12\/17: DB 0\/5 DOWN Redis 2\/2 VIP 2\/2 gossip 8\/8/);
  t.regex(frame, /DB members {2}0\/5 up, leader none/);
});

test('? shows the help and any key closes it', async (t) => {
  const { app, feed } = renderAt(80, 24);
  t.teardown(() => app.unmount());
  feed.push(withHistory(START));
  await waitForText(app.lastFrame, 'alive ', 'Failovers');
  await press(app, '?');
  const help = await waitForText(app.lastFrame, 'Keys', 'PgUp PgDn');
  assertFits(t, help, 80, 24);
  t.notRegex(help, /^DB members/m);
  // Wrapped, not cut at the edge: every word of it is there at 80 columns.
  const words = help.replace(/\s+/g, ' ');
  t.regex(words, /p again resumes/);
  t.regex(words, /gossip by the observer's view\./);
  t.regex(words, /the term when it started bounds them\./);
  await press(app, 'x');
  await waitForText(app.lastFrame, 'DB members');
});

test('p freezes the picture and says so; p again shows the newest', async (t) => {
  const { app, feed } = renderAt(80, 24);
  t.teardown(() => app.unmount());
  feed.push(withHistory(START));
  await waitForText(app.lastFrame, '22:57:03Z');
  await press(app, 'p');
  await waitForText(app.lastFrame, 'PAUSED');
  feed.push(withHistory(START + 1000));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const paused = app.lastFrame() ?? '';
  t.regex(paused, /^Agenda {2}22:57:03Z PAUSED/);
  t.regex(paused, /PAUSED \(p resumes\)/);
  await press(app, 'p');
  const resumed = await waitForText(app.lastFrame, '22:57:04Z');
  t.notRegex(resumed, /PAUSED/);
});

test('the failover log scrolls with ↑/↓, k/j and PgUp/PgDn', async (t) => {
  const { app, feed } = renderAt(80, 24);
  t.teardown(() => app.unmount());
  const snapshot = withHistory(START);
  const many = Array.from({ length: 20 }, (_, i) => ({
    at: START - 100_000 + i * 1000,
    kind: 'vip' as const,
    recorded: true,
    message: `VIP lease entry-${i}`,
  }));
  feed.push({ ...snapshot, history: many });
  const bottom = await waitForText(app.lastFrame, 'entry-19');
  t.notRegex(bottom, /entry-12\b/);
  await press(app, KEY.up);
  const one = await waitForText(app.lastFrame, '1 newer ↓');
  t.notRegex(one, /entry-19/);
  await press(app, 'k', 'k');
  await waitForText(app.lastFrame, '3 newer ↓');
  await press(app, 'j');
  await waitForText(app.lastFrame, '2 newer ↓');
  await press(app, KEY.pageUp, KEY.pageUp, KEY.pageUp, KEY.pageUp);
  const top = await waitForFrame(app.lastFrame, (f) => /entry-0$/m.test(f));
  t.notRegex(top, /earlier ↑/);
  await press(app, KEY.pageDown, KEY.pageDown, KEY.pageDown, KEY.pageDown, KEY.down);
  const back = await waitForText(app.lastFrame, 'entry-19');
  t.notRegex(back, /newer ↓/);
});

test('Tab selects a member, Enter shows its details, Esc goes back', async (t) => {
  const { app, feed } = renderAt(80, 24);
  t.teardown(() => app.unmount());
  feed.push(withHistory(START));
  await waitForText(app.lastFrame, 'alive ', 'Failovers');
  await press(app, KEY.tab, KEY.tab);
  await waitForText(app.lastFrame, '[db-2]');
  await press(app, KEY.enter);
  const detail = await waitForText(app.lastFrame, 'DB member db-2', 'Esc back');
  assertFits(t, detail, 80, 24);
  t.regex(detail, /^role\s+leader$/m);
  t.regex(detail, /^term\s+7$/m);
  t.regex(detail, /^commit \/ applied\s+48213 \/ 48213$/m);
  t.regex(detail, /^last contact\s+self$/m);
  t.regex(detail, /^address\s+10\.77\.0\.11:7202$/m);
  t.regex(detail, /^RSS \/ heap\s+194 MiB \/ 67 MiB/m);
  t.regex(detail, /^fsync \/ apply avg\s+1\.00 ms \/ 0\.37 ms$/m);
  await press(app, KEY.escape);
  const main = await waitForText(app.lastFrame, 'DB members', '[db-2]');
  t.notRegex(main, /DB member db-2 /);
  // A Redis instance's details, and the failovers naming it.
  await press(app, KEY.tab, KEY.tab, KEY.tab, KEY.tab, KEY.tab, KEY.enter);
  const redis = await waitForText(app.lastFrame, 'Redis redis-2');
  t.regex(redis, /^role\s+primary$/m);
  t.regex(redis, /redis-primary {2}Redis primary redis-1 → redis-2 \(epoch 3\)/);
  await press(app, KEY.escape, KEY.escape);
  const cleared = await waitForFrame(
    app.lastFrame,
    (f) => f.includes('DB members') && !f.includes('[redis-2]'),
  );
  t.regex(cleared, /\? help/);
});

test('recorded failovers go before what the dashboard saw live, once', async (t) => {
  const { app, feed } = renderAt(120, 40);
  t.teardown(() => app.unmount());
  const first = withHistory(START);
  feed.push({ ...first, history: undefined });
  await waitForText(app.lastFrame, 'alive ', 'Failovers');
  feed.push({
    ...first,
    at: START + 1000,
    supervisor: { ...first.supervisor!, holder: 'supervisor-1', epoch: 6 },
  });
  await waitForText(app.lastFrame, 'supervisor-2 → supervisor-1 (epoch 6)');
  feed.push(withHistory(START + 2000));
  const frame = await waitForText(app.lastFrame, 'recorded before start');
  const log = frame.slice(frame.indexOf('Failovers'));
  t.true(log.indexOf('VIP lease vip-1 → vip-2') < log.indexOf('supervisor-2 → supervisor-1'));
  feed.push(withHistory(START + 3000));
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.is((app.lastFrame() ?? '').match(/VIP lease vip-1 → vip-2/g)?.length, 1);
});
