/**
 * How a stateless daemon (a users or groups replica, a gateway) reaches the bus: a client of
 * the DB members, from whose registry it learns the Redis primary, and a bus connection that
 * follows that primary. One place, so the gateway and the services connect the same way.
 */
import type { Logger } from '../../base/log.js';
import { DbClient } from '../db/client.js';
import type { Loaded } from '../process-config.js';
import { BusConnection } from './connection.js';
import { RegistryPrimarySource } from './primary-source.js';

export interface DaemonBus {
  readonly db: DbClient;
  readonly connection: BusConnection;
}

/** The DB client and the bus connection of the daemon `name`; close both when stopping. */
export function connectDaemonBus(
  config: Pick<Loaded<unknown>, 'db' | 'tls' | 'redisAuth'>,
  name: string,
  logger: Logger,
): DaemonBus {
  const db = new DbClient({ members: config.db, tls: config.tls, logger });
  const connection = new BusConnection({
    primary: new RegistryPrimarySource(db),
    tls: config.tls,
    ...(config.redisAuth === undefined ? {} : { auth: config.redisAuth }),
    name,
    logger,
  });
  return { db, connection };
}
