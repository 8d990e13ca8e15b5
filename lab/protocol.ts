/**
 * The lab controller's protocol: newline-delimited JSON on a Unix socket in the lab's data
 * directory, one request per connection. The controller answers with any number of
 * `progress` lines, then exactly one final line, `ok` with a result or an error in the
 * project's wire form (`contract/errors.ts`), and closes the connection. Requests are validated
 * here, at the boundary; a malformed one gets an `invalid` error and never reaches the lab.
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { WireError } from '../contract/errors.js';
import type { NetworkFault } from './net.js';

export const PROTOCOL_VERSION = 1;

const name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, 'names use letters, digits, ".", "_" and "-"');

export const LabRequestSchema = z.discriminatedUnion('op', [
  /** Hosts, processes and faults, now. */
  z.strictObject({ v: z.literal(1), op: z.literal('status') }),
  /** Streams the start-up's progress and answers once the system is ready (or failed). */
  z.strictObject({ v: z.literal(1), op: z.literal('await-ready') }),
  z.strictObject({ v: z.literal(1), op: z.literal('kill'), process: name }),
  z.strictObject({ v: z.literal(1), op: z.literal('crash'), host: name }),
  z.strictObject({ v: z.literal(1), op: z.literal('partition'), a: name, b: name }),
  z.strictObject({ v: z.literal(1), op: z.literal('isolate'), host: name }),
  z.strictObject({ v: z.literal(1), op: z.literal('heal') }),
  z.strictObject({ v: z.literal(1), op: z.literal('pause'), process: name }),
  /** One process, or every paused one. */
  z.strictObject({ v: z.literal(1), op: z.literal('resume'), process: name.optional() }),
  /** A process, a host's processes (and its link), or every process not running. */
  z.strictObject({ v: z.literal(1), op: z.literal('start'), target: name.optional() }),
  /**
   * A DB member (`db-3`) that is out of the cluster's configuration is killed, its data
   * directory wiped, and started again with `join: true`: a member whose disk was lost, as
   * `agenda cluster member replace` needs it. Refused while the member is in the configuration.
   */
  z.strictObject({ v: z.literal(1), op: z.literal('rejoin'), process: name }),
  /** heal + resume + start everything; does not wait for health (the driver does). */
  z.strictObject({ v: z.literal(1), op: z.literal('restore') }),
  /** Stops every process, removes the network, and the controller exits. */
  z.strictObject({ v: z.literal(1), op: z.literal('down') }),
]);
export type LabRequest = z.infer<typeof LabRequestSchema>;

/** One line the controller writes. */
export type LabReply =
  | { readonly v: 1; readonly progress: string }
  | { readonly v: 1; readonly ok: true; readonly result: unknown }
  | { readonly v: 1; readonly ok: false; readonly error: WireError };

export type ProcessRunState = 'running' | 'paused' | 'starting' | 'exited' | 'not-started';

export interface LabProcessStatus {
  readonly name: string;
  readonly host: string;
  readonly pid: number | null;
  readonly state: ProcessRunState;
  /** For an exited process: its exit code, null when a signal ended it. */
  readonly exitCode?: number | null;
  readonly log: string;
}

export interface LabHostStatus {
  readonly name: string;
  readonly namespace: string;
  readonly address: string;
  readonly linkUp: boolean;
}

export interface LabStatus {
  /** The controller's life: starting the system, ready, or start-up failed. */
  readonly phase: 'starting' | 'ready' | 'failed' | 'stopping';
  readonly startError?: string;
  readonly controllerPid: number;
  readonly dataDir: string;
  readonly vipUrl: string;
  readonly caPath: string;
  /**
   * How to run the CLI as a client, from the client namespace through the VIP (a shell
   * command prefix: append the `agenda` command and its arguments).
   */
  readonly clientCommand: string;
  readonly hosts: readonly LabHostStatus[];
  readonly processes: readonly LabProcessStatus[];
  readonly faults: readonly NetworkFault[];
}

/** Where the controller listens, under the lab's data directory. */
export function controllerSocketPath(dataDir: string): string {
  return join(dataDir, 'controller.sock');
}

/** The controller's process id, written when it starts. */
export function controllerPidPath(dataDir: string): string {
  return join(dataDir, 'controller.pid');
}
