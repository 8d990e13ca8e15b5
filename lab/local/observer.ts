/**
 * What the operator observer watches in the `npm start` topology: the DB members, the Redis
 * pair, the supervisor lease and gossip, all on loopback, with the operator certificate from
 * the data directory. `npm start` runs no VIP (clients list both gateways instead), so that
 * panel says "not observed".
 */
import type { ClusterDescription } from '../../ops/description.js';
import { describeTopology } from '../observer/topology.js';
import { HOST, LOCAL_TOPOLOGY, type LocalLayout } from './topology.js';

/** The description of the topology `npm start` runs from `layout`'s data directory. */
export function localClusterDescription(layout: LocalLayout): ClusterDescription {
  return describeTopology(LOCAL_TOPOLOGY, layout, { name: 'local', observerAddress: HOST });
}
