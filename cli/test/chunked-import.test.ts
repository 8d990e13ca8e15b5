/**
 * How long `agenda import` keeps retrying a request nobody answers: a bounded time, not only
 * a number of attempts (with no DB quorum, nine attempts took almost four silent minutes).
 */
import test from 'ava';
import { Unavailable } from '../../contract/errors.js';
import type { AgendaApi } from '../http/agenda-api.js';
import { importInChunks } from '../import/chunked-import.js';
import { splitCalendar } from '../import/split-calendar.js';

const CALENDAR = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'BEGIN:VEVENT',
  'UID:one@example.com',
  'DTSTART:20300101T090000Z',
  'DTEND:20300101T100000Z',
  'SUMMARY:One',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

test('a request nobody answers is retried until the time to give up, then the import stops', async (t) => {
  let attempts = 0;
  const api = {
    importCalendar: async () => {
      attempts++;
      await new Promise((resolve) => setTimeout(resolve, 40));
      throw new Unavailable('the users service did not answer within 10 s');
    },
  } as unknown as AgendaApi;
  const imported = await importInChunks(api, splitCalendar(CALENDAR), {
    allowConflict: false,
    timeZone: 'UTC',
    retry: { attempts: 50, firstPauseMs: 20, longestPauseMs: 40, giveUpAfterMs: 400 },
  });
  t.like(imported.stoppedBy, { kind: 'error', error: { code: 'unavailable' } });
  // Fifty would have been made by the number of attempts alone (about 4 s at these pauses).
  t.true(attempts < 50, `${attempts} attempts`);
  t.is(imported.progress.done, 0);
});
