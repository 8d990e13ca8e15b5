/**
 * `agenda search`: which of the caller's events a text names. The store searches the
 * events of one list window (`event.search`, server/store/queries.ts) and pages the
 * occurrences of those that match exactly as `event.list` pages its own, so a search costs
 * what listing its window costs, plus reading those events' text: bounded by the window
 * (`MAX_QUERY_SPAN_MS`) and the page, never by the caller's history outside it.
 */
import { InvalidInput } from '../../contract/errors.js';
import { SEARCH_TEXT_MAX_LENGTH } from '../../contract/limits.js';
import type { CalendarEvent } from './types.js';

/** A text as searched: trimmed, compatibility-normalized, case-folded. */
function fold(text: string): string {
  return text.normalize('NFKC').toLocaleLowerCase('und');
}

/**
 * The text to look for, checked: not blank, at most {@link SEARCH_TEXT_MAX_LENGTH}
 * characters. Returned as given, trimmed; {@link eventMatches} folds it.
 * @throws InvalidInput
 */
export function validateSearchText(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') throw new InvalidInput('the text to search for is blank', { field: 'q' });
  if ([...trimmed].length > SEARCH_TEXT_MAX_LENGTH) {
    throw new InvalidInput(
      `the text to search for is at most ${SEARCH_TEXT_MAX_LENGTH} characters`,
      { field: 'q' },
    );
  }
  return trimmed;
}

/** A predicate over events: does its title, description or location contain `text`? */
export function eventMatcher(text: string): (event: CalendarEvent) => boolean {
  const needle = fold(validateSearchText(text));
  return (event) =>
    fold(event.title).includes(needle) ||
    fold(event.location).includes(needle) ||
    fold(event.description).includes(needle);
}
