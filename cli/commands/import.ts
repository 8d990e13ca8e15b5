import { readFile } from 'node:fs/promises';
import { Args } from '@oclif/core';
import { InvalidInput, errorFromWire } from '../../server/errors.js';
import type { ImportAnswer } from '../../server/protocol/api.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { allowConflictFlag } from '../flags.js';
import { renderEvents } from '../ui/views.js';
import type { ViewContext } from '../ui/views.js';

/** `agenda import <file.ics>`: adds the file's events to your agenda. */
export default class Import extends AgendaCommand<typeof Import> {
  static override summary = 'Import the events of an iCalendar (.ics) file into your agenda.';
  static override description =
    'Each event is created like with event add. Events that fail (e.g. a conflict) are listed and the exit code is that of the first failure; components Agenda does not support are skipped and listed.';
  static override args = {
    file: Args.string({ description: 'The .ics file.', required: true }),
  };
  static override flags = { 'allow-conflict': allowConflictFlag };

  protected async execute(): Promise<Outcome> {
    const { file } = this.args;
    let calendar: string;
    try {
      calendar = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new InvalidInput(`cannot read ${file} (${code})`, { field: 'file', cause: error });
    }
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Importing…',
      // Floating times in the file are read like <when> arguments: in --tz or the local zone.
      api.importCalendar(calendar, this.flags['allow-conflict'], this.zone),
    );
    const first = answer.failed[0];
    const total = answer.events.length + answer.failed.length;
    return {
      result: answer,
      human: () => renderImport(answer, this.view),
      ...(first === undefined
        ? {}
        : {
            failure: errorFromWire({
              code: first.error.code,
              message: `${answer.failed.length} of ${total} events were not imported (first: ${first.error.message})`,
            }),
          }),
    };
  }
}

function renderImport(answer: ImportAnswer, context: ViewContext): string {
  const { palette } = context;
  const count = answer.events.length;
  const lines = [`Imported ${count} event${count === 1 ? '' : 's'}.`];
  if (count > 0) lines.push(renderEvents(answer.events, context, ''));
  for (const failure of answer.failed) {
    lines.push(
      palette.red(
        `not imported: ${failure.uid ?? `event #${failure.index + 1}`}: ${failure.error.message}`,
      ),
    );
  }
  for (const skipped of answer.skipped) {
    lines.push(palette.dim(`skipped: ${skipped.uid ?? '(no uid)'}: ${skipped.reason}`));
  }
  return lines.join('\n');
}
