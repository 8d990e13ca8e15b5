import test from 'ava';
import stringWidth from 'string-width';
import { DisplayWidthsNotLoaded, displayWidth, measured } from './table.js';

// In order: string-width is not loaded until the third test loads it.

test.serial('our own characters are measured with nothing loaded', (t) => {
  t.is(displayWidth('Mon 7 Dec 10:00–10:45 → “Planning” … • café'), 43);
  t.is(displayWidth('┌──┬──┐'), 7);
});

test.serial('text beyond them, before string-width is loaded, is refused, not mismeasured', (t) => {
  t.throws(() => displayWidth('会議'), { instanceOf: DisplayWidthsNotLoaded });
  t.throws(() => displayWidth('🎉'), { instanceOf: DisplayWidthsNotLoaded });
});

test.serial(
  'measured() lays out once, and again with string-width when the text needs it',
  async (t) => {
    let runs = 0;
    t.is(
      await measured(() => {
        runs++;
        return displayWidth('Planning');
      }),
      8,
    );
    t.is(runs, 1);
    runs = 0;
    t.is(
      await measured(() => {
        runs++;
        return displayWidth('会議 🎉');
      }),
      7,
    );
    t.is(runs, 2);
    t.is(displayWidth('会議'), 4);
  },
);

test.serial('every character the fast path takes is one cell for string-width too', (t) => {
  const ranges: [number, number][] = [
    [0x20, 0x7e],
    [0xa0, 0xac],
    [0xae, 0xff],
    [0x2010, 0x2027],
    [0x2030, 0x205e],
    [0x2190, 0x21ff],
    [0x2500, 0x257f],
  ];
  for (const [from, to] of ranges) {
    for (let code = from; code <= to; code++) {
      const char = String.fromCodePoint(code);
      t.is(stringWidth(char), 1, `U+${code.toString(16)}`);
      t.is(displayWidth(char), 1, `U+${code.toString(16)}`);
    }
  }
  // Just outside them: not taken by the fast path (a soft hyphen, a zero-width space).
  t.is(displayWidth('\u00ad'), stringWidth('\u00ad'));
  t.is(displayWidth('a\u200bb'), stringWidth('a\u200bb'));
});
