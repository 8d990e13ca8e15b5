import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { Flags } from '@oclif/core';
import { DateTime } from 'luxon';
import { isAgendaError } from '../../contract/errors.js';
import type { EventView } from '../../contract/views.js';
import type { LiveUpdate } from '../../contract/api.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import type { AgendaApi } from '../http/agenda-api.js';
import { followLiveUpdates } from '../http/live-updates.js';
import type { StreamFailure, StreamObserver } from '../http/live-updates.js';
import { ReminderWatch } from '../reminders.js';
import type { DueReminder, ReminderClock } from '../reminders.js';
import { describeLiveUpdate } from '../ui/live.js';
import { coloursWanted, createPalette } from '../ui/palette.js';
import { describeReminder, formatSpan } from '../ui/views.js';
import type { ViewContext } from '../ui/views.js';
import { loadDisplayWidths } from '../../base/table.js';

/**
 * What `watch` resolves to in-process: how many lines (updates and reminders) it printed.
 * It prints no result: its output is its lines, as they come.
 */
export interface WatchResult {
  readonly updates: number;
}

/**
 * What a `watch --json` line says of the event an update is about, as the watcher may see
 * it now (read with the watcher's own session, so never more than `event show` would say).
 */
export interface WatchedEvent {
  readonly id: string;
  readonly title: string;
  readonly start: string;
  readonly end: string;
  readonly timeZone: string;
  readonly organizer: string;
  readonly group: string | null;
  readonly status: EventView['status'];
  readonly myStatus: EventView['myStatus'];
  readonly recurrence: string | null;
  readonly location: string;
  readonly reminders?: readonly number[];
}

/** A reminder falling due, as `watch --remind --json` prints it. */
export interface ReminderLine {
  readonly kind: 'reminder';
  /** Minutes before the start it was set for. */
  readonly minutes: number;
  /** ISO instant it fell due. */
  readonly due: string;
  readonly event: WatchedEvent;
}

/**
 * One line of `watch --json`: a live update as the gateway sent it — for an event, with
 * `event`, the event as it is now (null when the watcher can no longer see it: removed,
 * declined, deleted), and `eventError` saying why it is null — a reminder falling due
 * (`--remind`), or the news that some updates may have been missed.
 */
export type WatchLine =
  | (Extract<LiveUpdate, { kind: 'event' }> & {
      readonly event: WatchedEvent | null;
      readonly eventError?: string;
    })
  | Exclude<LiveUpdate, { kind: 'event' }>
  | ReminderLine
  | { readonly kind: 'resync'; readonly reason: string };

/**
 * A line `watch --json` writes on stderr about its connection, so that a program can tell
 * "no updates" from "not connected": one per failed attempt to open (or keep) the stream,
 * with the reason and when the next attempt comes, and one when a stream is open again
 * after that. (A watch that connects at once and stays connected writes none.)
 */
export type WatchStatusLine =
  | {
      readonly kind: 'status';
      readonly state: 'disconnected';
      readonly reason: string;
      readonly retryInMs: number;
    }
  | { readonly kind: 'status'; readonly state: 'connected'; readonly server: string };

function jsonLine(line: WatchLine | WatchStatusLine): string {
  return JSON.stringify(line);
}

/** How a person is told that an attempt failed, by how it failed. */
const FAILURE_TEXT: Readonly<Record<StreamFailure, string>> = {
  lost: 'connection lost',
  not_connected: 'could not connect',
  not_reconnected: 'could not reconnect',
};

/** The part of an event view a watch line carries. */
export function watchedEvent(event: EventView): WatchedEvent {
  return {
    id: event.id,
    title: event.title,
    start: event.start,
    end: event.end,
    timeZone: event.timeZone,
    organizer: event.organizer,
    group: event.group,
    status: event.status,
    myStatus: event.myStatus,
    recurrence: event.recurrence,
    location: event.location,
    ...(event.reminders === undefined ? {} : { reminders: event.reminders }),
  };
}

