/**
 * `--repeat` in English: each form people write becomes the RRULE it means, checked against
 * the server's own parser (the rule must be one it accepts, meaning the same); what is not
 * understood is refused naming the forms that are.
 */
import test from 'ava';
import { DateTime } from 'luxon';
import { parseRecurrenceRule } from '../../server/domain/recurrence.js';
import { parseRepeat } from '../../cli/repeat-input.js';

// Monday 7 December 2026, 10:00 in Madrid.
const context = { zone: 'Europe/Madrid', now: DateTime.fromISO('2026-12-07T09:00:00Z') };
const rule = (text: string) => parseRepeat(text, context);

test('the frequencies and their intervals', (t) => {
  t.is(rule('daily'), 'FREQ=DAILY');
  t.is(rule('Weekly'), 'FREQ=WEEKLY');
  t.is(rule('monthly'), 'FREQ=MONTHLY');
  t.is(rule('yearly'), 'FREQ=YEARLY');
  t.is(rule('annually'), 'FREQ=YEARLY');
  t.is(rule('every day'), 'FREQ=DAILY');
  t.is(rule('each week'), 'FREQ=WEEKLY');
  t.is(rule('every 2 weeks'), 'FREQ=WEEKLY;INTERVAL=2');
  t.is(rule('every other month'), 'FREQ=MONTHLY;INTERVAL=2');
  t.is(rule('biweekly'), 'FREQ=WEEKLY;INTERVAL=2');
  t.is(rule('fortnightly'), 'FREQ=WEEKLY;INTERVAL=2');
  t.is(rule('every 3 years'), 'FREQ=YEARLY;INTERVAL=3');
});

test('days of the week, weekdays and weekends', (t) => {
  t.is(rule('weekdays'), 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR');
  t.is(rule('every weekday'), 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR');
  t.is(rule('weekends'), 'FREQ=WEEKLY;BYDAY=SA,SU');
  t.is(rule('weekly on mon,wed,fri'), 'FREQ=WEEKLY;BYDAY=MO,WE,FR');
  t.is(rule('weekly on Friday and Monday'), 'FREQ=WEEKLY;BYDAY=MO,FR');
  t.is(rule('every tuesday and thursday'), 'FREQ=WEEKLY;BYDAY=TU,TH');
  t.is(rule('every other monday'), 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO');
  t.is(rule('every 2 weeks on tue & thu'), 'FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH');
  t.is(rule('mondays'), 'FREQ=WEEKLY;BYDAY=MO');
});

test('days of the month', (t) => {
  t.is(rule('monthly on the 15th'), 'FREQ=MONTHLY;BYMONTHDAY=15');
  t.is(rule('every month on the 1st and 15th'), 'FREQ=MONTHLY;BYMONTHDAY=1,15');
  t.is(rule('monthly on day 30'), 'FREQ=MONTHLY;BYMONTHDAY=30');
  t.is(rule('monthly on the last friday'), 'FREQ=MONTHLY;BYDAY=-1FR');
  t.is(rule('every month on the second tuesday'), 'FREQ=MONTHLY;BYDAY=2TU');
});

test('an end: until a day (the whole of it, in the user zone) or a number of times', (t) => {
  t.is(rule('weekly until dec 31'), 'FREQ=WEEKLY;UNTIL=20261231T225959Z');
  t.is(rule('daily until 2027-06-30'), 'FREQ=DAILY;UNTIL=20270630T215959Z');
  t.is(rule('weekdays, 10 times'), 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=10');
  t.is(rule('every 2 weeks for 6 times'), 'FREQ=WEEKLY;INTERVAL=2;COUNT=6');
  const error = t.throws(() => rule('weekly until whenever'));
  t.regex(error?.message ?? '', /^--repeat "weekly until whenever": its "until" is not a day/);
});

test('an RRULE is passed on as written; every English form is one the server reads', (t) => {
  t.is(rule('FREQ=WEEKLY;BYDAY=MO'), 'FREQ=WEEKLY;BYDAY=MO');
  t.is(rule('RRULE:FREQ=DAILY;COUNT=3'), 'FREQ=DAILY;COUNT=3');
  for (const text of [
    'daily',
    'every 2 weeks on tue & thu',
    'weekdays, 10 times',
    'monthly on the 1st and 15th',
    'monthly on the last friday',
    'yearly until 2030-01-01',
  ]) {
    t.notThrows(() => parseRecurrenceRule(rule(text), 'Europe/Madrid'), text);
  }
});

test('what it does not understand is refused with the forms it does', (t) => {
  for (const text of [
    'sometimes',
    'every',
    'weekly on the moon',
    'daily on monday',
    '',
    'every 0 days',
  ]) {
    const error = t.throws(() => rule(text), undefined, text);
    t.regex(error?.message ?? '', /^--repeat ".*" .*: write daily, weekly, weekdays/, text);
  }
  t.regex(t.throws(() => rule('x'.repeat(500)))?.message ?? '', /is too long/);
});
