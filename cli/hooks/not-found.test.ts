import test from 'ava';
import { closest, editDistance, extraArguments, nearestCommand } from './not-found.js';

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

test('words after a command that takes no argument are said to be arguments, with the flag meant (outside attack 12)', (t) => {
  const flag = (type: 'option' | 'boolean', helpGroup?: string) => ({ type, helpGroup });
  const commands = [
    {
      id: 'event:list',
      aliases: [],
      hidden: false,
      flags: { from: flag('option'), to: flag('option'), json: flag('boolean', 'GLOBAL') },
    },
    { id: 'feed:create', aliases: [], hidden: false, flags: { label: flag('option') } },
    { id: 'logout', aliases: [], hidden: false, flags: { json: flag('boolean', 'GLOBAL') } },
  ] as unknown as Parameters<typeof extraArguments>[1];
  t.like(extraArguments('event:list:tomorrow', commands), {
    code: 'invalid',
    message:
      'event list takes no argument ("tomorrow"): did you mean --from tomorrow? (agenda event list --help)',
    suggestion: '--from tomorrow',
    details: { command: 'event list', arguments: ['tomorrow'] },
  });
  t.like(extraArguments('event:list:next:week', commands), { suggestion: '--from "next week"' });
  t.like(extraArguments('event:list:lunch', commands), {
    message:
      'event list takes no argument ("lunch"): its flags are --from, --to (agenda event list --help)',
  });
  t.is(extraArguments('event:list:lunch', commands)?.suggestion, undefined);
  t.like(extraArguments('feed:create:phone', commands), {
    message:
      'feed create takes no argument ("phone"): did you mean --label phone? (agenda feed create --help)',
  });
  t.like(extraArguments('logout:now', commands), {
    message: 'logout takes no argument ("now") (agenda logout --help)',
  });
  // No command among the first words: an unknown command, not extra arguments.
  t.is(extraArguments('event:lst', commands), null);
  t.is(extraArguments('serch:lunch', commands), null);
});

test('a typo followed by arguments gets the nearest command of its first words (outside attack 12)', (t) => {
  const known = [...KNOWN, 'event', 'group', 'search'];
  t.deepEqual(nearestCommand('serch lunch', known), { name: 'serch', suggestion: 'search' });
  t.deepEqual(nearestCommand('event ad Lunch', known), {
    name: 'event ad',
    suggestion: 'event add',
  });
  t.deepEqual(nearestCommand('grup list', known), { name: 'grup list', suggestion: 'group list' });
  t.deepEqual(nearestCommand('frobnicate foo', known), {
    name: 'frobnicate foo',
    suggestion: null,
  });
});
