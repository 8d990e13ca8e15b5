import { Flags } from '@oclif/core';
import type { EventView } from '../../contract/views.js';
import type { LiveUpdate } from '../../contract/api.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import type { AgendaApi } from '../http/agenda-api.js';
import { followLiveUpdates } from '../http/live-updates.js';
import type { StreamObserver } from '../http/live-updates.js';
import { describeLiveUpdate } from '../ui/live.js';
import { coloursWanted, createPalette } from '../ui/palette.js';

/**
 * What `watch` resolves to in-process: how many updates it printed. It prints no result:
 * its output is its lines, as they come.
 */
export interface WatchResult {
  readonly updates: number;
}

/**
 * One line of `watch --json`: a live update as the gateway sent it, or the news that some
 * may have been missed.
 */
export type WatchLine = LiveUpdate | { readonly kind: 'resync'; readonly reason: string };

function jsonLine(line: WatchLine): string {
  return JSON.stringify(line);
}

/** `agenda watch`: live updates as they arrive, until Ctrl-C (exit 0). */
export default class Watch extends AgendaCommand<typeof Watch, WatchResult> {
  static override summary = 'Print live updates to your agenda as they happen, until Ctrl-C.';
  static override description =
    'One line per update; with --json one JSON object per line ({kind, change, eventId | group and member, by, at}). When a gateway goes away the stream is reopened on the next one that answers, with a growing pause between attempts. The stream ends when the access token that opened it expires (every 15 minutes); it is reopened at once with a renewed one, and a {"kind":"resync"} line says updates made in that moment may have been missed.';
  static override examples = [
    '<%= config.bin %> watch',
    '<%= config.bin %> watch --json --count 1   # wait for the next change',
  ];
  static override flags = {
    count: Flags.integer({ description: 'Exit after this many updates.', min: 1 }),
  };

  protected async execute(): Promise<Outcome<WatchResult>> {
    const { api } = await this.connect({ authenticated: true });
    const stop = new AbortController();
    const stopListening = this.terminal.onInterrupt(() => stop.abort());
    let received = 0;
    try {
      for await (const update of followLiveUpdates(api.gateway, stop.signal, this.observer())) {
        received += 1;
        this.terminal.stdout.write(`${await this.line(update, api)}\n`);
        if (this.flags.count !== undefined && received >= this.flags.count) break;
      }
    } finally {
      stopListening();
    }
    return { result: { updates: received }, human: () => '', streamed: true };
  }

  private async line(update: LiveUpdate, api: AgendaApi): Promise<string> {
    if (this.json) return jsonLine(update);
    let event: EventView | undefined;
    if (update.kind === 'event') {
      // Updates carry only the event id; the title makes the line worth reading. Best effort:
      // the caller may no longer see the event (removed, declined).
      event = await api.showEvent(update.eventId).then(
        (answer) => answer.event,
        () => undefined,
      );
    }
    return describeLiveUpdate(update, event, this.view);
  }

  /**
   * Connection news on stderr for a person. With --json only a gap in the updates is
   * reported, as a `{"kind":"resync"}` line: a program must then re-read what it shows.
   */
  private observer(): StreamObserver {
    if (this.json) {
      const resync = (reason: string): void => {
        this.terminal.stdout.write(`${jsonLine({ kind: 'resync', reason })}\n`);
      };
      return {
        missed: resync,
        renewed: () =>
          resync(
            'the stream was reopened with a renewed access token; updates may have been missed',
          ),
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
      retrying: (reason, delayMs) =>
        stderr.write(
          `${dim(`connection lost (${reason}); retrying in ${(delayMs / 1000).toFixed(1)} s`)}\n`,
        ),
    };
  }
}
