import test from 'ava';
import { InvalidInput } from '../../contract/errors.js';
import { httpStatusFor } from '../../contract/errors.js';
import { withoutInvisibleCharacters } from './text-hygiene.js';
import {
  validateDisplayName,
  validateEventDraft,
  validateGroupName,
  validateUsername,
} from './validation.js';

const draft = {
  title: 'Review',
  start: Date.UTC(2025, 2, 3, 9),
  end: Date.UTC(2025, 2, 3, 10),
};

/** Every character refused, with how it is named. */
const REFUSED: readonly (readonly [string, string])[] = [
  ['\u202e', 'U+202E (RIGHT-TO-LEFT OVERRIDE)'],
  ['\u202a', 'U+202A (LEFT-TO-RIGHT EMBEDDING)'],
  ['\u202b', 'U+202B (RIGHT-TO-LEFT EMBEDDING)'],
  ['\u202c', 'U+202C (POP DIRECTIONAL FORMATTING)'],
  ['\u202d', 'U+202D (LEFT-TO-RIGHT OVERRIDE)'],
  ['\u2066', 'U+2066 (LEFT-TO-RIGHT ISOLATE)'],
  ['\u2067', 'U+2067 (RIGHT-TO-LEFT ISOLATE)'],
  ['\u2068', 'U+2068 (FIRST STRONG ISOLATE)'],
  ['\u2069', 'U+2069 (POP DIRECTIONAL ISOLATE)'],
  ['\u200e', 'U+200E (LEFT-TO-RIGHT MARK)'],
  ['\u200f', 'U+200F (RIGHT-TO-LEFT MARK)'],
  ['\u061c', 'U+061C (ARABIC LETTER MARK)'],
  ['\u200b', 'U+200B (ZERO WIDTH SPACE)'],
  ['\u200c', 'U+200C (ZERO WIDTH NON-JOINER)'],
  ['\u200d', 'U+200D (ZERO WIDTH JOINER)'],
  ['\u2060', 'U+2060 (WORD JOINER)'],
  ['\ufeff', 'U+FEFF (ZERO WIDTH NO-BREAK SPACE (byte order mark))'],
  ['\ud800', 'U+D800, half of a character (a lone surrogate)'],
  ['\udfff', 'U+DFFF, half of a character (a lone surrogate)'],
  ['\u00ad', 'U+00AD (SOFT HYPHEN)'],
  ['\u034f', 'U+034F (COMBINING GRAPHEME JOINER)'],
  ['\u180e', 'U+180E (MONGOLIAN VOWEL SEPARATOR)'],
  ['\u2062', 'U+2062 (INVISIBLE TIMES)'],
  ['\u206f', 'U+206F (NOMINAL DIGIT SHAPES)'],
  ['\u3164', 'U+3164 (HANGUL FILLER)'],
  ['\uffa0', 'U+FFA0 (HALFWIDTH HANGUL FILLER)'],
  ['\ufff9', 'U+FFF9 (INTERLINEAR ANNOTATION ANCHOR)'],
  ['\u{E0041}', 'U+E0041 (TAG CHARACTER)'],
];

/** Each free-text field, checked the way the store checks it, by the field's name. */
const FIELDS: readonly (readonly [string, (text: string) => unknown, string?])[] = [
  ['title', (text) => validateEventDraft({ ...draft, title: `Pay ${text}invoice` })],
  ['description', (text) => validateEventDraft({ ...draft, description: `line one\n${text}two` })],
  ['location', (text) => validateEventDraft({ ...draft, location: `Room ${text}4` })],
  ['display name', (text) => validateDisplayName(`Ada ${text}Lovelace`, 'ada')],
  ['username', (text) => validateUsername(`ad${text}min`)],
  ['group name', (text) => validateGroupName(`te${text}am`), 'group'],
];

for (const [what, validate, field = what] of FIELDS) {
  test(`a ${what} with a lone surrogate, a bidi control or a zero-width character is refused, naming it`, (t) => {
    for (const [character, named] of REFUSED) {
      const error = t.throws(() => validate(character), { instanceOf: InvalidInput });
      t.is(error?.field, field);
      t.is(httpStatusFor(error?.code ?? 'internal'), 400);
      const kind = named.includes('surrogate') ? '' : ', an invisible formatting character';
      t.is(error?.message, `the ${what} contains ${named}${kind}; remove it`);
    }
  });
}

test('a byte order mark is refused even where trimming would have dropped it', (t) => {
  t.throws(() => validateEventDraft({ ...draft, title: '\ufeffReview' }), {
    message: /U\+FEFF/,
  });
  t.throws(() => validateEventDraft({ ...draft, location: 'Room 4\ufeff' }), {
    message: /U\+FEFF/,
  });
});

