/**
 * The start-up and shutdown the stateless daemons share (a gateway, a users or groups
 * replica): read `--config` against the daemon's schema (or exit 1 with the reason), log JSON
 * lines as `{ service, instance }`, reach the bus through the DB registry, join gossip when
 * the config has a `gossip` section, and then, around the daemon's own parts: exit 1 with
 * "failed to start" when they cannot start, print the readiness line, and on SIGTERM/SIGINT
 * leave gossip first (the others hear of the departure before anything drains), stop the
 * parts, close the bus and the DB client, and the metrics last. The generic pieces are
 * base/daemon.ts's; what is the daemons' own stays in their `main.ts`. For entry points
 * only, like base/daemon.ts: it exits the process.
 */
import type { z } from 'zod';
import { announceReady, exitOnStartFailure, loadOrExit, stopOnSignals } from '../base/daemon.js';
import { jsonLogger, type Logger } from '../base/log.js';
import type { BusConnection } from './bus/connection.js';
import { connectDaemonBus } from './bus/daemon-bus.js';
import type { DbClient } from './db/client.js';
import type { GossipConfig } from './gossip/config.js';
import { joinGossip, type GossipIdentity } from './gossip/join.js';
import type { GossipNode } from './gossip/node.js';
import { loadProcessConfig, type Loaded } from './process-config.js';

/** The config file's fields this module reads; the daemon's schema has the rest. */
export interface StatelessDaemonFile {
  readonly tls: { ca: string; cert: string; key: string };
  readonly db: Record<string, string>;
  readonly gossip?: GossipConfig;
}

export interface StatelessDaemonOptions<F extends StatelessDaemonFile> {
  /** Named in the usage line when `--config` is missing. */
  readonly program: string;
  readonly schema: z.ZodType<F>;
  /** Its name on the bus and in gossip, e.g. `gateway-1`, `users-2`. */
  name(file: F): string;
  /** The fields every log line carries. */
  logFields(file: F): { readonly service: string; readonly instance: number };
}

/** How the daemon's own parts start and stop, for {@link StatelessDaemon.run}. */
export interface StatelessDaemonRun {
  /** Builds and starts the parts; a throw exits 1 with a "failed to start" line. */
  start(): Promise<void>;
  /** The readiness line's fields (`event` and `pid` come first). */
  readonly ready: Record<string, unknown>;
  /** Stops the parts, after gossip was left and before the bus and the DB client close. */
  stop(): Promise<void>;
  /** Closes the daemon's metrics, once everything else is closed. */
  closeMetrics(): unknown;
}

/** A stateless daemon's config, logger, bus and gossip membership. */
export class StatelessDaemon<F extends StatelessDaemonFile> {
  readonly config: Loaded<F>;
  readonly file: F;
  readonly name: string;
  readonly logger: Logger;
  readonly db: DbClient;
  readonly connection: BusConnection;
  private gossip: GossipNode | null = null;

  /** Loads the config named by `--config` (exiting 1 if it cannot) and connects to the bus. */
  constructor(options: StatelessDaemonOptions<F>) {
    this.config = loadOrExit(options.program, (path) => loadProcessConfig(path, options.schema));
    this.file = this.config.file;
    this.name = options.name(this.file);
    this.logger = jsonLogger(options.logFields(this.file));
    const bus = connectDaemonBus(this.config, this.name, this.logger);
    this.db = bus.db;
    this.connection = bus.connection;
  }

  /**
   * Joins gossip as this daemon, with the role and metadata given; the node is left first
   * thing when the daemon stops.
   */
  async joinGossip(
    config: GossipConfig,
    role: GossipIdentity['role'],
    meta: GossipIdentity['meta'],
  ): Promise<GossipNode> {
    this.gossip = await joinGossip(
      config,
      this.config.path,
      { id: this.name, role, meta },
      this.config.tls,
      this.logger,
    );
    return this.gossip;
  }

  /**
   * Starts the daemon's parts, announces readiness, and stops everything once on
   * SIGTERM/SIGINT (exit 0). Exits 1 if the parts cannot start.
   */
  async run(run: StatelessDaemonRun): Promise<void> {
    try {
      await run.start();
    } catch (err) {
      exitOnStartFailure(this.logger, err);
    }
    announceReady(run.ready);
    stopOnSignals(this.logger, async () => {
      await this.gossip?.close();
      await run.stop();
      await this.connection.close();
      await this.db.close();
      await run.closeMetrics();
    });
  }
}
