/**
 * Naming an event by a prefix of its id or `#n` (cli/event-refs.ts): a prefix is acted on
 * only when it is long enough that what the CLI cannot see (events beyond the year around
 * today, never listed on this profile) is very unlikely to share it — outside attack 4, where
 * `event cancel iqwe` cancelled one of two events whose ids began so.
 */
import test from 'ava';
import { InvalidInput } from '../../contract/errors.js';
import type { ListingStore, RememberedEvent, SavedListing } from '../event-refs.js';
import { MIN_PREFIX, resolveEventRow } from '../event-refs.js';

function listingOf(saved: SavedListing | null): ListingStore {
  return { read: () => Promise.resolve(saved) } as unknown as ListingStore;
}

function row(id: string, title = id, start = '2027-01-10T09:00:00Z'): RememberedEvent {
  return { id, title, start };
}

/** The options of a resolution, counting the lookups of one's events it makes. */
function options(saved: SavedListing | null, window: readonly RememberedEvent[]) {
  const calls = { lookups: 0 };
  return {
    calls,
    options: {
      listing: listingOf(saved),
      field: 'id',
      lookup: () => {
        calls.lookups += 1;
        return Promise.resolve(window);
      },
    },
  };
}

test('a prefix of 4 or 5 characters is refused before any lookup, even when it matches one event', async (t) => {
  // Two of the user's events start `iqwe`: one in January (in the window), one in July,
  // beyond it; the CLI sees only the first.
  const { calls, options: resolve } = options(null, [row('iqwe0a1b2c3d4e5f', 'Jan 2027')]);
  t.is(MIN_PREFIX, 6);
  for (const text of ['iqwe', 'iqwe0']) {
    const error = await t.throwsAsync(resolveEventRow(text, resolve), { instanceOf: InvalidInput });
    t.is(
      error?.message,
      `${text} is too short to name one event for sure: give at least 6 characters of the id (lists show 8), or #n from the last listing`,
    );
  }
  t.is(calls.lookups, 0);
});

test('a prefix of 6 or more that two events of the window share is refused, naming both and #n', async (t) => {
  const { options: resolve } = options(null, [
    row('iqwe0a1b2c3d4e5f', 'Jan 2027'),
    row('iqwe0a9z8y7x6w5v', 'Jul 2027', '2027-07-10T09:00:00Z'),
  ]);
  const error = await t.throwsAsync(resolveEventRow('iqwe0a', resolve), {
    instanceOf: InvalidInput,
  });
  t.regex(
    error?.message ?? '',
    /^the id prefix iqwe0a names 2 events; give more of the id, or #n from the last listing:\n {2}iqwe0a1b2c3d4e5f {2}Jan 2027/,
  );
  t.regex(error?.message ?? '', /iqwe0a9z8y7x6w5v {2}Jul 2027/);
  // One more character tells them apart.
  t.deepEqual(await resolveEventRow('iqwe0a9', resolve), { id: 'iqwe0a9z8y7x6w5v' });
});

test('ids and prefixes are read in lowercase, as the server makes them', async (t) => {
  const known = row('x13yab0000000000');
  const saved: SavedListing = {
    command: 'agenda today',
    savedAt: '',
    numbered: [],
    known: [known],
  };
  const { calls, options: resolve } = options(saved, []);
  t.deepEqual(await resolveEventRow('X13YAB', resolve), { id: 'x13yab0000000000' });
  t.deepEqual(await resolveEventRow('X13YAB0000000000', resolve), { id: 'x13yab0000000000' });
  t.is(calls.lookups, 0, 'found among the ids shown');
  // Not letters and digits only: not an id the server makes, sent as given.
  t.deepEqual(await resolveEventRow('E/1', resolve), { id: 'E/1' });
});

test('#n names the row of the last listing, however short the ids', async (t) => {
  const saved: SavedListing = {
    command: 'agenda event list',
    savedAt: '',
    numbered: [row('iqwe0a1b2c3d4e5f'), row('iqwe0a9z8y7x6w5v')],
    known: [],
  };
  const { calls, options: resolve } = options(saved, []);
  t.is((await resolveEventRow('#2', resolve)).id, 'iqwe0a9z8y7x6w5v');
  t.is(calls.lookups, 0);
});
