import test from 'ava';
import { closest, editDistance } from './not-found.js';

const KNOWN = ['event list', 'event add', 'event show', 'group list', 'today', 'week', 'month'];

test('the nearest command is offered only when it is clearly the one meant', (t) => {
  t.is(closest('event lst', KNOWN), 'event list');
  t.is(closest('grup list', KNOWN), 'group list');
  t.is(closest('frobnicate', KNOWN), null);
  // A tie offers nothing rather than a guess.
  t.is(closest('event ad', ['event add', 'event ads']), null);
  t.is(editDistance('', 'abc'), 3);
  t.is(editDistance('取締役', '取締'), 1);
});

test('a huge or strange argument is no command', (t) => {
  const huge = 'x'.repeat(200_000);
  t.is(closest(huge, KNOWN), null);
  t.is(closest('\u001b]0;pwned\u0007', KNOWN), null);
});
