/**
 * Talks to the lab controller over its Unix socket (`lab/protocol.ts`): the `npm run lab`
 * commands and the {@link LabDriver} the chaos scenarios use are both clients of it.
 */
import { connect } from 'node:net';
import { errorFromWire, Internal, Unavailable } from '../contract/errors.js';
import { controllerSocketPath, type LabReply, type LabRequest } from './protocol.js';

export interface CallOptions {
  /** Told each progress line the controller sends before its answer. */
  readonly onProgress?: (line: string) => void;
  /** Gives up (rejecting with Unavailable) after this long; no limit by default. */
  readonly timeoutMs?: number;
}

/** Rejects with this when no controller answers on the socket. */
export class LabNotUp extends Unavailable {}

export class ControllerClient {
  readonly socketPath: string;

  constructor(readonly dataDir: string) {
    this.socketPath = controllerSocketPath(dataDir);
  }

  /**
   * Sends one request and resolves with the controller's result; rejects with the
   * controller's error (an AgendaError), or {@link LabNotUp} when nothing listens.
   */
  call<T = unknown>(request: LabRequest, options: CallOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const socket = connect(this.socketPath);
      let buffered = '';
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        fn();
      };
      const timer = options.timeoutMs
        ? setTimeout(
            () =>
              finish(() =>
                reject(new Unavailable(`the lab controller did not answer ${request.op}`)),
              ),
            options.timeoutMs,
          )
        : undefined;
      socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
      socket.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          let reply: LabReply;
          try {
            reply = JSON.parse(line) as LabReply;
          } catch {
            finish(() => reject(new Internal('the lab controller sent a malformed line')));
            return;
          }
          if ('progress' in reply) options.onProgress?.(reply.progress);
          else if (reply.ok) finish(() => resolve(reply.result as T));
          else finish(() => reject(errorFromWire(reply.error)));
        }
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        const notUp = err.code === 'ENOENT' || err.code === 'ECONNREFUSED';
        finish(() =>
          reject(
            notUp
              ? new LabNotUp(
                  `the lab is not up (no controller at ${this.socketPath}); run: npm run lab -- up`,
                )
              : new Unavailable(`lab controller: ${err.message}`, { cause: err }),
          ),
        );
      });
      socket.on('close', () =>
        finish(() =>
          reject(new Unavailable(`the lab controller closed the connection during ${request.op}`)),
        ),
      );
    });
  }

  /**
   * Whether a controller listens on the socket. Only the connection is tried: a controller
   * busy starting seventeen processes (or waiting on iptables' lock for a status) is up all
   * the same, and asking it for a status with a deadline made a second `up` fail on a
   * loaded machine.
   */
  isUp(): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const socket = connect(this.socketPath);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        socket.destroy();
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(false);
        else reject(new Unavailable(`lab controller: ${err.message}`, { cause: err }));
      });
    });
  }
}
