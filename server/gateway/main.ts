/**
 * Runs one API gateway: `tsx server/gateway/main.ts --config gateway-1.json` (format:
 * `GatewayConfigSchema` in server/process-config.ts). It serves the v1 API over HTTPS,
 * verifies tokens with the users service's public key, and reaches the logic services
 * through the Redis bus, whose primary it finds (and follows) in the DB registry.
 *
 * With a `gossip` section it joins the membership as `gateway-<id>` (its public URL in the
 * metadata) and reads the view to refuse at once (503, with what gossip knows) requests for
 * a service none of whose replicas is up; see `GossipView` for when it has no opinion (the
 * first three protocol periods after the first contact, a role never seen, a view that looks
 * cut off). `/readyz` and `/metrics` show the view too.
 *
 * Abuse limits (registrations and logins per address, failed logins per username, requests
 * and live streams per user) are counted in the bus's Redis, shared by both gateways.
 *
 * `/metrics` (a client certificate from the cluster CA required) serves the gateway's
 * counters with the process metrics and event-loop delay of every daemon
 * (server/metrics/daemon-metrics.ts), labelled `service="gateway"`, `member="gateway-<id>"`.
 */
import { parseHostPort } from '../../base/host-port.js';
import { NotificationSubscriber } from '../bus/notifications.js';
import { Requester } from '../bus/requester.js';
import { DEFAULT_PERIOD_MS } from '../gossip/join.js';
import { GossipView } from '../gossip/view.js';
import { SharedLimits } from '../limits/shared-limits.js';
import { DaemonMetrics } from '../metrics/daemon-metrics.js';
import { GatewayConfigSchema, type AbuseLimitsConfig } from '../process-config.js';
import { StatelessDaemon } from '../stateless-daemon.js';
import type { AbuseLimitRules } from './abuse-limits.js';
import { Gateway } from './gateway.js';
import { busDispatcher } from './service-calls.js';
import { readTokenPublicKey } from '../users/public-keys.js';

const daemon = new StatelessDaemon({
  program: 'server/gateway/main.ts',
  schema: GatewayConfigSchema,
  name: (file) => `gateway-${file.id}`,
  logFields: (file) => ({ service: 'gateway', instance: file.id }),
});
const { config, file, name, logger, connection } = daemon;
const listen = parseHostPort(file.listen);
const metrics = new DaemonMetrics({ service: 'gateway', member: name });

const requester = new Requester({ connection, gatewayId: name, logger, relayResults: true });
const subscriber = new NotificationSubscriber(connection, logger);
const notifications = {
  subscribe: subscriber.subscribe.bind(subscriber),
  // Pub/sub delivers at most once: after a re-subscription, clients must re-read.
  onGap: (listener: () => void) => connection.onResubscribed(listener),
};

const dispatcher = busDispatcher(requester);

let gateway: Gateway;
await daemon.run({
  async start() {
    if (!listen) throw new Error(`bad listen address ${file.listen}`);
    let replicas: GossipView | null = null;
    if (file.gossip) {
      const gossip = await daemon.joinGossip(file.gossip, 'gateway', {
        url: file.publicUrl ?? `https://${file.listen}`,
      });
      replicas = new GossipView(gossip, {
        settleMs: 3 * (file.gossip.periodMs ?? DEFAULT_PERIOD_MS),
      });
    }
    await requester.start();
    gateway = new Gateway({
      host: listen.host,
      port: listen.port,
      tls: {
        cert: config.tls.cert.toString(),
        key: config.tls.key.toString(),
        // Client certificates from the cluster CA make an operator (`/metrics`).
        ca: config.tls.ca.toString(),
      },
      registry: metrics.registry,
      tokens: { publicKey: await readTokenPublicKey(config.path(file.verificationKey)) },
      dispatcher,
      notifications,
      // Ready when the bus has a primary to send to; the services' liveness shows in answers.
      readiness: () =>
        Promise.resolve(
          connection.primary
            ? { ready: true }
            : { ready: false, reason: 'no Redis primary is known yet' },
        ),
      // The abuse limits count in Redis, so both gateways share them; within a short time
      // budget, else in this gateway's memory (a Redis failover never stalls a request).
      sharedLimits: new SharedLimits({
        redis: (signal) => connection.commands(signal),
        logger,
      }),
      ...(file.publicUrl ? { publicUrl: file.publicUrl } : {}),
      ...(file.abuseLimits ? { abuseLimits: definedRules(file.abuseLimits) } : {}),
      ...(replicas ? { replicas, answerGraceMs: file.gossip?.periodMs ?? DEFAULT_PERIOD_MS } : {}),
      logger,
    });
    await gateway.start();
  },
  ready: { service: 'gateway', instance: file.id, url: `https://${file.listen}` },
  // After leaving gossip: the others hear of the departure at once; the frozen view still
  // serves the drain.
  async stop() {
    await gateway.close();
    await requester.close();
  },
  closeMetrics: () => metrics.close(),
});

/** The overrides a config file sets (absent ones keep the defaults). */
function definedRules(config: AbuseLimitsConfig): Partial<AbuseLimitRules> {
  return Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined));
}
