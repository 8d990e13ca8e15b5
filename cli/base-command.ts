/**
 * What every `agenda` command shares: the global flags, the result envelope, and the one
 * place failures become output and exit codes. A user's command extends
 * {@link AgendaCommand}, whose global flags are `--json`, `--server`, `--ca`, `--profile` and
 * `--tz`; an operator's (`cluster …`, `dashboard`) extends {@link OperatorCommand}, which
 * takes `--json` alone: it talks to the cluster's processes, not to a gateway as someone.
 *
 * A command implements {@link OutcomeCommand.execute} and returns an {@link Outcome}: the
 * JSON result (stable field names: `event`, `events`, `invitations`, `group`, `groups`,
 * `agendas`, `conflicts`, `slots`) and how to show it to a person. With `--json` the result
 * goes to stdout as one line of JSON and a failure to stderr as `{"error":{code,message,
 * details}}`; otherwise both are text, coloured only on a terminal without `NO_COLOR`.
 * Exit codes come from contract/errors.ts: 0 ok, 1 usage or invalid input, 2 authentication,
 * 3 not found or forbidden, 4 conflict, 5 service unavailable; and 6 ({@link EXIT_INCOMPLETE})
 * for work done only in part, as the result says (`agenda import` with components skipped).
 *
 * The result's type is part of the command's: `AgendaCommand<typeof EventShow, EventAnswer>`
 * prints an `EventAnswer`. Results are the answer types of contract/api.ts where a command
 * prints the gateway's answer as it came (`WholeList<EventsAnswer>` where it joins pages),
 * and types named next to the command where it prints a projection or a combination
 * (`SignedIn`, `ExportResult`, `ListedMembership`, …). So a route whose answer stops being
 * what a command declares is a type error in that command, and {@link ResultOf} gives tests
 * and scripts the type of what `--json` prints, so a result that changes shape is a type
 * error wherever it is read.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Errors, Flags } from '@oclif/core';
import type { Config, Interfaces } from '@oclif/core';
import { DateTime } from 'luxon';
import type { EventView } from '../contract/views.js';
import { Conflict, Internal, InvalidInput, NotFound, Unauthenticated } from '../contract/errors.js';
import type { AgendaError } from '../contract/errors.js';
import type { AgendaApi } from './http/agenda-api.js';
import type { SessionTokens } from './http/session-tokens.js';
import { ListingStore, resolveEventRow } from './event-refs.js';
import { failureJson, failureOf, withDetails } from './failures.js';
import type { RememberedEvent } from './event-refs.js';
import { ProfileStore, defaultConfigDir, loginEndsAt } from './profiles.js';
import { ProfileTokenStore } from './session.js';
import type { Profile, StoredLogin } from './profiles.js';
import { flushed, outputColumns, processTerminal } from './terminal.js';
import type { Terminal } from './terminal.js';
import {
  currentInstant,
  parseDayOrTime,
  parseInterval,
  parseWhen,
  resolveZone,
  toApiInstant,
} from './time.js';
import type { DayOrTime, WhenContext } from './time.js';
import { fitText } from './ui/calendar.js';
import { coloursWanted, createPalette } from './ui/palette.js';
import type { Palette } from './ui/palette.js';
import { whileSlow } from './ui/spinner.js';
import { formatInstant, relativeHint, renderConflictingEvents } from './ui/views.js';
import type { ViewContext } from './ui/views.js';
import { measured, printableLines } from '../base/table.js';

/**
 * What a change or cancellation (`verb`) of one occurrence fails with when the service says
 * that occurrence was changed on its own before: the event it became, and the command that
 * acts on it. Anything else is returned as it was.
 */
export function changedOnItsOwn(error: unknown, verb: 'update' | 'cancel'): unknown {
  if (!(error instanceof NotFound) || error.detachedEventId === undefined) return error;
  const id = error.detachedEventId;
  return new NotFound(
    `that occurrence was already changed on its own: it is now event ${id} (agenda event ${verb} ${id}${verb === 'update' ? ' …' : ''})`,
    { detachedEventId: id, cause: error },
  );
}

