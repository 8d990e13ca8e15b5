/**
 * What the calendar-file tests share: the fixtures (test/fixtures/ics/), a store with one
 * user, and an import as the users service makes it (the domain's parser, then one
 * `event.import` command with its fresh ids).
 */
import { readFileSync } from 'node:fs';
import { importICalendar } from '../../server/domain/index.js';
import { freshIdCount } from '../../server/services/ids.js';
import type { CommandBody } from '../../server/store/protocol.js';
import { at, openStore, StoreClient } from '../../server/store/test-support.js';

export function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/ics/${name}`, import.meta.url), 'utf8');
}

export async function aliceAlone(): Promise<StoreClient> {
  const c = new StoreClient(await openStore());
  c.register('alice');
  return c;
}

let sent = 0;

/** Imports `text` as the users service does: parsed, then one `event.import` command. */
export function importText(c: StoreClient, text: string, timeZone: string) {
  const parsed = importICalendar(text, { defaultTimeZone: timeZone });
  const body: CommandBody = { type: 'event.import', events: parsed.events };
  sent += 1;
  const ids = Array.from({ length: freshIdCount(body) }, (_, i) => `f${sent}-${i}`);
  return { parsed, outcome: c.ok('alice', body, { ids }) };
}

/** Alice's events from `from` to `to` (ISO instants), as [start, title]. */
export function listed(c: StoreClient, from: string, to: string) {
  return c
    .read('alice', { type: 'event.list', from: at(from), to: at(to) })
    .events.map((e) => [e.start, e.title]);
}
