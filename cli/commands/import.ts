import { readFile } from 'node:fs/promises';
import { Args } from '@oclif/core';
import { printable, printableLines } from '../../base/table.js';
import { InvalidInput, errorFromWire } from '../../contract/errors.js';
import type { AgendaError } from '../../contract/errors.js';
import type { ImportAnswer } from '../../contract/api.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { allowConflictFlag } from '../flags.js';
import { importInChunks } from '../import/chunked-import.js';
import type { ChunkedImport } from '../import/chunked-import.js';
import { splitCalendar } from '../import/split-calendar.js';
import { ProgressBar, formatCount } from '../ui/progress.js';
import type { ViewContext } from '../ui/views.js';

/** `agenda import <file.ics>`: adds the file's events to your agenda, or brings them up to date. */
export default class Import extends AgendaCommand<typeof Import, ImportAnswer> {
  static override summary = 'Import the events of an iCalendar (.ics) file into your agenda.';
  static override description =
    'Each event is created like with event add, and keeps its UID: importing the file again updates the events that changed and leaves the others alone, so an interrupted import resumes where it stopped. Big files are sent in several requests, with a progress bar on a terminal. Events that fail (e.g. a conflict) are listed and the exit code is that of the first failure; components Agenda does not support, and parts of events it does not keep (alarms that make no reminder, attendees), are skipped and listed, and what is kept otherwise than the file has it (a title too long, shortened) is listed as changed. Ctrl-C sends no further request and stops once those in flight are answered; twice, at once.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> calendar.ics',
    '<%= config.bin %> <%= command.id %> export-from-google.ics --allow-conflict --json',
  ];
  static override args = {
    file: Args.string({ description: 'The .ics file.', required: true }),
  };
  static override flags = { 'allow-conflict': allowConflictFlag };

  protected async execute(): Promise<Outcome<ImportAnswer>> {
    const { file } = this.args;
    let calendar: string;
    try {
      calendar = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new InvalidInput(`cannot read ${file} (${code})`, { field: 'file', cause: error });
    }
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
    return {
      result: answer,
      human: () => renderImport(answer, this.view),
      ...(failure === undefined ? {} : { failure }),
    };
  }
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

function renderImport(answer: ImportAnswer, context: ViewContext): string {
  const { palette } = context;
  const n = answer.events.length;
  const counts = (['created', 'updated', 'unchanged'] as const)
    .map((action) => [action, answer.events.filter((e) => e.action === action).length] as const)
    .filter(([, k]) => k > 0)
    .map(([action, k]) => `${formatCount(k)} ${action}`);
  const lines = [
    n === 0 && answer.failed.length === 0
      ? 'Nothing imported: the file holds no events (no VEVENT).'
      : `Imported ${formatCount(n)} event${n === 1 ? '' : 's'}${counts.length === 0 ? '' : ` (${counts.join(', ')})`}.`,
  ];
  // UIDs and reasons come from the file (the reasons quote its titles): never raw.
  for (const failure of answer.failed) {
    const what = failure.uid === null ? `event #${failure.index + 1}` : printable(failure.uid);
    lines.push(palette.red(`not imported: ${what}: ${printableLines(failure.error.message)}`));
  }
  for (const changed of answer.changed ?? []) {
    const what = changed.uid === null ? '(no uid)' : printable(changed.uid);
    lines.push(palette.yellow(`changed: ${what}: ${printableLines(changed.reason)}`));
  }
  for (const skipped of answer.skipped) {
    const what = skipped.uid === null ? '(no uid)' : printable(skipped.uid);
    lines.push(palette.dim(`skipped: ${what}: ${printableLines(skipped.reason)}`));
  }
  return lines.join('\n');
}
