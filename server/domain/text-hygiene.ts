/**
 * Characters no text a user types may hold: they are invisible, or change how the text
 * around them is shown, so what one user reads is not what another wrote — a title whose
 * right-to-left override shows `exe.doc` for `cod.exe`, two names that look the same and
 * differ by a zero-width space, half of a character that breaks every encoder downstream.
 *
 * - Lone surrogates (U+D800–U+DFFF not in a pair): not characters at all; JSON escapes
 *   (`"\ud800"`) let them in.
 * - Bidirectional controls: embeddings and overrides U+202A–U+202E, isolates U+2066–U+2069,
 *   the marks U+200E, U+200F and U+061C.
 * - Zero-width characters: U+200B (space), U+2060 (word joiner), U+FEFF (byte order mark),
 *   and the joiners U+200C and U+200D — these two only where they join nothing: written
 *   text needs them between letters of scripts that join (Persian `می‌خواهم`, Devanagari
 *   conjuncts) and emoji sequences are made with them (`👩‍💻`), so they pass between two
 *   letters or marks of a script other than Latin, Greek and Cyrillic (where they change
 *   nothing a reader sees) and after an emoji.
 *
 * - Fillers and format controls that show nothing of their own (Hangul fillers, Khmer
 *   inherent vowels, the shorthand, hieroglyph and musical format controls), the object
 *   replacement character, and noncharacters (U+FDD0–U+FDEF and the last two code points
 *   of every plane).
 * - More than {@link MAX_MARKS} combining marks in a row: no script stacks that many on one
 *   letter, and a pile of them draws over the lines around it.
 *
 * Validation refuses them ({@link refuseInvisibleCharacters}); an import strips them
 * ({@link withoutInvisibleCharacters}), since files from other tools carry stray ones.
 */
import { InvalidInput } from '../../contract/errors.js';

const NAMES: Readonly<Record<number, string>> = {
  0x061c: 'ARABIC LETTER MARK',
  0x200b: 'ZERO WIDTH SPACE',
  0x200c: 'ZERO WIDTH NON-JOINER',
  0x200d: 'ZERO WIDTH JOINER',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2060: 'WORD JOINER',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
  0xfeff: 'ZERO WIDTH NO-BREAK SPACE (byte order mark)',
  // Found by an outside attack: more characters that show nothing, or nothing of their own.
  0x00ad: 'SOFT HYPHEN',
  0x034f: 'COMBINING GRAPHEME JOINER',
  0x180e: 'MONGOLIAN VOWEL SEPARATOR',
  0x2061: 'FUNCTION APPLICATION',
  0x2062: 'INVISIBLE TIMES',
  0x2063: 'INVISIBLE SEPARATOR',
  0x2064: 'INVISIBLE PLUS',
  0x206a: 'INHIBIT SYMMETRIC SWAPPING',
  0x206b: 'ACTIVATE SYMMETRIC SWAPPING',
  0x206c: 'INHIBIT ARABIC FORM SHAPING',
  0x206d: 'ACTIVATE ARABIC FORM SHAPING',
  0x206e: 'NATIONAL DIGIT SHAPES',
  0x206f: 'NOMINAL DIGIT SHAPES',
  0x3164: 'HANGUL FILLER',
  0xffa0: 'HALFWIDTH HANGUL FILLER',
  0xfff9: 'INTERLINEAR ANNOTATION ANCHOR',
  0xfffa: 'INTERLINEAR ANNOTATION SEPARATOR',
  0xfffb: 'INTERLINEAR ANNOTATION TERMINATOR',
  // Found by a second outside attack.
  0x115f: 'HANGUL CHOSEONG FILLER',
  0x1160: 'HANGUL JUNGSEONG FILLER',
  0x17b4: 'KHMER VOWEL INHERENT AQ',
  0x17b5: 'KHMER VOWEL INHERENT AA',
  0xfffc: 'OBJECT REPLACEMENT CHARACTER',
};

/** Astral format controls that show nothing of their own, as [first, last, name]. */
const ASTRAL_RANGES: readonly (readonly [number, number, string])[] = [
  [0x1bca0, 0x1bca3, 'SHORTHAND FORMAT CONTROL'],
  [0x13430, 0x1343f, 'EGYPTIAN HIEROGLYPH FORMAT CONTROL'],
  [0x1d173, 0x1d17a, 'MUSICAL SYMBOL FORMAT CONTROL'],
];

/** U+FDD0–U+FDEF and U+xFFFE, U+xFFFF: code points Unicode promises never to assign. */
function isNoncharacter(codePoint: number): boolean {
  return (codePoint >= 0xfdd0 && codePoint <= 0xfdef) || (codePoint & 0xfffe) === 0xfffe;
}

/** The most combining marks in a row (Vietnamese stacks two; Tibetan and Thai a few more). */
const MAX_MARKS = 16;
const MARK_PILE = new RegExp(`\\p{M}{${MAX_MARKS + 1},}`, 'u');
const MARK_PILES = new RegExp(`(\\p{M}{${MAX_MARKS}})\\p{M}+`, 'gu');

/** Tag characters (U+E0001, U+E0020–U+E007F): invisible, except in a flag's tag sequence. */
const TAG_FIRST = 0xe0001;
const TAG_LAST = 0xe007f;
/** U+1F3F4 WAVING BLACK FLAG: what the flags of England, Scotland and Wales are tagged onto. */
const BLACK_FLAG = '\u{1F3F4}';

function isTag(codePoint: number | undefined): boolean {
  return codePoint !== undefined && codePoint >= TAG_FIRST && codePoint <= TAG_LAST;
}

