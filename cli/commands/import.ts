import { readFile } from 'node:fs/promises';
import { Args, Flags } from '@oclif/core';
import { printable, printableLines } from '../../base/table.js';
import { InvalidInput, errorFromWire } from '../../contract/errors.js';
import type { AgendaError } from '../../contract/errors.js';
import type { ImportAnswer } from '../../contract/api.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { allowConflictFlag } from '../flags.js';
import { importInChunks } from '../import/chunked-import.js';
import { decodeCalendarFile, encodingNote } from '../import/decode-calendar.js';
import type { CalendarEncoding } from '../import/decode-calendar.js';
import type { ChunkedImport } from '../import/chunked-import.js';
import { splitCalendar } from '../import/split-calendar.js';
import { ProgressBar, formatCount } from '../ui/progress.js';
import type { ViewContext } from '../ui/views.js';

/**
 * What `agenda import --json` prints: the combined answers, how the file was decoded
 * (cli/import/decode-calendar.ts), and whether everything in it was imported.
 */
export interface ImportReport extends ImportAnswer {
  /** How the file's bytes were read: UTF-8, UTF-16 (by its byte-order mark) or Windows-1252. */
  readonly encoding: CalendarEncoding;
  /**
   * False when anything of the file is not in the agenda: an event failed or was not sent,
   * or a whole component was skipped (parts of imported events left out, and events kept
   * otherwise than written, do not count).
   */
  readonly complete: boolean;
}

/** `agenda import <file.ics>`: adds the file's events to your agenda, or brings them up to date. */
export default class Import extends AgendaCommand<typeof Import, ImportReport> {
  static override summary = 'Import the events of an iCalendar (.ics) file into your agenda.';
  static override description =
    'Each event is created like with event add, and keeps its UID and its version (SEQUENCE, LAST-MODIFIED): importing the file again updates the events the file has in a newer version and leaves the others alone — one changed in your agenda since is kept, and listed — so an interrupted import resumes where it stopped. Big files are sent in several requests, with a progress bar on a terminal. Events that fail (e.g. a conflict) are listed and the exit code is that of the first failure; components Agenda does not support are skipped and listed, and the exit code is then 6; parts of events it does not keep (alarms that make no reminder, attendees) are listed as skipped too, and what is kept otherwise than the file has it (a title too long, shortened) is listed as changed, neither of which changes the exit code. A file that is not UTF-8 (nor UTF-16 with a byte-order mark) is read as Windows-1252, and the report says so. Ctrl-C sends no further request and stops once those in flight are answered; twice, at once.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> calendar.ics',
    '<%= config.bin %> <%= command.id %> export-from-google.ics --allow-conflict --json',
  ];
  static override args = {
    file: Args.string({ description: 'The .ics file.', required: true }),
  };
  static override flags = {
    'allow-conflict': allowConflictFlag,
    visibility: Flags.option({
      description:
        "What others see of the events whose file says no CLASS (Google Calendar writes none for events of default visibility): public (RFC 5545's default), busy (a busy block) or private. Events that say their CLASS keep it.",
      options: ['public', 'busy', 'private'] as const,
    })(),
  };

  protected async execute(): Promise<Outcome<ImportReport>> {
    const { file } = this.args;
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new InvalidInput(`cannot read ${file} (${code})`, { field: 'file', cause: error });
    }
    const { text: calendar, encoding } = decodeCalendarFile(bytes);
    // Said here, before any login or request: the service could only call it malformed.
    if (calendar.replace(/^\uFEFF/, '').trim() === '') {
      throw new InvalidInput(
        `${printable(file)} is empty: it holds no events to import (an iCalendar file has BEGIN:VCALENDAR and a BEGIN:VEVENT for each event)`,
        { field: 'file' },
      );
    }
    const split = splitCalendar(calendar);
    const { api } = await this.connect({ authenticated: true });
    // Ctrl-C once: send no further request, finish those in flight. Twice: abandon them too.
    const stop = new AbortController();
    const abort = new AbortController();
    const stopListening = this.terminal.onInterrupt(() => {
      if (stop.signal.aborted) abort.abort();
      else stop.abort();
    });
    const progress = new ProgressBar(this.terminal.stderr, 'Importing', 'events');
    let imported: ChunkedImport;
    try {
      imported = await importInChunks(api, split, {
        allowConflict: this.flags['allow-conflict'],
        // Floating times in the file are read like <when> arguments: in --tz or the local zone.
        timeZone: this.zone,
        ...(this.flags.visibility === undefined ? {} : { visibility: this.flags.visibility }),
        stop: stop.signal,
        abort: abort.signal,
        ...(this.json ? {} : { onProgress: (p) => progress.update(p.done, p.total) }),
      });
    } finally {
      progress.clear();
      stopListening();
    }
    const { answer } = imported;
    const failure = stoppedFailure(imported) ?? firstFailure(answer);
    const left = answer.skipped.filter((s) => s.part !== true).length;
    const report: ImportReport = {
      ...answer,
      encoding,
      complete: failure === undefined && left === 0,
    };
    return {
      result: report,
      human: () => renderImport(report, this.view, split.events, split.vevents > 0),
      ...(failure === undefined ? {} : { failure }),
      ...(left === 0
        ? {}
        : {
            incomplete: `${formatCount(left)} component${left === 1 ? ' was' : 's were'} skipped (${this.json ? 'listed in the result\'s "skipped"' : 'listed above'}): not everything in the file is in your agenda`,
          }),
    };
  }
}

