/**
 * The text of an `.ics` file from its bytes, by one rule, here where the file is read: the
 * API takes UTF-8 text, so whatever the file's encoding the server never has to guess it.
 *
 * - a UTF-16 byte-order mark (FF FE or FE FF): UTF-16, little or big endian;
 * - bytes that are valid UTF-8 (with or without a byte-order mark): UTF-8;
 * - anything else: Windows-1252, what Outlook on Windows writes its exports in (é, ü, €,
 *   “smart quotes”), and a superset of Latin-1 for every byte that prints. (Node's
 *   TextDecoder reads its label as Latin-1, so it is decoded here.)
 * A byte-order mark is never part of the text. Line ends are left as they are (the server
 * reads CRLF, LF and CR alike).
 */

/** The encodings a calendar file is read in, by their WHATWG labels. */
export type CalendarEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

export interface DecodedCalendar {
  readonly text: string;
  readonly encoding: CalendarEncoding;
}

/** Decodes `bytes` by the rule of the module comment. */
export function decodeCalendarFile(bytes: Uint8Array): DecodedCalendar {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return decoded(bytes.subarray(2), 'utf-16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return decoded(bytes.subarray(2), 'utf-16be');
  const body =
    bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  try {
    return {
      text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body),
      encoding: 'utf-8',
    };
  } catch {
    return decoded(bytes, 'windows-1252');
  }
}

/**
 * What Windows-1252 has at 0x80–0x9F, where Latin-1 has control characters (the five
 * bytes it leaves undefined stay those controls, as the WHATWG Encoding Standard says).
 */
const WINDOWS_1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';

/**
 * Windows-1252, by hand: Node 20's TextDecoder accepts the label but decodes it as Latin-1,
 * so € and “smart quotes” came out as invisible control characters.
 */
function windows1252(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    const slice = bytes.subarray(i, i + 8192);
    text += String.fromCharCode(
      ...Array.from(slice, (b) =>
        b >= 0x80 && b <= 0x9f ? WINDOWS_1252_HIGH.charCodeAt(b - 0x80) : b,
      ),
    );
  }
  return text;
}

function decoded(bytes: Uint8Array, encoding: CalendarEncoding): DecodedCalendar {
  if (encoding === 'windows-1252') return { text: windows1252(bytes), encoding };
  // ignoreBOM keeps a second mark as text; the mark itself was taken off above.
  return { text: new TextDecoder(encoding, { ignoreBOM: true }).decode(bytes), encoding };
}

/** How the report names an encoding other than UTF-8, and why it was chosen. */
export function encodingNote(encoding: CalendarEncoding): string | null {
  switch (encoding) {
    case 'utf-8':
      return null;
    case 'utf-16le':
    case 'utf-16be':
      return `the file was read as ${encoding === 'utf-16le' ? 'UTF-16 (little endian)' : 'UTF-16 (big endian)'}, as its byte-order mark says`;
    case 'windows-1252':
      return 'the file is not UTF-8: it was read as Windows-1252 (as Outlook on Windows writes it)';
  }
}