/** `agenda watch`: live updates as they arrive, until Ctrl-C (exit 0). */
export default class Watch extends AgendaCommand<typeof Watch, WatchResult> {
  static override summary = 'Print live updates to your agenda as they happen, until Ctrl-C.';
  static override description =
    'One line per update; with --json one JSON object per line: {kind, change, eventId, by, at, event} for an event — event being {id, title, start, end, timeZone, organizer, group, status, myStatus, recurrence, location, reminders} as you may see it now, or null (with eventError) when you no longer can — and {kind, change, group, member, by, at} for a group. With --remind it also announces the reminders of your events and of those you accepted (recurring ones included) as they fall due, as {"kind":"reminder", minutes, due, event} lines, and with notify-send on the desktop where it is installed. When a gateway goes away (or stays silent for 30 s: gateways send a heartbeat every 10 s) the stream is reopened on the next one that answers, with a growing pause between attempts, and with --json a {"kind":"resync"} line says updates made meanwhile may have been missed. The stream ends when the access token that opened it expires (every 15 minutes); it is reopened at once with a renewed one, and a {"kind":"resync"} line says updates made in that moment may have been missed. With --json, each failed attempt to connect writes {"kind":"status","state":"disconnected","reason","retryInMs"} on stderr, and the stream open again {"kind":"status","state":"connected","server"}. A session that can no longer be renewed (logged out, revoked, 30 days passed) ends watch with exit 2.';
  static override examples = [
    '<%= config.bin %> watch',
    '<%= config.bin %> watch --remind',
    '<%= config.bin %> watch --json --count 1   # wait for the next change',
  ];
  static override flags = {
    count: Flags.integer({
      description: 'Exit after this many lines (updates, reminders).',
      min: 1,
    }),
    remind: Flags.boolean({
      description:
        'Also announce reminders as they fall due (looking 24 h ahead, read again every 10 minutes and after each update).',
      default: false,
    }),
  };

  /** The clock reminders keep; tests substitute their own. */
  static reminderClock: ReminderClock | undefined;

  protected async execute(): Promise<Outcome<WatchResult>> {
    const { api } = await this.connect({ authenticated: true });
    // Its lines are written as updates come, not by run(): what measures them is loaded now.
    if (!this.json) await loadDisplayWidths();
    const stop = new AbortController();
    const stopListening = this.terminal.onInterrupt(() => stop.abort());
    let printed = 0;
    const print = (line: string): void => {
      if (stop.signal.aborted) return;
      this.terminal.stdout.write(`${line}\n`);
      printed += 1;
      if (this.flags.count !== undefined && printed >= this.flags.count) stop.abort();
    };
    const reminders = this.flags.remind ? this.reminders(api, print) : undefined;
    try {
      await reminders?.start();
      for await (const update of followLiveUpdates(api.gateway, stop.signal, this.observer())) {
        print(await this.line(update, api));
        if (update.kind === 'event') reminders?.changed();
      }
    } finally {
      reminders?.stop();
      stopListening();
    }
    return { result: { updates: printed }, human: () => '', streamed: true };
  }

  private async line(update: LiveUpdate, api: AgendaApi): Promise<string> {
    if (update.kind !== 'event') {
      return this.json ? jsonLine(update) : describeLiveUpdate(update, undefined, this.liveView);
    }
    // Updates carry only the event's id (the gateway fans one notice out to everyone
    // concerned, whatever each may see): the event is read here, with the watcher's own
    // session, so a line never says more than `event show` would. One read per update,
    // bounded by a read's 2.5 s.
    let event: EventView | undefined;
    let eventError: string | undefined;
    try {
      event = (await api.showEvent(update.eventId)).event;
    } catch (error) {
      if (!isAgendaError(error)) throw error;
      eventError = error.code;
    }
    if (!this.json) return describeLiveUpdate(update, event, this.liveView);
    return jsonLine({
      ...update,
      event: event === undefined ? null : watchedEvent(event),
      ...(eventError === undefined ? {} : { eventError }),
    });
  }

  /** The view of the moment: a watch runs for days, so "today" is not when it started. */
  private get liveView(): ViewContext {
    return { ...this.view, now: DateTime.now().setZone(this.zone) };
  }

  private reminders(api: AgendaApi, print: (line: string) => void): ReminderWatch {
    const notifier = notifySend(this.terminal.env);
    return new ReminderWatch({
      list: async (from, to) =>
        (
          await api.listEvents({
            from: new Date(from).toISOString(),
            to: new Date(to).toISOString(),
          })
        ).events,
      announce: (reminder) => {
        print(this.reminderLine(reminder));
        if (notifier !== undefined) notify(notifier, reminder, this.liveView);
      },
      failed: (error) => {
        if (this.json) return;
        const { stderr, env } = this.terminal;
        const { dim } = createPalette(coloursWanted(stderr.isTTY, false, env));
        const reason = error instanceof Error ? error.message : String(error);
        stderr.write(
          `${dim(`could not read upcoming reminders (${reason}); trying again later`)}\n`,
        );
      },
      ...(Watch.reminderClock === undefined ? {} : { clock: Watch.reminderClock }),
    });
  }