/** The gateways `npm start` runs, as the README sets them: `export AGENDA_SERVER=…`. */
export const LOCAL_GATEWAYS = 'https://127.0.0.1:8443,https://127.0.0.1:8444';

/** The flags of command `T`, the global ones of its base class included, as parsed. */
export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<
  T['baseFlags'] & T['flags']
>;
/** The arguments of command `T`, as parsed. */
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

/** What a command did: its JSON result and its human rendering. */
export interface Outcome<Result extends object> {
  /** Printed as JSON with `--json`; also what `run()` resolves to. */
  readonly result: Result;
  /** The text a person sees instead (nothing is printed when empty). */
  readonly human: () => string;
  /** The command already printed as it went (`watch`): nothing more to print. */
  readonly streamed?: boolean;
  /** Part of the work failed: reported after the result, and it sets the exit code. */
  readonly failure?: AgendaError;
  /**
   * Nothing failed, but part of what was asked was left undone, as the result says (an
   * import that skipped components): said on stderr after the result as a warning (with
   * `--json`, a `{"warning":…,"code":"incomplete"}` line: the result has the details), and
   * the exit code is {@link EXIT_INCOMPLETE}. A failure wins.
   */
  readonly incomplete?: string;
}

/** The exit code of a command that did its work in part ({@link Outcome.incomplete}). */
export const EXIT_INCOMPLETE = 6;

/**
 * A command that did its work in part, its result printed and the rest said: the exit is
 * {@link EXIT_INCOMPLETE}, and there is no failure to report.
 */
export class CommandIncomplete extends Errors.ExitError {
  constructor(
    readonly reason: string,
    /** The result printed, for in-process callers ({@link OutcomeCommand.runIn}). */
    readonly result: object,
  ) {
    super(EXIT_INCOMPLETE);
    this.name = 'CommandIncomplete';
  }
}

/** A gateway connection for one command, and the profile it came from. */
export interface Connection {
  readonly api: AgendaApi;
  readonly profile: Profile;
  /** The stored login, present whenever the connection was asked to be authenticated. */
  readonly login: StoredLogin | null;
  /** The login's tokens as renewed so far (present with `login`). */
  readonly tokens?: SessionTokens;
  readonly servers: readonly URL[];
  /** Absolute path of the trusted CA file, if any. */
  readonly caFile: string | null;
}

/**
 * A failed command, already reported on stderr. Its `oclif.exit` is the exit code, which is
 * what the `agenda` binary exits with; in-process callers read {@link CommandFailed.error}.
 */
export class CommandFailed extends Errors.ExitError {
  constructor(readonly error: AgendaError) {
    super(error.exitCode);
    this.name = 'CommandFailed';
  }
}

/**
 * The JSON result of command class `C`: what it prints with `--json` (unless it streams, as
 * `watch` and `dashboard` do) and what `runIn` resolves to.
 */
export type ResultOf<C extends { readonly prototype: { run(): Promise<object> } }> = Awaited<
  ReturnType<C['prototype']['run']>
>;

/** `--json`, which every command takes. */
const jsonFlag = Flags.boolean({
  description: 'Print the result as JSON on stdout, and errors as JSON on stderr.',
  default: false,
  helpGroup: 'GLOBAL',
});

/**
 * What every `agenda` command shares, whoever it is for: `--json`, the result envelope and
 * the one place failures become output and exit codes (see the module comment). `T` is the
 * command's own class (its flags and arguments), `Result` the type of its JSON result. A
 * command extends {@link AgendaCommand} (a user's) or {@link OperatorCommand}, whose
 * `baseFlags` say which global flags it takes.
 */
export abstract class OutcomeCommand<
  T extends typeof Command,
  Result extends object,
