/**
 * Runs one replica of a logic service: `tsx server/services/main.ts --config users-1.json`
 * (format: `ServiceConfigSchema` in server/process-config.ts). It finds the Redis primary in
 * the DB registry (and follows it when the supervisor moves it), consumes its service's
 * request stream in the shared consumer group, calls the DB service, replies, and publishes
 * live updates. Stateless: any replica can die; another takes over its pending requests.
 * With a `gossip` section it joins the membership as `<service>-<instance>`, so gateways know
 * whether any replica of the service is up, and leaves it first thing when told to stop.
 * With `metrics` it serves its process metrics and event-loop delay there (server/metrics),
 * labelled `service="<service>"`, `member="<service>-<instance>"`.
 */
import { parseHostPort } from '../../base/host-port.js';
import { NotificationPublisher } from '../bus/notifications.js';
import { RequestWorker } from '../bus/worker.js';
import { GroupsService } from '../groups/groups-service.js';
import { serveDaemonMetrics, type ServedDaemonMetrics } from '../metrics/endpoint.js';
import { ServiceConfigSchema } from '../process-config.js';
import { StatelessDaemon } from '../stateless-daemon.js';
import { loadSigningKey } from '../users/keys.js';
import { TokenIssuer } from '../users/tokens.js';
import { TokenVerifier } from '../users/token-verifier.js';
import { readTokenPublicKey } from '../users/public-keys.js';
import { WorkerCalendarParser } from '../users/calendar-parser.js';
import { UsersService } from '../users/users-service.js';
import { DeletionSweeper } from '../users/deletion-sweeper.js';
import type { LogicService } from './ports.js';
import { serviceRequestFrom } from './service-handler.js';

/** How often a users replica finishes deleted accounts left unfinished (users/deletion-sweeper.ts). */
const DELETION_SWEEP_INTERVAL_MS = 60_000;

const daemon = new StatelessDaemon({
  program: 'server/services/main.ts',
  schema: ServiceConfigSchema,
  name: (file) => `${file.service}-${file.instance}`,
  logFields: (file) => ({ service: file.service, instance: file.instance }),
});
const { config, file, name, logger, db, connection } = daemon;
const notifications = new NotificationPublisher(connection, logger);

let worker: RequestWorker;
let metrics: ServedDaemonMetrics | null = null;
let calendars: WorkerCalendarParser | null = null;
let sweeper: DeletionSweeper | null = null;
await daemon.run({
  async start() {
    if (file.metrics) {
      metrics = await serveDaemonMetrics({
        identity: { service: file.service, member: name },
        // The schema checked it is host:port.
        listen: parseHostPort(file.metrics) ?? { host: '', port: 0 },
        tls: config.tls,
        logger,
      });
    }
    const deps = {
      database: db,
      publisher: {
        publish: async (to: string, update: unknown) => {
          await notifications.publish(to, update);
        },
      },
      log: logger,
    };
    // The token each request carries is verified again here, with the users service's
    // public key: the actor is taken from it, not from what the bus envelope says.
    const tokens = new TokenVerifier({
      publicKey: await readTokenPublicKey(config.path(file.verificationKey)),
    });
    let service: LogicService;
    if (file.service === 'users') {
      if (!file.signingKey)
        throw new Error('the users service needs "signingKey" (its token-signing private key)');
      // Its worker starts at the replica's first import, not here: most replicas rest most of
      // the time, and a parser loaded in advance held 13 MB at rest (issue 17; the worker's
      // bundle loads in 0.2–0.6 s, which that first import waits).
      calendars = new WorkerCalendarParser();
      const users = new UsersService(deps, {
        tokens: new TokenIssuer(await loadSigningKey(config.path(file.signingKey))),
        calendars,
      });
      // Deleted accounts whose own request ran out of time are finished here.
      sweeper = new DeletionSweeper({
        sweep: (signal) => users.finishDeletions(signal),
        intervalMs: DELETION_SWEEP_INTERVAL_MS,
        log: logger,
      });
      sweeper.start();
      service = users;
    } else {
      service = new GroupsService(deps);
    }
    // Before consuming anything: a bad gossip section stops the replica with nothing claimed.
    if (file.gossip) {
      await daemon.joinGossip(file.gossip, file.service, { instance: String(file.instance) });
    }
    worker = new RequestWorker({
      connection,
      service: file.service,
      consumer: name,
      concurrency: file.concurrency,
      logger,
      handler: async (request, signal) => ({
        ok: true,
        result: await service.handle(await serviceRequestFrom(request, tokens), signal),
      }),
    });
  },
  ready: { service: file.service, instance: file.instance },
  // After leaving gossip: gateways hear of the departure before the pending requests drain.
  async stop() {
    await worker.close();
    await sweeper?.close();
    await calendars?.close();
  },
  closeMetrics: () => metrics?.close(),
});
