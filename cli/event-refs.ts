/**
 * Naming an event without its 16-character id: wherever a command asks for an event id
 * (`event show/update/cancel`, `invite accept/decline`), it also takes
 *
 * - `#n`, the n-th event of the last numbered listing on this profile (`agenda`, `today`,
 *   `event list`, `search`, `month` with its list, `invite list`) that showed any, saved
 *   next to the profile in `profiles/<profile>.listing.json`;
 * - a unique prefix of the id, git-style: at least {@link MIN_PREFIX} characters. It is
 *   looked for first among the ids this profile was shown lately (the same file keeps the
 *   last {@link KNOWN_IDS_KEPT}), then among one's own events in a bounded window around
 *   now (the year centred on today, as one list request: the server's widest) and one's
 *   pending invitations. Several matches are refused, listing them.
 *
 * Why six characters: neither place sees all of one's events (the window is a year, the
 * known ids those shown lately), so a prefix unique there may still name another event
 * outside it, and a command would act on the wrong one. With 4 characters that happened
 * (outside attack 4: two of 3,000 events shared `iqwe`, one in the window, and `event
 * cancel iqwe` cancelled it); ids are 16 characters of 36 kinds, so with 6 the chance that
 * two of 5,000 events share a given prefix is about 1 in 400,000. A text of 4 or 5 such
 * characters is refused before any request, saying to give more of the id or `#n`.
 *
 * Ids are lowercase (server/services/ids.ts draws them from `[a-z0-9]`), so a prefix or a
 * whole id typed in capitals (`X13Y…`, read off a screen) is read in lowercase.
 *
 * Resolved here, in the client, rather than by a prefix route: a prefix a person types
 * comes from something the CLI showed them, which the saved ids answer without a request;
 * the fallback is the list route itself, whose cost is already bounded by its window and
 * pages, and which sees exactly the events the caller may name (their own), so no new
 * question about privacy or cost arises on the server. What it cannot find — an event more
 * than half a year away that this profile never listed — still works by its whole id.
 *
 * Anything else (a whole id, a text of 1 to 3 characters, something not an id), and a
 * prefix that matches nothing, is passed on (lowercased when it is letters and digits
 * only), and the server says whether it names an event (exit 3 when not).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInput } from '../contract/errors.js';
import type { EventView } from '../contract/views.js';
import { temporaryFileFor } from './profiles.js';
import type { ProfileStore } from './profiles.js';

/** The fewest characters of an id that are read as a prefix. */
export const MIN_PREFIX = 6;
/** Shorter than this, a text is not read as a prefix at all (it goes to the server as given). */
const SHORT_PREFIX = 4;
/** The length of an id the server makes; a text this long is an id, not a prefix. */
export const ID_LENGTH = 16;
/** Longer than any id the API takes (its limit is 64): refused before it is sent. */
const MAX_ID_TEXT = 64;
/** How many recently shown ids a profile keeps for prefixes. */
export const KNOWN_IDS_KEPT = 2000;

/** One event as the saved listing remembers it. */
export interface RememberedEvent {
  readonly id: string;
  readonly title: string;
  /** The row's start: for a recurring event, the occurrence's. */
  readonly start: string;
  /** One occurrence of a recurring event: `#n` then names that occurrence, not the series. */
  readonly recurring?: boolean;
}

/** What a profile remembers of what it was shown. */
export interface SavedListing {
  /** What showed it (`agenda today`), for messages. */
  readonly command: string;
  readonly savedAt: string;
  /** The last numbered listing: `#1` is the first. */
  readonly numbered: readonly RememberedEvent[];
  /** Ids shown lately (numbered or not), newest first, each once. */
  readonly known: readonly RememberedEvent[];
}

const PREFIX = new RegExp(`^[a-z0-9]{${MIN_PREFIX},${ID_LENGTH - 1}}$`, 'i');
/** What a person meant as a prefix but is too short to name one event safely. */
const TOO_SHORT = new RegExp(`^[a-z0-9]{${SHORT_PREFIX},${MIN_PREFIX - 1}}$`, 'i');
/** Letters and digits only, as every id the server makes: read in lowercase. */
const ID_CHARACTERS = /^[a-z0-9]+$/i;

/** The listing file of a profile, next to its login. */
export class ListingStore {
  constructor(
    private readonly profiles: ProfileStore,
    private readonly profile: string,
  ) {}

  get file(): string {
    return this.profiles.fileOf(this.profile).replace(/\.json$/, '.listing.json');
  }