> extends Command {
  protected flags!: CommandFlags<T>;
  protected args!: CommandArgs<T>;
  /** Where the command reads and writes; the process's terminal unless run with {@link runIn}. */
  protected terminal: Terminal = processTerminal();
  /** What to close when the command ends, whatever its outcome (connections it opened). */
  protected readonly closers: (() => Promise<void>)[] = [];
  /** When the command was created (ms since the epoch). */
  private readonly createdAt = Date.now();
  /** Whether it runs in-process ({@link runIn}) rather than as the process's one command. */
  private inProcess = false;

  /**
   * Runs the command against `terminal` instead of the process's own streams: how tests
   * (and any embedding program) run a command in-process. Resolves to the JSON result;
   * rejects with {@link CommandFailed} after reporting the failure on `terminal.stderr`.
   */
  static async runIn<R extends object>(
    this: new (argv: string[], config: Config) => OutcomeCommand<typeof Command, R>,
    argv: string[],
    config: Config,
    terminal: Terminal,
  ): Promise<R> {
    const command = new this(argv, config);
    command.terminal = terminal;
    command.inProcess = true;
    return command._run<R>();
  }

  override async init(): Promise<void> {
    await super.init();
    const { args, flags } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: this.ctor.baseFlags,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    this.flags = flags as CommandFlags<T>;
    this.args = args as CommandArgs<T>;
  }

  /** Does the command's work. Throwing an {@link AgendaError} sets the exit code. */
  protected abstract execute(): Promise<Outcome<Result>>;

  async run(): Promise<Result> {
    const outcome = await this.execute();
    if (!outcome.streamed) {
      if (this.json) {
        this.terminal.stdout.write(`${JSON.stringify(outcome.result)}\n`);
      } else {
        const text = await measured(outcome.human);
        if (text !== '') this.terminal.stdout.write(`${text}\n`);
      }
    }
    if (outcome.failure !== undefined) {
      // The failure ends the process with its exit code: the result must be out first.
      await flushed(this.terminal.stdout);
      throw outcome.failure;
    }
    if (outcome.incomplete !== undefined) {
      await flushed(this.terminal.stdout);
      this.caution(outcome.incomplete, 'incomplete');
      throw new CommandIncomplete(outcome.incomplete, outcome.result);
    }
    return outcome.result;
  }

  protected override async catch(thrown: Error): Promise<never> {
    // Already said, with the result: only the exit code is left.
    if (thrown instanceof CommandIncomplete) throw thrown;
    const error = thrown instanceof CommandFailed ? thrown.error : failureOf(thrown);
    const { stderr } = this.terminal;
    stderr.write(this.json ? failureJson(error) : await measured(() => this.failureText(error)));
    throw new CommandFailed(error);
  }

  protected override async finally(thrown: Error | undefined): Promise<void> {
    await Promise.allSettled(this.closers.map((close) => close()));
    await super.finally(thrown);
  }

  /**
   * When the command started (ms since the epoch), which reads' budgets count from (see
   * cli/http/gateway-client.ts): the process's start when it is the `agenda` binary's command
   * (one per process, and its start-up is part of what a person waits for); when it was
   * created when it runs in-process ({@link runIn}), or from the sources
   * (`AGENDA_FROM_SOURCES=1`), whose start-up is mostly compiling TypeScript, which nobody
   * waits for in use.
   */
  protected get startedAt(): number {
    if (this.inProcess || this.terminal.env.AGENDA_FROM_SOURCES === '1') return this.createdAt;
    return performance.timeOrigin;
  }

  /** Whether `--json` was given; read from argv so that even parse errors come out as JSON. */
  protected get json(): boolean {
    const flags = this.flags as { json?: boolean } | undefined;
    if (flags !== undefined) return flags.json === true;
    const end = this.argv.indexOf('--');
    return this.argv.slice(0, end === -1 ? undefined : end).includes('--json');
  }

  /** Colours for stdout. */
  protected get palette(): Palette {
    return createPalette(coloursWanted(this.terminal.stdout.isTTY, this.json, this.terminal.env));
  }

  /**
   * The columns output is drawn in: `$COLUMNS`, else the terminal's; undefined off a
   * terminal without `$COLUMNS`, where nothing is cut (see `outputColumns`).
   */
  protected get width(): number | undefined {
    return outputColumns(this.terminal);
  }

  /**
   * Writes a warning on stderr: `warning: text` for a person; with `--json` one line
   * `{"warning":text,"code":code}` (see {@link remark}). `code` names the kind of warning
   * for scripts (`past_start`, `incomplete`).
   */
  protected caution(text: string, code?: string): void {
    this.remark('warning', text, code);
  }

  /**
   * Writes `label: text` on stderr: a warning, or a note of how something was read. With
   * `--json` it is one line of JSON, `{"warning":text,"code":code}` or `{"note":text}`, so
   * that a script reading stderr line by line gets it whole (and tells it from an error,
   * `{"error":…}`) and a person running a script still sees it.
   */
  protected remark(label: 'warning' | 'note', text: string, code?: string): void {
    if (this.json) {
      const line = { [label]: text, ...(code === undefined ? {} : { code }) };
      this.terminal.stderr.write(`${JSON.stringify(line)}\n`);
      return;
    }
    const palette = createPalette(
      coloursWanted(this.terminal.stderr.isTTY, false, this.terminal.env),
    );
    // Cut to the terminal's width as the output is: broken at spaces.
    const lines = fitText(`${label}: ${text}`, this.width);
    const paint = label === 'warning' ? palette.yellow : palette.cyan;
    this.terminal.stderr.write(`${paint(`${label}:`)}${lines.slice(label.length + 1)}\n`);
  }

  /** Awaits `work` with a spinner on stderr if it is slow, on a terminal, without `--json`. */
  protected slow<R>(label: string, work: Promise<R>): Promise<R> {
    if (this.json) return work;
    return whileSlow(this.terminal.stderr, label, work, undefined, this.width);
  }

  /** The failure as a person reads it on stderr. */
  private failureText(error: AgendaError): string {
    const { stderr } = this.terminal;
    const palette = createPalette(coloursWanted(stderr.isTTY, false, this.terminal.env));
    // Messages may quote what the service or a file said: never written raw.
    const lines = [`${palette.red('error:')} ${printableLines(error.message)}`];
    if (error instanceof Conflict && error.conflicts.length > 0) {
      lines.push(
        renderConflictingEvents(error.conflicts, {
          // A user's command shows them in --tz; an operator's has none, and the local zone.
          zone: safeZone(this.flags as { tz?: string } | undefined),
          now: currentInstant('UTC'),
          palette,
        }),
      );
      if ('allow-conflict' in this.ctor.flags) {
        lines.push(palette.dim('(add --allow-conflict to do it anyway)'));
      }
    }
    return `${lines.join('\n')}\n`;
  }
}

