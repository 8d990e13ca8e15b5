/**
 * Paging of the occurrence lists through the store: each reply is one page, the pages
 * followed through `next` are the whole list, and a bad cursor is refused.
 */
import test from 'ava';
import { MAX_PAGE_SIZE } from '../domain/index.js';
import { joinAgendaPages } from '../../contract/paging.js';
import type { AgendaView, EventView } from '../domain/index.js';
import { at, DAY, HOUR, openStore, seededRandom, StoreClient } from './test-support.js';

const USERS = ['alice', 'bob', 'carol'];
const BASE = at('2025-02-03T00:00:00Z');
const WINDOW = { from: BASE + 5 * HOUR, to: BASE + 6 * DAY };

/** Three colleagues with random, often overlapping (and tied) events, series and invitations. */
async function randomOffice(seed: number): Promise<StoreClient> {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const c = new StoreClient(await openStore());
  c.register(...USERS);
  c.ok('alice', { type: 'group.create', name: 'team', kind: 'hierarchical' });
  c.ok('alice', { type: 'group.addMember', group: 'team', username: 'bob', level: 1 });
  c.ok('bob', { type: 'group.join', group: 'team' });
  c.ok('alice', { type: 'group.addMember', group: 'team', username: 'carol', level: 1 });
  c.ok('carol', { type: 'group.join', group: 'team' });
  for (let i = 0; i < 25; i++) {
    const organizer = pick(USERS);
    const start = BASE + Math.floor(random() * 30) * 4 * HOUR;
    const length = pick([HOUR, 2 * HOUR, 30 * 60_000, 26 * HOUR]);
    // A series may not overlap itself: only the short ones repeat.
    const repeats = length < DAY && random() < 0.3;
    const guests = USERS.filter((u) => u !== organizer && random() < 0.3);
    const created = c.ok(organizer, {
      type: 'event.create',
      draft: {
        title: `e${i}`,
        start,
        end: start + length,
        visibility: pick(['public', 'busy', 'private']),
        ...(repeats ? { recurrence: pick(['FREQ=DAILY', 'FREQ=DAILY;COUNT=3']) } : {}),
      },
      ...(guests.length > 0 ? { with: guests } : {}),
      allowConflict: true,
    });
    for (const guest of guests) {
      if (random() < 0.6) {
        c.ok(guest, {
          type: 'invitation.accept',
          eventId: created.event.id,
          allowConflict: true,
        });
      }
    }
  }
  return c;
}

test('pages followed through next are the whole list, each within its limit', async (t) => {
  let seen = { events: 0, conflicts: 0, ties: 0 };
  for (let seed = 1; seed <= 6; seed++) {
    const c = await randomOffice(seed);
    for (const actor of USERS) {
      const whole = c.read(actor, { type: 'event.list', ...WINDOW });
      t.is(whole.next, null, 'a list under the page size fits the first page');
      const wholeConflicts = c.read(actor, { type: 'conflicts.list', ...WINDOW });
      t.is(wholeConflicts.next, null);
      seen = {
        events: seen.events + whole.events.length,
        conflicts: seen.conflicts + wholeConflicts.conflicts.length,
        ties:
          seen.ties + whole.events.filter((e, i) => whole.events[i - 1]?.start === e.start).length,
      };
      for (const limit of [1, 2, 5]) {
        const events = [];
        let after: string | undefined;
        do {
          const page = c.read(actor, {
            type: 'event.list',
            ...WINDOW,
            limit,
            ...(after === undefined ? {} : { after }),
          });
          t.true(page.events.length <= limit);
          events.push(...page.events);
          after = page.next ?? undefined;
        } while (after !== undefined);
        t.deepEqual(events, whole.events, `events, seed ${seed}, ${actor}, limit ${limit}`);

        const conflicts = [];
        after = undefined;
        do {
          const page: { conflicts: readonly unknown[]; next: string | null } = c.read(actor, {
            type: 'conflicts.list',
            ...WINDOW,
            limit,
            ...(after === undefined ? {} : { after }),
          });
          t.true(page.conflicts.length <= limit);
          conflicts.push(...page.conflicts);
          after = page.next ?? undefined;
        } while (after !== undefined);
        t.deepEqual(conflicts, wholeConflicts.conflicts, `conflicts, seed ${seed}, ${actor}`);
      }
    }
    const targets = { group: 'team' };
    const whole = c.read('bob', { type: 'agenda.view', targets, ...WINDOW });
    t.is(whole.next, null);
    for (const limit of [1, 3, 4]) {
      const pages: { agendas: readonly AgendaView[] }[] = [];
      let after: string | undefined;
      do {
        const page = c.read('bob', {
          type: 'agenda.view',
          targets,
          ...WINDOW,
          limit,
          ...(after === undefined ? {} : { after }),
        });
        t.true(page.agendas.reduce((n, a) => n + a.entries.length, 0) <= limit);
        pages.push(page);
        after = page.next ?? undefined;
      } while (after !== undefined);
      t.deepEqual(joinAgendaPages(pages), whole.agendas, `agendas, seed ${seed}, limit ${limit}`);
    }
  }
  // The random offices are not trivial: many occurrences, conflicts, and starts shared.
  t.true(seen.events > 100 && seen.conflicts > 20 && seen.ties > 10, JSON.stringify(seen));
});

