/**
 * `event.search` through the store: the caller's occurrences in the window whose event's
 * title, description or location contains the text, in list order and paged as the list,
 * never someone else's events, and a blank or too long text refused.
 */
import test from 'ava';
import { DESCRIPTION_MAX_LENGTH, SEARCH_TEXT_MAX_LENGTH } from '../../contract/limits.js';
import { at, DAY, HOUR, openStore, StoreClient } from './test-support.js';

const BASE = at('2026-03-02T00:00:00Z');
const WINDOW = { from: BASE, to: BASE + 14 * DAY };

async function office(): Promise<StoreClient> {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob');
  const event = (actor: string, title: string, offset: number, extra: object = {}) =>
    c.ok(actor, {
      type: 'event.create',
      draft: { title, start: BASE + offset, end: BASE + offset + HOUR, ...extra },
      allowConflict: true,
    });
  event('alice', 'Standup', 9 * HOUR, { recurrence: 'FREQ=DAILY;COUNT=5' });
  event('alice', 'Dentist', DAY + 15 * HOUR, { location: 'Calle Mayor 3' });
  event('alice', '取締役会', 2 * DAY + 10 * HOUR, {
    description: 'Quarterly STANDUP of the board',
  });
  event('alice', 'Later standup', 30 * DAY);
  event('bob', 'Standup of bob', 9 * HOUR);
  return c;
}

test('finds the occurrences whose title, description or location contains the text, any case', async (t) => {
  const c = await office();
  const found = c.read('alice', { type: 'event.search', text: 'standup', ...WINDOW });
  t.deepEqual(
    found.events.map((e) => e.title),
    ['Standup', 'Standup', 'Standup', '取締役会', 'Standup', 'Standup'],
    'the series occurrence by occurrence, the board by its description; not bob’s, not outside the window',
  );
  t.is(found.next, null);
  t.deepEqual(
    c.read('alice', { type: 'event.search', text: 'mayor', ...WINDOW }).events.map((e) => e.title),
    ['Dentist'],
  );
  t.deepEqual(
    c.read('alice', { type: 'event.search', text: '取締役', ...WINDOW }).events.map((e) => e.title),
    ['取締役会'],
  );
  t.deepEqual(c.read('alice', { type: 'event.search', text: 'nothing', ...WINDOW }).events, []);
});

test('pages as the list does', async (t) => {
  const c = await office();
  const titles: string[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const page = c.read('alice', {
      type: 'event.search',
      text: 'standup',
      ...WINDOW,
      limit: 2,
      ...(after === undefined ? {} : { after }),
    });
    titles.push(...page.events.map((e) => e.title));
    after = page.next ?? undefined;
    pages++;
  } while (after !== undefined);
  t.is(pages, 3);
  t.is(titles.length, 6);
});

test('a blank text, a text too long and a window too wide are refused', async (t) => {
  const c = await office();
  const code = (body: Parameters<StoreClient['ask']>[1]) => {
    const outcome = c.ask('alice', body);
    return outcome.ok ? 'ok' : outcome.error.code;
  };
  t.is(code({ type: 'event.search', text: '   ', ...WINDOW }), 'invalid');
  t.is(
    code({ type: 'event.search', text: 'x'.repeat(SEARCH_TEXT_MAX_LENGTH + 1), ...WINDOW }),
    'invalid',
  );
  t.is(
    code({ type: 'event.search', text: 'standup', from: BASE, to: BASE + 400 * DAY }),
    'invalid',
  );
});

test('the strangest and largest texts: the longest search in astral characters, full-width letters, a match at the end of the longest description', async (t) => {
  const c = await office();
  c.ok('alice', {
    type: 'event.create',
    draft: {
      title: 'Notes',
      start: BASE + 3 * DAY,
      end: BASE + 3 * DAY + HOUR,
      description: `${'x'.repeat(DESCRIPTION_MAX_LENGTH - 6)}needle`,
    },
    allowConflict: true,
  });
  const titles = (text: string) =>
    c.read('alice', { type: 'event.search', text, ...WINDOW }).events.map((e) => e.title);
  t.deepEqual(titles('NEEDLE'), ['Notes']);
  // Compatibility forms fold to the same text: full-width Latin finds the ASCII title.
  t.deepEqual(titles('ＳＴＡＮＤＵＰ'), titles('standup'));
  // As many characters as allowed, each outside the BMP (two UTF-16 units): searched, not found.
  t.deepEqual(titles('😀'.repeat(SEARCH_TEXT_MAX_LENGTH)), []);
});
