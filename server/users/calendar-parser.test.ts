/**
 * Imported files are read in a worker thread: the same result as reading them in place, and
 * refusals arrive as the same errors. (That the loop stays free is measured by the import
 * benchmark's event-loop delays, not by a timed test.)
 */
import test from 'ava';
import { isAgendaError } from '../../contract/errors.js';
import { yearlySeriesCalendar } from '../store/yearly-calendar.js';
import { inlineCalendarParser, WorkerCalendarParser } from './calendar-parser.js';

test('a file read in the worker gives what reading it in place gives', async (t) => {
  const parser = new WorkerCalendarParser();
  // Started ahead of the first file, as the users service does; parses go to that worker.
  parser.start();
  parser.start();
  const text = yearlySeriesCalendar(200, 2026);
  const options = { defaultTimeZone: 'Europe/Madrid' };
  try {
    const inWorker = await parser.parse(text, options);
    t.deepEqual(inWorker, await inlineCalendarParser.parse(text, options));
    t.is(inWorker.events.length, 200);
  } finally {
    await parser.close();
  }
});

test('a refused file is refused with the same error; a closed parser refuses politely', async (t) => {
  const parser = new WorkerCalendarParser();
  try {
    const error = await t.throwsAsync(parser.parse('hello', { defaultTimeZone: 'UTC' }));
    t.true(isAgendaError(error) && error.code === 'invalid', String(error));
    t.regex(error?.message ?? '', /VCALENDAR/);
  } finally {
    await parser.close();
  }
  const late = await t.throwsAsync(parser.parse('BEGIN:VCALENDAR', { defaultTimeZone: 'UTC' }));
  t.true(isAgendaError(late) && late.code === 'unavailable');
});

test('a worker idle for a while is stopped, and the next file starts another', async (t) => {
  const parser = new WorkerCalendarParser({ idleStopMs: 200 });
  const text = yearlySeriesCalendar(20, 2026);
  const options = { defaultTimeZone: 'UTC' };
  try {
    t.is((await parser.parse(text, options)).events.length, 20);
    t.true(parser.running);
    // Files back to back keep it: the idle time starts again with each.
    t.is((await parser.parse(text, options)).events.length, 20);
    t.true(parser.running);
    // Then idle: stopped (waited for without a timing bound a loaded machine could miss).
    const deadline = Date.now() + 10_000;
    while (parser.running && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    t.false(parser.running);
    t.is((await parser.parse(text, options)).events.length, 20);
    t.true(parser.running);
  } finally {
    await parser.close();
  }
});
