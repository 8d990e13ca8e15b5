/**
 * What operator tools need to find the local topology: its data directory (the lab CA and
 * the operator certificate live there) and an observer over it.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Unavailable } from '../../server/errors.js';
import { LocalClusterObserver } from './observer.js';
import { LocalLayout } from './topology.js';

/** `--data-dir`, else `AGENDA_DATA_DIR`, else `./.agenda` (as `npm start` uses). */
export function localDataDir(flag: string | undefined): string {
  return resolve(flag ?? process.env.AGENDA_DATA_DIR ?? '.agenda');
}

/** An observer of the topology `npm start` runs from `dataDir`. */
export function observeLocalCluster(dataDir: string): LocalClusterObserver {
  const layout = new LocalLayout(dataDir);
  if (!existsSync(layout.tls('operator').cert)) {
    throw new Unavailable(
      `no Agenda data in ${dataDir} (start the system with npm start, or pass --data-dir)`,
    );
  }
  return new LocalClusterObserver(layout);
}