/**
 * The most tag characters a flag carries: a subdivision code (`gbsct`, up to 6 letters and
 * digits) and the cancel tag, with room to spare. Looking back further than this for the
 * flag would make a long run of tag characters cost the square of its length, and text
 * from imports runs to megabytes.
 */
const MAX_FLAG_TAGS = 16;

/** Whether the tag character at `index` belongs to a tag sequence on a black flag. */
function tagsAFlag(text: string, index: number): boolean {
  let at = index;
  for (let tags = 0; at >= 2 && isTag(text.codePointAt(at - 2)); tags++) {
    if (tags >= MAX_FLAG_TAGS) return false;
    at -= 2;
  }
  return codePointBefore(text, at) === BLACK_FLAG;
}

const ZWNJ = 0x200c;
const ZWJ = 0x200d;

// A letter or mark of a script whose letters joiners change (not Latin, Greek or Cyrillic).
const JOINING_LETTER = /^(?![\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}])[\p{L}\p{M}]$/u;
const LETTER_OR_MARK = /^[\p{L}\p{M}]$/u;
// What an emoji ZWJ sequence joins after: an emoji, its skin tone, its presentation selector.
const EMOJI_PART = /^[\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F]$/u;

/** The code point ending just before `index` (a whole surrogate pair when there is one). */
function codePointBefore(text: string, index: number): string {
  const low = text.charCodeAt(index - 1);
  const high = text.charCodeAt(index - 2);
  const isPair = low >= 0xdc00 && low <= 0xdfff && high >= 0xd800 && high <= 0xdbff;
  return text.slice(isPair ? index - 2 : index - 1, index);
}

/** Whether the joiner at `index` joins two characters that need it. */
function joinsSomething(text: string, index: number): boolean {
  const before = codePointBefore(text, index);
  const after = String.fromCodePoint(text.codePointAt(index + 1) ?? 0x20);
  if (EMOJI_PART.test(before)) return true;
  return JOINING_LETTER.test(before) && LETTER_OR_MARK.test(after);
}

/** The refused character at `index`, described, and its length in code units; null if none. */
function refusedAt(
  text: string,
  index: number,
): { readonly description: string; readonly length: number } | null {
  const unit = text.charCodeAt(index);
  if (unit >= 0xd800 && unit <= 0xdbff) {
    const next = text.charCodeAt(index + 1);
    if (next >= 0xdc00 && next <= 0xdfff) {
      const codePoint = text.codePointAt(index) ?? 0;
      const code = `U+${codePoint.toString(16).toUpperCase()}`;
      if (isNoncharacter(codePoint)) {
        return { description: `${code}, a noncharacter`, length: 2 };
      }
      const range = ASTRAL_RANGES.find(([first, last]) => codePoint >= first && codePoint <= last);
      if (range !== undefined) {
        return {
          description: `${code} (${range[2]}), an invisible formatting character`,
          length: 2,
        };
      }
      if (!isTag(codePoint) || tagsAFlag(text, index)) return null;
      return {
        description: `${code} (TAG CHARACTER), an invisible formatting character`,
        length: 2,
      };
    }
    return { description: `${codeOf(unit)}, half of a character (a lone surrogate)`, length: 1 };
  }
  if (unit >= 0xdc00 && unit <= 0xdfff) {
    const previous = text.charCodeAt(index - 1);
    if (previous >= 0xd800 && previous <= 0xdbff) return null;
    return { description: `${codeOf(unit)}, half of a character (a lone surrogate)`, length: 1 };
  }
  if (isNoncharacter(unit)) return { description: `${codeOf(unit)}, a noncharacter`, length: 1 };
  const name = NAMES[unit];
  if (name === undefined) return null;
  if ((unit === ZWJ || unit === ZWNJ) && joinsSomething(text, index)) return null;
  return { description: `${codeOf(unit)} (${name}), an invisible formatting character`, length: 1 };
}

function codeOf(unit: number): string {
  return `U+${unit.toString(16).toUpperCase().padStart(4, '0')}`;
}

// Most text has none of them: one test of the whole string before looking closer. Each
// character is tested alone, so U+034F (a combining mark) combines with nothing here.
const MAYBE_REFUSED =
  // eslint-disable-next-line no-misleading-character-class
  /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\uffa0\ufdd0-\ufdef\ufeff\ufff9-\uffff\ud800-\udfff]/;

/**
 * Refuses `value` if it holds a lone surrogate, a bidirectional control or a zero-width
 * character (see the module comment), naming the field (`what`, e.g. `group name`) and the
 * first such character.
 * @throws InvalidInput with `field` (default `what`).
 */
export function refuseInvisibleCharacters(value: string, what: string, field = what): void {
  if (MARK_PILE.test(value)) {
    throw new InvalidInput(
      `the ${what} piles more than ${MAX_MARKS} combining marks on one character; remove some`,
      { field },
    );
  }
  if (!MAYBE_REFUSED.test(value)) return;
  for (let index = 0; index < value.length; index++) {
    const refused = refusedAt(value, index);
    if (refused !== null) {
      throw new InvalidInput(`the ${what} contains ${refused.description}; remove it`, { field });
    }
  }
}

/** `text` without the characters {@link refuseInvisibleCharacters} refuses. */
export function withoutInvisibleCharacters(text: string): string {
  if (MARK_PILE.test(text)) return withoutInvisibleCharacters(text.replace(MARK_PILES, '$1'));
  if (!MAYBE_REFUSED.test(text)) return text;
  let kept = '';
  let from = 0;
  for (let index = 0; index < text.length; index++) {
    const refused = refusedAt(text, index);
    if (refused === null) continue;
    kept += text.slice(from, index);
    from = index + refused.length;
  }
  return kept + text.slice(from);
}