  /** The saved listing; null when none was saved (or the file is unreadable: it is a cache). */
  async read(): Promise<SavedListing | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return null;
    }
    try {
      const value = JSON.parse(text) as Partial<SavedListing>;
      if (!Array.isArray(value.numbered) || !Array.isArray(value.known)) return null;
      const valid = (e: unknown): e is RememberedEvent =>
        typeof e === 'object' &&
        e !== null &&
        typeof (e as RememberedEvent).id === 'string' &&
        typeof (e as RememberedEvent).title === 'string' &&
        typeof (e as RememberedEvent).start === 'string' &&
        [undefined, true].includes((e as RememberedEvent).recurring);
      return {
        command: typeof value.command === 'string' ? value.command : 'the last listing',
        savedAt: typeof value.savedAt === 'string' ? value.savedAt : '',
        numbered: value.numbered.filter(valid),
        known: value.known.filter(valid),
      };
    } catch {
      return null;
    }
  }

  /**
   * Remembers `events`: as the numbered listing (`#1` is `events[0]`) when `numbered` and
   * there are any (an empty one leaves the last listing in place), and among the known ids
   * either way. A failure to write is ignored: this is a convenience,
   * and the command's real work is done.
   */
  async remember(
    command: string,
    events: readonly EventView[],
    options: { numbered: boolean },
  ): Promise<void> {
    try {
      const before = await this.read();
      const shown = events.map((e) => ({
        id: e.id,
        title: e.title,
        start: e.start,
        ...(e.recurrence !== null ? { recurring: true } : {}),
      }));
      const known: RememberedEvent[] = [];
      const seen = new Set<string>();
      for (const event of [...shown, ...(before?.known ?? [])]) {
        if (seen.has(event.id)) continue;
        seen.add(event.id);
        known.push(event);
        if (known.length >= KNOWN_IDS_KEPT) break;
      }
      // A numbered listing that shows nothing (a search without matches, an empty day) has
      // no #n to give, and the numbers a person read on the last one they were shown stay
      // theirs: replacing them with nothing would make `event show '#2'` fail after a search
      // that merely missed.
      const renumbered = options.numbered && shown.length > 0;
      const saved: SavedListing = {
        command: renumbered ? command : (before?.command ?? command),
        savedAt: renumbered ? new Date().toISOString() : (before?.savedAt ?? ''),
        numbered: renumbered ? shown : (before?.numbered ?? []),
        known,
      };
      await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const temporary = temporaryFileFor(this.file);
      await writeFile(temporary, `${JSON.stringify(saved)}\n`, { mode: 0o600 });
      await rename(temporary, this.file);
    } catch {
      // A cache that could not be written: `#n` and prefixes fall back as documented.
    }
  }
}

/** How a reference is resolved: the saved listing, and the bounded lookup of one's events. */
export interface ResolveOptions {
  readonly listing: ListingStore;
  /** One's events in the bounded window and pending invitations; called only when needed. */
  readonly lookup: () => Promise<readonly RememberedEvent[]>;
  /** The argument's name, for messages. */
  readonly field: string;
}

/** What kind of reference `text` is. */
export function referenceKind(text: string): 'number' | 'prefix' | 'short' | 'id' {
  if (/^#\d+$/.test(text)) return 'number';
  if (PREFIX.test(text)) return 'prefix';
  if (TOO_SHORT.test(text)) return 'short';
  return 'id';
}

function distinct(events: readonly RememberedEvent[]): RememberedEvent[] {
  const byId = new Map<string, RememberedEvent>();
  for (const event of events) if (!byId.has(event.id)) byId.set(event.id, event);
  return [...byId.values()];
}

function ambiguous(prefix: string, matches: readonly RememberedEvent[], field: string): never {
  const shown = matches.slice(0, 10).map((e) => `  ${e.id}  ${e.title}  (${e.start})`);
  const more = matches.length > 10 ? [`  … and ${matches.length - 10} more`] : [];
  throw new InvalidInput(
    `the id prefix ${prefix} names ${matches.length} events; give more of the id, or #n from the last listing:\n${[...shown, ...more].join('\n')}`,
    { field },
  );
}

/**
 * The event id `text` names: `#n` from the saved listing, a unique prefix, or `text` itself.
 * @throws InvalidInput (no such `#n`, an ambiguous prefix).
 */
export async function resolveEventRef(text: string, options: ResolveOptions): Promise<string> {
  return (await resolveEventRow(text, options)).id;
}

/**
 * What `text` names: the event's id, and with `#n` the listing's row, whose start is one
 * occurrence's when the event recurs — what a command that acts on one occurrence needs.
 */
export async function resolveEventRow(
  text: string,
  options: ResolveOptions,
): Promise<{ readonly id: string; readonly row?: RememberedEvent }> {
  const kind = referenceKind(text);
  if (kind === 'id') {
    // Sent as part of a URL: a 100 KB argument came back as the server's "Header overflow".
    if (text.length > MAX_ID_TEXT) {
      throw new InvalidInput(
        `that is not an event id (${text.length} characters; ids have ${ID_LENGTH}): give an id, a prefix of one, or #n`,
        { field: options.field },
      );
    }
    // Ids are lowercase: `ABCD…` read off a screen is `abcd…` (outside attack 4).
    return { id: ID_CHARACTERS.test(text) ? text.toLowerCase() : text };
  }
  if (kind === 'short') {
    throw new InvalidInput(
      `${text} is too short to name one event for sure: give at least ${MIN_PREFIX} characters of the id (lists show 8), or #n from the last listing`,
      { field: options.field },
    );
  }
  if (kind === 'number') {
    const n = Number(text.slice(1));
    const saved = await options.listing.read();
    if (saved === null || saved.numbered.length === 0) {
      throw new InvalidInput(
        `${text} names an event of the last numbered listing, and this profile has none: run agenda today, agenda event list or agenda search first`,
        { field: options.field },
      );
    }
    const event = saved.numbered[n - 1];
    if (event === undefined) {
      throw new InvalidInput(
        `there is no ${text}: the last listing (${saved.command}) numbered ${saved.numbered.length} event${saved.numbered.length === 1 ? '' : 's'}`,
        { field: options.field },
      );
    }
    return { id: event.id, row: event };
  }
  const prefix = text.toLowerCase();
  const saved = await options.listing.read();
  const known = distinct((saved?.known ?? []).filter((e) => e.id.startsWith(prefix)));
  if (known.length === 1) return { id: (known[0] as RememberedEvent).id };
  if (known.length > 1) ambiguous(prefix, known, options.field);
  const found = distinct((await options.lookup()).filter((e) => e.id.startsWith(prefix)));
  if (found.length === 1) return { id: (found[0] as RememberedEvent).id };
  if (found.length > 1) ambiguous(prefix, found, options.field);
  // Perhaps a whole id of another form: the server says whether it names an event.
  return { id: prefix };
}