/**
 * A user's command: it talks to the gateways as the login of a profile (`--server`, `--ca`,
 * `--profile`) and reads and shows times in `--tz`.
 */
export abstract class AgendaCommand<
  T extends typeof Command,
  Result extends object,
> extends OutcomeCommand<T, Result> {
  static override baseFlags = {
    json: jsonFlag,
    server: Flags.string({
      description:
        'Gateway URL(s), comma-separated, tried in order (default: those given at login).',
      env: 'AGENDA_SERVER',
      helpGroup: 'GLOBAL',
    }),
    ca: Flags.string({
      description: 'PEM file of the CA to trust, and no other (default: the one given at login).',
      env: 'AGENDA_CA',
      helpGroup: 'GLOBAL',
    }),
    profile: Flags.string({
      description: 'Stored login to use; profiles keep separate logins.',
      env: 'AGENDA_PROFILE',
      default: 'default',
      helpGroup: 'GLOBAL',
    }),
    tz: Flags.string({
      description:
        'IANA zone to read times without an offset in, and to show times in (default: local).',
      helpGroup: 'GLOBAL',
    }),
    'config-dir': Flags.string({
      description: 'Where logins are stored (default: ~/.config/agenda).',
      env: 'AGENDA_CONFIG_DIR',
      hidden: true,
    }),
  };

  private cachedNow: DateTime | undefined;

  /** The zone of `--tz`, else the local one. */
  protected get zone(): string {
    return resolveZone((this.flags as { tz?: string }).tz);
  }

  /** "Now" for this command: one instant for every default it computes, whole seconds. */
  protected get now(): DateTime {
    this.cachedNow ??= currentInstant(this.zone);
    return this.cachedNow;
  }

  /** How human output shows times, and in what width. */
  protected get view(): ViewContext {
    return { zone: this.zone, now: this.now, palette: this.palette, width: this.width };
  }

  /**
   * Reads a `<when>` flag (see cli/time.ts for the accepted forms). With `needsTime` a day
   * without a time is refused (an event's start or end); `after` is the start an end follows.
   */
  protected when(
    text: string,
    field: string,
    options: Pick<WhenContext, 'needsTime' | 'after' | 'dayWithoutYear'> = {},
  ): DateTime {
    return parseWhen(text, { zone: this.zone, now: this.now, field, note: this.noted, ...options });
  }

  /** Says on stderr how a `<when>` that reads two ways was read (cli/time.ts). */
  private readonly noted = (message: string): void => {
    this.remark('note', message);
  };

  /**
   * An `--also-on` flag's occurrences (ISO), each a time as given or a day (as written, read
   * in `--tz`) at `start`'s time of day in `start`'s zone: the event's, so a Berlin 09:00
   * series updated from New York is also at 09:00 in Berlin that day. `[]` for `none`,
   * undefined when not given. `start` is asked for only when a day needs it.
   */
  protected async alsoOnFlag(
    values: readonly string[] | undefined,
    start: () => DateTime | Promise<DateTime>,
  ): Promise<string[] | undefined> {
    if (values === undefined) return undefined;
    const texts = values.flatMap((v) => v.split(',')).map((v) => v.trim());
    if (texts.length === 1 && texts[0]?.toLowerCase() === 'none') return [];
    const out: string[] = [];
    for (const text of texts) {
      const asked = parseDayOrTime(text, {
        zone: this.zone,
        now: this.now,
        field: 'also-on',
        note: this.noted,
      });
      if (asked.kind === 'time') {
        out.push(toApiInstant(asked.at));
        continue;
      }
      const at = await start();
      const { year, month, day } = asked.start;
      out.push(
        toApiInstant(
          DateTime.fromObject(
            { year, month, day, hour: at.hour, minute: at.minute, second: at.second },
            { zone: at.zone },
          ),
        ),
      );
    }
    return out;
  }

  /** An `--occurrence` flag: a day (in `--tz`) or a time; undefined when not given. */
  protected occurrenceFlag(text: string | undefined): DayOrTime | undefined {
    return text === undefined
      ? undefined
      : parseDayOrTime(text, {
          zone: this.zone,
          now: this.now,
          field: 'occurrence',
          note: this.noted,
        });
  }

  /**
   * The start (ISO) of the occurrence of event `id` asked for: the time as given, or the
   * start of the event's one occurrence on the day, found in the caller's agenda. A day on
   * which it happens several times is refused with their times, to say which.
   * @throws NotFound (no occurrence that day), InvalidInput (several).
   */
  protected async occurrenceStart(api: AgendaApi, id: string, asked: DayOrTime): Promise<string> {
    if (asked.kind === 'time') return toApiInstant(asked.at);
    const { start, end } = asked;
    const listed = await this.slow(
      'Looking for the occurrence…',
      api.listEvents({ from: toApiInstant(start), to: toApiInstant(end) }),
    );
    const starts = [
      ...new Set(
        listed.events
          .filter((event) => event.id === id)
          .map((event) => Date.parse(event.start))
          .filter((ms) => ms >= start.toMillis() && ms < end.toMillis()),
      ),
    ].sort((a, b) => a - b);
    const day = start.toFormat('ccc d LLL yyyy');
    const [only] = starts;
    if (only === undefined) {
      // Not in the series any more: changed on its own (the server's refusal names the
      // event it became) or cancelled. The series' exceptions say which occurrence it was.
      const taken = await this.exceptionOn(api, id, start.toMillis(), end.toMillis());
      if (taken !== undefined) return taken;
      throw new NotFound(`event ${id} has no occurrence on ${day} (${this.zone}) in your agenda`);
    }
    // The day's start in its zone, moved to each occurrence: their wall-clock times there.
    const at = (ms: number) => start.plus({ milliseconds: ms - start.toMillis() });
    if (starts.length > 1) {
      const times = starts.map((ms) => at(ms).toFormat('HH:mm'));
      throw new InvalidInput(
        `event ${id} happens ${starts.length} times on ${day} (at ${times.join(', ')}): say which with --occurrence "${start.toFormat('yyyy-MM-dd')} ${times[0]}"`,
        { field: 'occurrence' },
      );
    }
    return toApiInstant(at(only));
  }

  /**
   * The start (ISO) of the one occurrence of series `id` in `[from, to)` that was taken out
   * of it (cancelled, or changed on its own), for the server to say what became of it;
   * undefined when there is none, or several (then it cannot tell which was meant, and the
   * day is said to have no occurrence, as it has none left in the series).
   */
  private async exceptionOn(
    api: AgendaApi,
    id: string,
    from: number,
    to: number,
  ): Promise<string | undefined> {
    const { event } = await this.slow('Looking for the occurrence…', api.showEvent(id));
    if (event.recurrence === null) return undefined;
    const taken = event.exceptions.filter((iso) => {
      const ms = Date.parse(iso);
      return ms >= from && ms < to;
    });
    return taken.length === 1 ? taken[0] : undefined;
  }

  /**
   * The event `text` names and, when the command is about one occurrence of it, that
   * occurrence's start: the one `--occurrence` asks for (`asked`), or else the one a `#n`
   * row of a recurring event showed — acting on the whole series for such a row is not what
   * the person pointed at. The series goes by its id or prefix.
   */
  protected async eventOccurrence(
    api: AgendaApi,
    text: string,
    asked: DayOrTime | undefined,
  ): Promise<{ readonly id: string; readonly occurrence: string | undefined }> {
    const { id, row } = await this.eventRow(text, api);
    const occurrence =
      asked !== undefined
        ? await this.occurrenceStart(api, id, asked)
        : row?.recurring === true
          ? row.start
          : undefined;
    return { id, occurrence };
  }

  /** `--from`/`--to`, defaulting to now → now + 7 days; a day is the whole day. */
  protected interval(from: string | undefined, to: string | undefined) {
    return parseInterval(from, to, this.whenContext);
  }

  /** What a `<when>` of this command is read against, for the readers of cli/time.ts. */
  protected get whenContext(): { zone: string; now: DateTime; note: (message: string) => void } {
    return { zone: this.zone, now: this.now, note: this.noted };
  }

  /** The stored profiles, in `--config-dir`/`AGENDA_CONFIG_DIR` or the default place. */
  protected get profiles(): ProfileStore {
    const flags = this.flags as { 'config-dir'?: string };
    return new ProfileStore(flags['config-dir'] ?? defaultConfigDir(this.terminal.env));
  }

  /** What this profile was shown lately: the numbered listing (`#n`) and ids for prefixes. */
  protected get listing(): ListingStore {
    return new ListingStore(this.profiles, this.profileName);
  }

  /**
   * Remembers events this command showed, numbered `#1…` in order when `numbered` (see
   * cli/event-refs.ts); off a numbered view they still help resolve id prefixes.
   */
  protected remember(events: readonly EventView[], numbered: boolean): Promise<void> {
    const command = `agenda ${(this.id ?? '').replaceAll(':', ' ')}`.trim();
    return this.listing.remember(command, events, { numbered });
  }

  /**
   * The event id an argument names: a whole id, `#n` of the last numbered listing, or a
   * unique prefix of at least 6 characters (cli/event-refs.ts). A prefix not among the ids
   * this profile was shown is looked for among the caller's events of the year around now
   * and their pending invitations.
   */
  protected eventRef(text: string, api: AgendaApi, field = 'id'): Promise<string> {
    return this.eventRow(text, api, field).then((r) => r.id);
  }

  /** {@link eventRef}, with the listing's row when `text` is `#n` (see `resolveEventRow`). */
  protected eventRow(
    text: string,
    api: AgendaApi,
    field = 'id',
  ): Promise<{ readonly id: string; readonly row?: RememberedEvent }> {
    return resolveEventRow(text, {
      listing: this.listing,
      field,
      lookup: async (): Promise<RememberedEvent[]> => {
        const [listed, invited] = await Promise.all([
          api.listEvents({
            from: toApiInstant(this.now.minus({ days: 183 })),
            to: toApiInstant(this.now.plus({ days: 183 })),
          }),
          api.invitations(),
        ]);
        return [...listed.events, ...invited.invitations].map((e) => ({
          id: e.id,
          title: e.title,
          start: e.start,
        }));
      },
    });
  }

  protected get profileName(): string {
    return (this.flags as { profile: string }).profile;
  }

  /**
   * The profile's login, refused ({@link Unauthenticated}, "run agenda login") when there is
   * none or its session has ended: known from the profile alone, before any request. When it
   * ended is said as other times are, in `--tz` (else the local zone) and how long ago; with
   * `--json` the instant itself is in the details (`expiresAt`, ISO 8601).
   */
  protected liveLogin(profile: Profile): StoredLogin {
    const { login } = profile;
    const named = this.profileName !== 'default';
    const on = named ? ` on profile ${this.profileName}` : '';
    // The login command names the profile too: without it, it logs in on the default one.
    const into = named ? ` --profile ${this.profileName}` : '';
    if (login === null) {
      throw new Unauthenticated(`not logged in${on}: run agenda login <username>${into}`);
    }
    const endsAt = loginEndsAt(login);
    if (Date.parse(endsAt) <= Date.now()) {
      throw withDetails(
        new Unauthenticated(
          `the login of ${login.username}${on} expired at ${this.endedAt(endsAt)}: run agenda login ${login.username}${into}`,
        ),
        { expiresAt: endsAt },
      );
    }
    return login;
  }

  /**
   * When a session ended (`iso`), as a person is told it: as other times are shown, in
   * `--tz` (else the local zone), and how long ago — `Sun 6 Dec 05:12 (2 h ago)`. A bad
   * `--tz` must not hide that the session ended: the local zone then.
   */
  protected endedAt(iso: string): string {
    const zone = safeZone(this.flags as { tz?: string } | undefined);
    const now = currentInstant(zone);
    const ago = relativeHint(iso, now);
    const at = formatInstant(iso, { zone, now, palette: this.palette });
    return `${at} (${ago === 'now' ? 'just now' : ago})`;
  }

  /**
   * Connects to the gateways of `--server` (else the profile's) trusting `--ca` (else the
   * profile's). When `authenticated`, the profile must hold a login whose session has not
   * ended; its access token is renewed as it runs out, and the renewal saved in the profile.
   */
  protected async connect(options: { authenticated: boolean }): Promise<Connection> {
    const flags = this.flags as { server?: string; ca?: string };
    const profile = await this.profiles.read(this.profileName);
    const login = options.authenticated ? this.liveLogin(profile) : null;
    const serverText = flags.server ?? profile.servers.join(',');
    if (serverText.trim() === '') {
      // Said with what to type: the README's line for the gateways `npm start` runs.
      throw new InvalidInput(
        `no gateway to talk to: this profile has none and --server is not given. Set the gateways once for this shell, e.g. for those of \`npm start\`: export AGENDA_SERVER=${LOCAL_GATEWAYS} AGENDA_CA=.agenda/pki/ca.pem (or pass --server https://host:port --ca <ca.pem>; a login keeps them in the profile)`,
        { field: 'server' },
      );
    }
    // The HTTP client (https, tls, crypto and undici-free transport) is loaded by the commands
    // that talk to a gateway, when they do: `version`, `help` and the local commands start
    // without it (issue 14's start-up bar).
    const [{ AgendaApi }, { GatewayClient, parseServerList }, { SessionTokens }] =
      await Promise.all([
        import('./http/agenda-api.js'),
        import('./http/gateway-client.js'),
        import('./http/session-tokens.js'),
      ]);
    const servers = parseServerList(serverText);
    const caFile = flags.ca !== undefined ? path.resolve(flags.ca) : profile.ca;
    const ca = caFile === null ? undefined : await readCertificateAuthority(caFile);
    // The session renews itself through the API it authenticates (the refresh route is
    // anonymous, so that call needs no token).
    const client: { api?: AgendaApi } = {};
    const tokens =
      login === null
        ? undefined
        : new SessionTokens({
            tokens: login,
            renew: (refreshToken, signal, within, idempotencyKey) => {
              if (client.api === undefined) {
                throw new Internal('a session renewed before its client');
              }
              return client.api.refreshSession(refreshToken, signal, within, idempotencyKey);
            },
            store: new ProfileTokenStore(this.profiles, this.profileName, login.username),
            loginHint: `run agenda login ${login.username}${this.profileName === 'default' ? '' : ` --profile ${this.profileName}`}`,
            showEnd: (iso) => this.endedAt(iso),
          });
    const gateway = new GatewayClient({
      servers,
      ...(ca === undefined ? {} : { ca }),
      ...(tokens === undefined ? {} : { token: tokens }),
      userAgent: `agenda-cli/${this.config.version}`,
      startedAt: this.startedAt,
    });
    this.closers.push(() => gateway.close());
    // Lists are read a page at a time; AGENDA_PAGE_SIZE makes pages smaller (tests use it).
    const pageSize = this.terminal.env.AGENDA_PAGE_SIZE;
    const api = new AgendaApi(gateway, pageSize ? { pageSize: Number(pageSize) } : {});
    client.api = api;
    return { api, profile, login, servers, caFile, ...(tokens === undefined ? {} : { tokens }) };
  }
}

/**
 * A command that talks to no gateway (`version`): of the global flags it takes only `--json`.
 */
export abstract class LocalCommand<
  T extends typeof Command,
  Result extends object,
> extends OutcomeCommand<T, Result> {
  static override baseFlags = { json: jsonFlag };
}

/**
 * An operator's command (`cluster …`, `dashboard`): it talks to the cluster's processes
 * with the operator certificate of the system it is pointed at, not to a gateway as a user,
 * so of the global flags it takes only `--json`.
 */
export abstract class OperatorCommand<
  T extends typeof Command,
  Result extends object,
> extends LocalCommand<T, Result> {}

/** The zone for showing a failure; a bad `--tz` must not hide the real error. */
function safeZone(flags: { tz?: string } | undefined): string {
  try {
    return resolveZone(flags?.tz);
  } catch {
    return resolveZone(undefined);
  }
}

async function readCertificateAuthority(file: string): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new InvalidInput(`cannot read the CA file ${file} (${code})`, {
      field: 'ca',
      cause: error,
    });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new InvalidInput(`${file} holds no PEM certificate`, { field: 'ca' });
  }
  return pem;
}
