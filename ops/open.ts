/**
 * Which system an operator command watches: `npm start`'s (the default), the namespace lab
 * (`--lab`), or any system described by a file (`--topology observer.json`). One place, so
 * `agenda cluster status`, `agenda dashboard`, `agenda cluster member …` and
 * `npm run dashboard` agree on where each system keeps its data and what a missing one is
 * told.
 *
 * Every system describes itself: `npm start`, the lab and the Multipass VMs write
 * `observer.json` (`ops/description.ts`) into their data directory when they start, so the
 * operator side reads a description and knows no topology of its own.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidInput, Unavailable } from '../contract/errors.js';
import type { ClusterDescription } from './description.js';
import { loadClusterDescription } from './description.js';
import { ClusterObserver } from './observer.js';

/** The description a system writes into its data directory when it starts. */
export const DESCRIPTION_FILE = 'observer.json';

/** Where a system with data in `dataDir` describes itself. */
export function descriptionFile(dataDir: string): string {
  return join(dataDir, DESCRIPTION_FILE);
}

/** `--data-dir`, else `AGENDA_LAB_DIR`, else `./.agenda-lab`: where the lab keeps its data. */
export function labDataDir(flag?: string): string {
  return resolve(flag ?? process.env.AGENDA_LAB_DIR ?? '.agenda-lab');
}

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
 * The description of the chosen system. Throws {@link InvalidInput} when its data is not there
 * (never started, or another directory meant: outside attack P4, it was exit 5, "service
 * unavailable") and for a description file that does not validate.
 */
export function describeChosenTopology(choice: TopologyChoice): ClusterDescription {
  switch (choice.kind) {
    case 'local':
      return loadDescription(
        descriptionFile(choice.dataDir),
        `no Agenda data in ${choice.dataDir} (start the system with npm start, or point at its data directory with --data-dir or AGENDA_DATA_DIR)`,
        'data-dir',
      );
    case 'lab':
      return loadDescription(
        descriptionFile(choice.dataDir),
        `no lab data in ${choice.dataDir} (bring the lab up with npm run lab -- up, or point at its data directory with --data-dir or AGENDA_LAB_DIR)`,
        'data-dir',
      );
    case 'file': {
      const path = resolve(choice.path);
      return loadDescription(path, `no topology description at ${path}`, 'topology');
    }
  }
}

/**
 * The description in `path`; InvalidInput (`missing`, naming the flag `field`) when there is
 * none: the command was pointed where no system is (exit 1, a usage error), which no retry
 * mends; a system that is there but does not answer is Unavailable.
 */
function loadDescription(path: string, missing: string, field: string): ClusterDescription {
  if (!existsSync(path)) throw new InvalidInput(missing, { field });
  try {
    return loadClusterDescription(path);
  } catch (err) {
    throw new InvalidInput((err as Error).message);
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
