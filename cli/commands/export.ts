import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Flags } from '@oclif/core';
import { InvalidInput } from '../../contract/errors.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { whenFlag } from '../flags.js';
import { parseRangeBound, toApiInstant } from '../time.js';

/**
 * What `export` prints with `--json`: the calendar text without `--output`, else the file
 * written (an absolute path) and its size in bytes.
 */
export type ExportResult =
  { readonly calendar: string } | { readonly file: string; readonly bytes: number };

/** `agenda export [--from] [--to] [--output file.ics]`: your agenda as iCalendar. */
export default class Export extends AgendaCommand<typeof Export, ExportResult> {
  static override summary = 'Export your agenda as iCalendar (.ics), to a file or stdout.';
  static override description =
    'Without --from/--to the whole agenda is exported. With --json and no --output the calendar text is the "calendar" field of the result.';
  static override examples = [
    '<%= config.bin %> export --output agenda.ics',
    '<%= config.bin %> export --from today --to +30d > month.ics',
  ];
  static override flags = {
    from: whenFlag('Export from this time on'),
    to: whenFlag('Export up to this time'),
    output: Flags.string({
      char: 'o',
      description: 'Write to this file instead of stdout.',
      helpValue: 'file.ics',
    }),
    force: Flags.boolean({
      description: 'Replace the --output file if it exists.',
      dependsOn: ['output'],
    }),
  };

  protected async execute(): Promise<Outcome<ExportResult>> {
    const from =
      this.flags.from === undefined
        ? undefined
        : parseRangeBound(this.flags.from, this.whenContext, 'from');
    const to =
      this.flags.to === undefined
        ? undefined
        : parseRangeBound(this.flags.to, this.whenContext, 'to');
    if (from !== undefined && to !== undefined && to <= from) {
      throw new InvalidInput('--to must be after --from', { field: 'to' });
    }
    // Said before any request (outside attack P4: it said "add --force", then EISDIR).
    const asked = this.flags.output;
    if (asked !== undefined && (await isDirectory(path.resolve(asked)))) {
      throw new InvalidInput(`--output ${asked} is a directory: give a file name`, {
        field: 'output',
      });
    }
    const { api } = await this.connect({ authenticated: true });
    const calendar = await this.slow(
      'Exporting…',
      api.exportCalendar({
        ...(from === undefined ? {} : { from: toApiInstant(from) }),
        ...(to === undefined ? {} : { to: toApiInstant(to) }),
      }),
    );
    const { output } = this.flags;
    if (output === undefined) {
      if (this.json) return { result: { calendar }, human: () => '' };
      // Raw, so the file keeps its CRLF line ends byte for byte.
      this.terminal.stdout.write(calendar);
      return { result: { calendar }, human: () => '', streamed: true };
    }
    const file = path.resolve(output);
    try {
      // An existing file is someone's: replaced only when asked (a typo must not eat it).
      await writeFile(file, calendar, { flag: this.flags.force ? 'w' : 'wx' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unwritable';
      if (code === 'EEXIST') {
        throw new InvalidInput(`${output} exists: add --force to replace it`, {
          field: 'output',
        });
      }
      throw new InvalidInput(`cannot write ${output} (${code})`, { field: 'output', cause: error });
    }
    const bytes = Buffer.byteLength(calendar);
    const count = calendar.match(/^BEGIN:VEVENT\r?$/gm)?.length ?? 0;
    return {
      result: { file, bytes },
      human: () => `Exported ${count} event${count === 1 ? '' : 's'} to ${output}.`,
    };
  }
}

/** Whether `file` is a directory (one that cannot be read is not said to be). */
async function isDirectory(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isDirectory();
  } catch {
    return false;
  }
}
