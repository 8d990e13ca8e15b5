/**
 * Which system an operator command watches: `npm start`'s (the default), the namespace lab
 * (`--lab`), or any system described by a file (`--topology observer.json`, as Multipass
 * writes). One place, so `agenda cluster status`, `agenda dashboard` and `npm run dashboard`
 * agree on where each system keeps its data and what a missing one is told.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidInput, Unavailable } from '../../contract/errors.js';
import { DataLayout } from '../layout.js';
import { localClusterDescription } from '../local/observer.js';
import { BRIDGE_ADDRESS, LAB_TOPOLOGY, labDataDir } from '../topology.js';
import type { ClusterDescription } from '../../ops/description.js';
import { loadClusterDescription } from '../../ops/description.js';
import { runDashboard } from '../../tui/run.js';
import { ClusterObserver } from '../../ops/observer.js';
import { describeTopology } from './topology.js';

export type TopologyChoice =
  /** `npm start`: data in `dataDir` (`./.agenda` by default). */
  | { readonly kind: 'local'; readonly dataDir: string }
  /** The three-namespace lab: data in `dataDir` (`./.agenda-lab` by default). */
  | { readonly kind: 'lab'; readonly dataDir: string }
  /** A description file (`ops/description.ts`), e.g. Multipass's `observer.json`. */
  | { readonly kind: 'file'; readonly path: string };

/** What an operator command was told on its command line. */
export interface TopologyFlags {
  readonly lab?: boolean;
  readonly topology?: string;
  readonly dataDir?: string;
}

/**
 * The system the flags name: `topology` (a description file) wins, then `lab` (its data in
 * `dataDir`, else `AGENDA_LAB_DIR`, else `./.agenda-lab`), else `npm start`'s (`dataDir`, else
 * `AGENDA_DATA_DIR`, else `./.agenda`).
 */
export function chooseTopology(flags: TopologyFlags): TopologyChoice {
  if (flags.topology !== undefined) {
    if (flags.lab || flags.dataDir !== undefined) {
      throw new InvalidInput(
        '--topology names the whole system: use it without --lab or --data-dir',
      );
    }
    return { kind: 'file', path: flags.topology };
  }
  if (flags.lab) return { kind: 'lab', dataDir: labDataDir(flags.dataDir) };
  return {
    kind: 'local',
    dataDir: resolve(flags.dataDir ?? process.env.AGENDA_DATA_DIR ?? '.agenda'),
  };
}

/**
 * The description of the chosen system. Throws {@link Unavailable} when its data is not there
 * (never started) and {@link InvalidInput} for a description file that does not validate.
 */
export function describeChosenTopology(choice: TopologyChoice): ClusterDescription {
  switch (choice.kind) {
    case 'local': {
      const layout = new DataLayout(choice.dataDir);
      requireOperatorCertificate(
        layout,
        `no Agenda data in ${choice.dataDir} (start the system with npm start, or pass --data-dir)`,
      );
      return localClusterDescription(layout);
    }
    case 'lab': {
      const layout = new DataLayout(choice.dataDir);
      requireOperatorCertificate(
        layout,
        `no lab data in ${choice.dataDir} (bring the lab up with npm run lab -- up, or pass --data-dir)`,
      );
      // The operator runs in the root namespace, which reaches the hosts through the bridge.
      return describeTopology(LAB_TOPOLOGY, layout, {
        name: 'lab',
        observerAddress: BRIDGE_ADDRESS,
      });
    }
    case 'file': {
      const path = resolve(choice.path);
      if (!existsSync(path)) throw new Unavailable(`no topology description at ${path}`);
      try {
        return loadClusterDescription(path);
      } catch (err) {
        throw new InvalidInput((err as Error).message);
      }
    }
  }
}

/** An observer of the chosen system; see {@link describeChosenTopology} for what it throws. */
export function openClusterObserver(
  choice: TopologyChoice,
  options: { readonly timeoutMs?: number } = {},
): ClusterObserver {
  const description = describeChosenTopology(choice);
  try {
    return new ClusterObserver(
      options.timeoutMs === undefined
        ? description
        : { ...description, timeoutMs: options.timeoutMs },
    );
  } catch (err) {
    throw new Unavailable((err as Error).message, { cause: err });
  }
}

/**
 * The live dashboard over `choice` in this terminal, until `q`, Ctrl-C, SIGTERM or SIGHUP;
 * then the observer leaves gossip cleanly instead of lingering in everyone's view as dead.
 */
export async function watchInTerminal(choice: TopologyChoice): Promise<void> {
  const observer = openClusterObserver(choice);
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  // `on`, not `once`: Ink's exit hook kills the process again with the signal when no other
  // listener remains at that moment, which would cut the clean leave short.
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
  try {
    await runDashboard(observer, { signal: controller.signal });
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGHUP', stop);
    await observer.close();
  }
}

function requireOperatorCertificate(layout: DataLayout, message: string): void {
  if (!existsSync(layout.tls('operator').cert)) throw new Unavailable(message);
}