test('a query without a limit gets at most the default page and where to go on', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  // Three daily series over a year: 1,098 occurrences, more than two default pages.
  const start = at('2025-01-01T09:00:00Z');
  for (const title of ['Standup', 'Lunch', 'Review']) {
    c.ok('alice', {
      type: 'event.create',
      draft: { title, start, end: start + HOUR, recurrence: 'FREQ=DAILY' },
      allowConflict: true,
    });
  }
  const year = { from: start, to: start + 366 * DAY };
  const first = c.read('alice', { type: 'event.list', ...year });
  t.is(first.events.length, MAX_PAGE_SIZE);
  t.not(first.next, null);
  const second = c.read('alice', { type: 'event.list', ...year, after: first.next ?? '' });
  const third = c.read('alice', { type: 'event.list', ...year, after: second.next ?? '' });
  t.is(third.next, null);
  t.is(first.events.length + second.events.length + third.events.length, 3 * 366);
});

test('a malformed cursor or limit is refused as invalid, naming the field', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  const forged = Buffer.from(JSON.stringify({ k: 'event', o: [1, 2] })).toString('base64url');
  for (const body of [
    { type: 'event.list' as const, ...WINDOW, after: 'not base64url!' },
    { type: 'event.list' as const, ...WINDOW, after: forged },
    { type: 'conflicts.list' as const, ...WINDOW, after: forged },
    { type: 'agenda.view' as const, targets: { users: ['alice'] }, ...WINDOW, after: forged },
  ]) {
    const answer = c.ask('alice', body);
    t.false(answer.ok);
    if (!answer.ok) t.like(answer.error, { code: 'invalid', details: { field: 'after' } });
  }
  const tooMany = c.ask('alice', { type: 'event.list', ...WINDOW, limit: MAX_PAGE_SIZE + 1 });
  t.false(tooMany.ok);
  if (!tooMany.ok) t.like(tooMany.error, { code: 'invalid', details: { field: 'limit' } });
});

test('a list followed page by page sees what changed between its pages', async (t) => {
  // Its pages are cut from one expansion the store keeps (listing-cache.ts); every change to
  // what the list shows must be seen by the next page all the same.
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob');
  const day0 = at('2025-03-03T00:00:00Z');
  const window = { from: day0, to: day0 + 10 * DAY };
  const standup = c.ok('alice', {
    type: 'event.create',
    draft: {
      title: 'Standup',
      start: day0 + 9 * HOUR,
      end: day0 + 10 * HOUR,
      recurrence: 'FREQ=DAILY',
    },
  });
  const review = c.ok('bob', {
    type: 'event.create',
    draft: { title: 'Review', start: day0 + 7 * DAY + 11 * HOUR, end: day0 + 7 * DAY + 12 * HOUR },
    with: ['alice'],
  });
  const titles = (events: readonly { title: string; start: string }[]) =>
    events.map((e) => `${e.start.slice(5, 16)} ${e.title}`);
  /** The rest of the list after `after`, page by page. */
  const rest = (after: string) => {
    const events = [];
    let cursor: string | undefined = after;
    while (cursor !== undefined) {
      const page: { events: readonly EventView[]; next: string | null } = c.read('alice', {
        type: 'event.list',
        ...window,
        limit: 3,
        after: cursor,
      });
      events.push(...page.events);
      cursor = page.next ?? undefined;
    }
    return events;
  };
  /**
   * The same list read afresh (another window, one second wider, so nothing kept), from
   * after the occurrence `last`: what the pages after `last`'s cursor must hold.
   */
  const fresh = (last: EventView) => {
    const key = (e: EventView) => [e.start, e.end, e.id] as const;
    const after = (e: EventView) => {
      const [a, b] = [key(e), key(last)];
      return a[0] !== b[0] ? a[0] > b[0] : a[1] !== b[1] ? a[1] > b[1] : a[2] > b[2];
    };
    return c
      .read('alice', { type: 'event.list', from: window.from - 1000, to: window.to })
      .events.filter(after);
  };

  const first = c.read('alice', { type: 'event.list', ...window, limit: 3 });
  t.is(first.events.length, 3);
  const second = c.read('alice', { type: 'event.list', ...window, limit: 3, after: first.next! });
  const cursor = second.next!;
  const last = second.events.at(-1)!;
  t.deepEqual(titles(rest(cursor)), titles(fresh(last)));

  // A new event, an answer, a moved series and a cancellation, each between two pages.
  c.ok('alice', {
    type: 'event.create',
    draft: { title: 'Early', start: day0 + 8 * DAY + 8 * HOUR, end: day0 + 8 * DAY + 8.5 * HOUR },
  });
  t.true(titles(rest(cursor)).some((line) => line.endsWith('Early')));
  t.deepEqual(titles(rest(cursor)), titles(fresh(last)));
  c.ok('alice', { type: 'invitation.decline', eventId: review.event.id });
  t.deepEqual(rest(cursor), fresh(last));
  c.ok('alice', {
    type: 'event.update',
    eventId: standup.event.id,
    changes: { start: day0 + 9.5 * HOUR, end: day0 + 10.5 * HOUR },
  });
  t.deepEqual(rest(cursor), fresh(last));
  t.true(rest(cursor).some((e) => e.start.includes('T09:30')));
  c.ok('bob', { type: 'event.cancel', eventId: review.event.id });
  t.deepEqual(rest(cursor), fresh(last));
});