/**
 * How many events were given a visibility the file did not say (no CLASS: Google Calendar
 * writes none for events of default visibility), or null when none were. Public ones are
 * seen in full by others (outside attack 7): said with how to import them otherwise, and
 * how to change those already imported, which importing again leaves as they are.
 */
export function withoutClassNote(answer: ImportAnswer): string | null {
  const given = answer.withoutClass;
  if (given === undefined || given.uids.length === 0) return null;
  const n = given.uids.length;
  const events = `${formatCount(n)} event${n === 1 ? '' : 's'}`;
  const said = `${events} imported ${given.visibility} because the file gave no CLASS`;
  if (given.visibility !== 'public') return `visibility: ${said}.`;
  return (
    `visibility: ${said}, so others who see your agenda see ${n === 1 ? 'its' : 'their'} details ` +
    `(--visibility busy to show them as busy blocks; importing again keeps those imported: ` +
    `agenda event update <id> --visibility busy changes one)`
  );
}

/** Why the import ended early, with how far it got and how to go on. */
function stoppedFailure(imported: ChunkedImport): AgendaError | undefined {
  const { stoppedBy, progress } = imported;
  if (stoppedBy === null) return undefined;
  const where = `after ${formatCount(progress.done)} of ${formatCount(progress.total)} events`;
  const resume =
    'run the same command again to resume (the events already imported come back unchanged)';
  if (stoppedBy.kind === 'interrupt') {
    const abandoned =
      imported.abandonedEvents > 0
        ? ` (the ${formatCount(imported.abandonedEvents)} events of the requests abandoned in flight may have been imported as well)`
        : '';
    return new InvalidInput(`the import was interrupted ${where}${abandoned}; ${resume}`);
  }
  const { error } = stoppedBy;
  return errorFromWire({
    code: error.code,
    message: `the import stopped ${where}: ${error.message}; ${resume}`,
  });
}

function firstFailure(answer: ImportAnswer): AgendaError | undefined {
  const first = answer.failed[0];
  if (first === undefined) return undefined;
  const total = answer.events.length + answer.failed.length;
  return errorFromWire({
    code: first.error.code,
    message: `${answer.failed.length} of ${total} events were not imported (first: ${first.error.message})`,
  });
}

/**
 * The report a person reads. `fileEvents` is how many events the file holds (its VEVENTs
 * that are not changed occurrences, as the CLI split it), so that an import of nothing
 * says whether the file had none or had them refused; `hasVevents`, whether it has any
 * VEVENT at all (changed occurrences whose series it lacks are VEVENTs, not events).
 */
function renderImport(
  answer: ImportReport,
  context: ViewContext,
  fileEvents: number,
  hasVevents: boolean,
): string {
  const { palette } = context;
  const n = answer.events.length;
  const counts = (['created', 'updated', 'unchanged'] as const)
    .map((action) => [action, answer.events.filter((e) => e.action === action).length] as const)
    .filter(([, k]) => k > 0)
    .map(([action, k]) => `${formatCount(k)} ${action}`);
  const whole = answer.skipped.filter((s) => s.part !== true);
  // The file's one event, refused: said with why, where the list below would say it alone.
  const onlyRefused =
    n === 0 && answer.failed.length === 0 && fileEvents === 1 && whole.length === 1
      ? whole[0]
      : undefined;
  const lines = [
    n > 0 || answer.failed.length > 0
      ? `Imported ${formatCount(n)} event${n === 1 ? '' : 's'}${counts.length === 0 ? '' : ` (${counts.join(', ')})`}.`
      : onlyRefused !== undefined
        ? `Nothing imported: the file's one event was refused: ${printableLines(onlyRefused.reason)}`
        : fileEvents === 0 && !hasVevents
          ? 'Nothing imported: the file holds no events (no VEVENT).'
          : fileEvents === 0
            ? "Nothing imported: none of the file's VEVENTs could be imported (why, below)."
            : `Nothing imported: none of the file's ${formatCount(fileEvents)} events could be imported (why, below).`,
  ];
  const unclassified = withoutClassNote(answer);
  if (unclassified !== null) lines.push(palette.yellow(unclassified));
  const note = encodingNote(answer.encoding);
  if (note !== null) lines.push(palette.yellow(`encoding: ${note}`));
  // UIDs and reasons come from the file (the reasons quote its titles): never raw.
  for (const failure of answer.failed) {
    const what = failure.uid === null ? `event #${failure.index + 1}` : printable(failure.uid);
    lines.push(palette.red(`not imported: ${what}: ${printableLines(failure.error.message)}`));
  }
  for (const event of answer.events) {
    if (event.kept === undefined) continue;
    lines.push(palette.yellow(`kept: ${printable(event.uid)}: ${printableLines(event.kept)}`));
  }
  for (const changed of answer.changed ?? []) {
    const what = changed.uid === null ? '(no uid)' : printable(changed.uid);
    lines.push(palette.yellow(`changed: ${what}: ${printableLines(changed.reason)}`));
  }
  for (const skipped of answer.skipped) {
    if (skipped === onlyRefused) continue;
    const what = skipped.uid === null ? '(no uid)' : printable(skipped.uid);
    lines.push(palette.dim(`skipped: ${what}: ${printableLines(skipped.reason)}`));
  }
  return lines.join('\n');
}