test('joiners pass where writing needs them: emoji sequences and scripts that join', (t) => {
  const titles = [
    '👩‍💻 pairing', // woman + ZWJ + laptop
    '👨‍👩‍👧 dinner',
    '👍🏽‍ ok', // after a skin tone
    'می‌خواهم', // Persian, ZWNJ between letters
    'क्‍ष', // Devanagari, ZWJ in a conjunct
    'Ünïcødé 😀 stays',
  ];
  for (const title of titles) t.is(validateEventDraft({ ...draft, title }).title, title);
  // Between Latin letters a joiner changes nothing a reader sees: refused.
  t.throws(() => validateEventDraft({ ...draft, title: 'pa\u200dy' }), { message: /U\+200D/ });
  t.throws(() => validateEventDraft({ ...draft, title: 'pay\u200c' }), { message: /U\+200C/ });
});

test('stripping removes exactly what validation refuses', (t) => {
  t.is(
    withoutInvisibleCharacters('Pay\u202e \u200bthe\u2066 in\ufeffvoice\ud800'),
    'Pay the invoice',
  );
  t.is(withoutInvisibleCharacters('👩‍💻 می‌خواهم'), '👩‍💻 می‌خواهم');
  t.is(withoutInvisibleCharacters('plain'), 'plain');
  for (const [character] of REFUSED) {
    const stripped = withoutInvisibleCharacters(`a${character}b`);
    t.is(stripped, 'ab');
    t.notThrows(() => validateEventDraft({ ...draft, title: stripped }));
  }
});

test('a flag made with tag characters is kept; tag characters anywhere else are refused', (t) => {
  const scotland = '\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}';
  t.is(withoutInvisibleCharacters(`Burns night ${scotland}`), `Burns night ${scotland}`);
  t.is(validateEventDraft({ ...draft, title: `Burns night ${scotland}` }).title.length, 26);
  t.is(withoutInvisibleCharacters('a\u{E0041}\u{E0042}b'), 'ab');
});

test('line and paragraph separators and C1 controls are refused in one-line text', (t) => {
  for (const c of ['\u2028', '\u2029', '\u0085', '\u009b', '\u0080']) {
    const error = t.throws(() => validateEventDraft({ ...draft, title: `a${c}b` }));
    t.true(error instanceof InvalidInput, JSON.stringify(c));
  }
});

test('a flag followed by a megabyte of tag characters is stripped in linear time', (t) => {
  // Each tag character looks back for its flag: unbounded, this run took minutes.
  const flag = '\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}';
  const flood = flag + '\u{E0061}'.repeat(500_000);
  const started = process.hrtime.bigint();
  const kept = withoutInvisibleCharacters(`x${flood}y`);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.true(kept.startsWith(`x${flag}`));
  t.true(kept.length < 100, `${kept.length} code units kept`);
  t.true(kept.endsWith('y'));
  t.true(ms < 5_000, `${Math.round(ms)} ms`);
});

test('fillers, format controls, noncharacters and piles of marks are refused, and stripped', (t) => {
  // Each found by an outside attack in titles or names that looked empty or normal.
  const refused = [
    '\u115F',
    '\u1160',
    '\u17B4',
    '\uFFFC',
    '\uFFFF',
    '\uFDD0',
    '\u{1BCA0}',
    '\u{13430}',
    '\u{1D173}',
    '\u{10FFFF}',
  ];
  for (const character of refused) {
    const code = character.codePointAt(0)!.toString(16);
    const error = t.throws(
      () => validateEventDraft({ ...draft, title: `Stand${character}up` }),
      { instanceOf: InvalidInput },
      code,
    );
    t.regex(error.message, /invisible formatting character|noncharacter/, code);
    t.is(withoutInvisibleCharacters(`Stand${character}up`), 'Standup', code);
  }
  const pile = `Z${'\u0301'.repeat(150)}algo`;
  t.throws(() => validateEventDraft({ ...draft, title: pile }), {
    instanceOf: InvalidInput,
    message: /piles more than 16 combining marks/,
  });
  t.is(withoutInvisibleCharacters(pile), `Z${'\u0301'.repeat(16)}algo`);
  // What real writing needs still passes: Vietnamese, Thai, a Japanese ideographic variant.
  for (const title of ['Họp nhóm', 'ประชุมทีม', '葛\u{E0100}飾区の会議', 'Kaffee ☕\uFE0F']) {
    t.notThrows(() => validateEventDraft({ ...draft, title }), title);
  }
});

test('a display name that shows nothing is refused', (t) => {
  for (const name of ['\u2800\u2800', '\u2800\u3000\u2800', '\u0301\u0301']) {
    t.throws(() => validateDisplayName(name, 'ana'), {
      instanceOf: InvalidInput,
      message: /shows nothing/,
    });
  }
  t.is(validateDisplayName('Ana ⠁', 'ana'), 'Ana ⠁');
  t.is(validateDisplayName('', 'ana'), 'ana');
});
