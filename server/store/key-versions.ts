/**
 * The log index at which each key (see effects.ts) was last written: what an effect's
 * preconditions are checked against. One statement to check an effect's reads, one to stamp
 * its writes, whatever their number: O(keys) index probes inside SQLite.
 *
 * An event's key version is also copied onto its attendee rows (`attendees.mod_index`,
 * schema.ts), for CalDAV sync: one more statement, O(the attendees of the events stamped),
 * which the effect's decision loaded whole. Except onto a declined row the entry did not
 * write itself: the event is out of that user's calendar, so its later changes are none of
 * the calendar's (its CTag stays, a sync does not report it removed again). The entry's own
 * attendee writes leave `mod_index` at -1 (calendar-writes.ts), so the decline itself, and a
 * later answer or invitation, is stamped; every attendee write stamps its event.
 */
import { KEYS } from './effects.js';
import { integer } from './statements.js';
import type { PreparedStatement, StatementSet } from './statements.js';

const EVENT_KEY = KEYS.event('');

export class KeyVersions {
  private readonly newest: PreparedStatement;
  private readonly stampAll: PreparedStatement;
  private readonly stampAttendees: PreparedStatement;

  constructor(statements: StatementSet) {
    this.newest = statements.prepare(
      `SELECT coalesce(max(v.mod_index), 0) FROM json_each(?) k
         JOIN key_versions v ON v.key = k.value`,
    );
    this.stampAll = statements.prepare(
      `INSERT INTO key_versions (key, mod_index) SELECT value, ? FROM json_each(?) WHERE true
       ON CONFLICT (key) DO UPDATE SET mod_index = excluded.mod_index`,
    );
    // By the attendees' primary key (event_id, username), an event's rows at a time.
    this.stampAttendees = statements.prepare(
      `UPDATE attendees SET mod_index = ?1 WHERE event_id IN
         (SELECT substr(value, ${EVENT_KEY.length + 1}) FROM json_each(?2)
           WHERE substr(value, 1, ${EVENT_KEY.length}) = '${EVENT_KEY}')
         AND (status <> 'declined' OR mod_index = -1)`,
    );
  }

  /** The newest index at which any of `keys` was written (0: never). */
  newestOf(keys: readonly string[]): number {
    if (keys.length === 0) return 0;
    return integer(this.newest.first([JSON.stringify(keys)])?.[0]);
  }

  /** Records that `keys` were written by the entry at `index`. */
  stamp(keys: readonly string[], index: number): void {
    if (keys.length === 0) return;
    const list = JSON.stringify(keys);
    this.stampAll.run([index, list]);
    if (keys.some((key) => key.startsWith(EVENT_KEY))) this.stampAttendees.run([index, list]);
  }
}
