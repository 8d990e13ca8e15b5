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
import { jsonLogger } from '../../base/log.js';
import { announceReady, exitOnStartFailure, loadOrExit, stopOnSignals } from '../../base/daemon.js';
import { parseHostPort } from '../../base/host-port.js';
import { connectDaemonBus } from '../bus/daemon-bus.js';
import { NotificationPublisher } from '../bus/notifications.js';
import { RequestWorker } from '../bus/worker.js';
import type { GossipNode } from '../gossip/node.js';
import { joinGossip } from '../gossip/join.js';
import { GroupsService } from '../groups/groups-service.js';
import { serveDaemonMetrics, type ServedDaemonMetrics } from '../metrics/endpoint.js';
import { loadProcessConfig, ServiceConfigSchema } from '../process-config.js';
import { loadSigningKey } from '../users/keys.js';
import { TokenIssuer } from '../users/tokens.js';
import { WorkerCalendarParser } from '../users/calendar-parser.js';
import { UsersService } from '../users/users-service.js';
import type { LogicService } from './ports.js';

const config = loadOrExit('server/services/main.ts', (path) =>
  loadProcessConfig(path, ServiceConfigSchema),
);
const { file } = config;
const name = `${file.service}-${file.instance}`;
const logger = jsonLogger({ service: file.service, instance: file.instance });

const { db, connection } = connectDaemonBus(config, name, logger);
const notifications = new NotificationPublisher(connection, logger);

let worker: RequestWorker;
let gossip: GossipNode | null = null;
let metrics: ServedDaemonMetrics | null = null;
let calendars: WorkerCalendarParser | null = null;
try {
  if (file.metrics) {
    metrics = await serveDaemonMetrics({
      identity: { service: file.service, member: name },
      // The schema checked it is host:port.
      listen: parseHostPort(file.metrics) ?? { host: '', port: 0 },
      tls: config.tls,
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
  let service: LogicService;
  if (file.service === 'users') {
    if (!file.signingKey)
      throw new Error('the users service needs "signingKey" (its token-signing private key)');
    calendars = new WorkerCalendarParser();
    calendars.start();
    service = new UsersService(deps, {
      tokens: new TokenIssuer(await loadSigningKey(config.path(file.signingKey))),
      calendars,
    });
  } else {
    service = new GroupsService(deps);
  }
  // Before consuming anything: a bad gossip section stops the replica with nothing claimed.
  if (file.gossip) {
    gossip = await joinGossip(
      file.gossip,
      config.path,
      { id: name, role: file.service, meta: { instance: String(file.instance) } },
      logger,
    );
  }
  worker = new RequestWorker({
    connection,
    service: file.service,
    consumer: name,
    concurrency: file.concurrency,
    logger,
    handler: async (request, signal) => ({
      ok: true,
      result: await service.handle(
        { id: request.id, actor: request.actor, op: request.op, deadline: request.deadline },
        signal,
      ),
    }),
  });
} catch (err) {
  exitOnStartFailure(logger, err);
}
announceReady({ service: file.service, instance: file.instance });
stopOnSignals(logger, async () => {
  // Gateways hear of the departure before the pending requests drain.
  await gossip?.close();
  await worker.close();
  await calendars?.close();
  await connection.close();
  await db.close();
  await metrics?.close();
});