  private reminderLine(reminder: DueReminder): string {
    const { event, minutes, due } = reminder;
    if (this.json) {
      return jsonLine({
        kind: 'reminder',
        minutes,
        due: new Date(due).toISOString(),
        event: watchedEvent(event),
      });
    }
    const { palette } = this.liveView;
    const at = DateTime.fromMillis(due, { zone: this.zone }).toFormat('HH:mm:ss');
    return `${palette.dim(at)}  ⏰ ${palette.bold(event.title)} ${reminderText(minutes)} (${formatSpan(event.start, event.end, this.liveView)})`;
  }

  /**
   * Connection news on stderr for a person. With --json, a gap in the updates is a
   * `{"kind":"resync"}` line on stdout (a program must then re-read what it shows), and the
   * connection's failures and recovery are {@link WatchStatusLine}s on stderr.
   */
  private observer(): StreamObserver {
    if (this.json) {
      const resync = (reason: string): void => {
        this.terminal.stdout.write(`${jsonLine({ kind: 'resync', reason })}\n`);
      };
      const status = (line: WatchStatusLine): void => {
        this.terminal.stderr.write(`${jsonLine(line)}\n`);
      };
      // Whether the last line said "disconnected": the next open stream is then announced,
      // and so is the gap (updates made meanwhile are not replayed).
      let disconnected = false;
      const connected = (server: URL, reconnected = false): void => {
        if (!disconnected && !reconnected) return;
        disconnected = false;
        status({ kind: 'status', state: 'connected', server: server.host });
        resync(
          'the stream was reopened after a disconnection; updates made meanwhile may have been missed',
        );
      };
      return {
        connected,
        missed: resync,
        renewed: (server) => {
          if (disconnected) {
            connected(server);
            return;
          }
          resync(
            'the stream was reopened with a renewed access token; updates may have been missed',
          );
        },
        retrying: (reason, retryInMs) => {
          disconnected = true;
          status({ kind: 'status', state: 'disconnected', reason, retryInMs });
        },
      };
    }
    const { stderr, env } = this.terminal;
    const { dim } = createPalette(coloursWanted(stderr.isTTY, false, env));
    return {
      connected: (server, reconnected) =>
        stderr.write(
          `${dim(
            reconnected
              ? `reconnected to ${server.host} (updates made while disconnected are not replayed)`
              : `watching live updates via ${server.host}; Ctrl-C to stop`,
          )}\n`,
        ),
      missed: (reason) => stderr.write(`${dim(`${reason}; re-read with agenda event list`)}\n`),
      renewed: (server) =>
        stderr.write(
          `${dim(`renewed the session and reopened the stream via ${server.host} (updates made in the moment between are not replayed)`)}\n`,
        ),
      retrying: (reason, delayMs, failure) =>
        stderr.write(
          `${dim(`${FAILURE_TEXT[failure]} (${reason}); retrying in ${(delayMs / 1000).toFixed(1)} s`)}\n`,
        ),
    };
  }
}

/** `starts in 10 min`, `starts now`. */
function reminderText(minutes: number): string {
  return minutes === 0
    ? 'starts now'
    : `starts in ${describeReminder(minutes).replace(/ before$/, '')}`;
}

/** The `notify-send` on the PATH, if there is one. */
function notifySend(env: Readonly<Record<string, string | undefined>>): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'notify-send');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** A desktop notification, best effort: nothing waits for it, and its failure is silent. */
function notify(command: string, reminder: DueReminder, view: ViewContext): void {
  try {
    const child = spawn(
      command,
      [
        '--app-name=agenda',
        reminder.event.title,
        `${reminderText(reminder.minutes)}: ${formatSpan(reminder.event.start, reminder.event.end, { ...view, palette: createPalette(false) })}`,
      ],
      { stdio: 'ignore', detached: true },
    );
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // A desktop without notifications still has the line printed.
  }
}
