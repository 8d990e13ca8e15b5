/**
 * Seeded random runs of DurableStorage on the simulated disk, checked against a model of what
 * must have survived: after every crash, the recovered state must be one the model allows.
 */
import { isDeepStrictEqual } from 'node:util';
import test from 'ava';
import type { Entry, HardState, Snapshot } from '../core/types.js';
import { DurableStorage, type RecoveredState } from './durable-log.js';
import { SimFileSystem, SimPowerCutError } from './sim-fs.js';
import { RecordingLogger, seededRandom } from './test-support.js';

const SEEDS = 300;
const STEPS = 120;
const dir = '/member';
const segmentBytes = 300;

/** What the disk must hold: a synced state plus appends that may or may not have survived. */
interface Model {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** The log after the snapshot as of the last sync. */
  readonly synced: readonly Entry[];
  /** Entries appended since, in write order. */
  readonly pending: readonly Entry[];
}

const snapshotIndex = (model: Model) => model.snapshot?.meta.index ?? 0;

/** `log` (the entries after index `base`) with `entry` written: it replaces its index and all after. */
function write(log: readonly Entry[], base: number, entry: Entry): Entry[] {
  return [...log.slice(0, entry.index - base - 1), entry];
}

/** Every state a crash may leave: the synced log plus any prefix of the pending appends. */
function survivors(model: Model): RecoveredState[] {
  const states: RecoveredState[] = [];
  let log = [...model.synced];
  for (let kept = 0; ; kept++) {
    states.push({ hardState: model.hardState, snapshot: model.snapshot, entries: log });
    const next = model.pending[kept];
    if (next === undefined) return states;
    log = write(log, snapshotIndex(model), next);
  }
}

/** The full log as the running member sees it. */
function current(model: Model): Entry[] {
  return survivors(model).at(-1)?.entries ?? [];
}

/**
 * States after an installSnapshot whose snapshot file became durable but whose reset record did
 * not: the old log is kept after the snapshot only when it holds the snapshot's last entry.
 */
function snapshotOverOldLog(model: Model, snap: Snapshot): RecoveredState[] {
  const base = snapshotIndex(model);
  return survivors(model).map((state) => {
    const atSnapshot = state.entries[snap.meta.index - base - 1];
    const keep = atSnapshot?.term === snap.meta.term;
    return {
      ...state,
      snapshot: snap,
      entries: keep ? state.entries.slice(snap.meta.index - base) : [],
    };
  });
}

type Kind = 'append' | 'sync' | 'hardState' | 'saveSnapshot' | 'installSnapshot' | 'compact';

class Run {
  readonly fs = new SimFileSystem();
  readonly #rng: () => number;
  readonly #seed: number;
  #storage: DurableStorage;
  #model: Model = { hardState: { term: 0, vote: 0 }, snapshot: null, synced: [], pending: [] };
  #term = 1;
  checks = 0;

  constructor(seed: number) {
    this.#seed = seed;
    this.#rng = seededRandom(seed);
    this.#storage = this.#open().storage;
  }

  step(step: number): void {
    const roll = this.#rng();
    if (roll < 0.05) this.#crashAndCheck(step, [this.#model]);
    else if (roll < 0.15) this.#cutPowerDuring(step);
    else this.#operation().run(this.#storage);
  }

  #int(from: number, to: number): number {
    return from + Math.floor(this.#rng() * (to - from + 1));
  }

  #open(): { storage: DurableStorage; recovered: RecoveredState } {
    const storage = new DurableStorage({
      fs: this.fs,
      dir,
      logger: new RecordingLogger(),
      segmentBytes,
    });
    const recovered = storage.load();
    const { hardState, snapshot, entries } = recovered;
    this.#model = { hardState, snapshot, synced: entries, pending: [] };
    return { storage, recovered };
  }

  /** Picks a valid operation and updates the model as if it completed. */
  #operation(): { kind: Kind; run: (storage: DurableStorage) => void } {
    const model = this.#model;
    const base = snapshotIndex(model);
    const log = current(model);
    const last = base + log.length;
    const roll = this.#rng();
    if (roll < 0.45) {
      const overwrite = this.#rng() < 0.2 && last > base;
      const from = overwrite ? this.#int(base + 1, last) : last + 1;
      if (overwrite) this.#term++;
      const batch: Entry[] = [];
      for (let index = from; index < from + this.#int(1, 4); index++) {
        const data = new Uint8Array(this.#int(0, 24)).map(() => this.#int(0, 255));
        batch.push({ index, term: this.#term, type: this.#rng() < 0.1 ? 'conf' : 'normal', data });
      }
      this.#model = { ...model, pending: [...model.pending, ...batch] };
      return { kind: 'append', run: (storage) => storage.append(batch) };
    }
    if (roll < 0.7) {
      this.#model = { ...model, synced: log, pending: [] };
      return { kind: 'sync', run: (storage) => storage.sync() };
    }
    if (roll < 0.75) {
      const hardState = { term: this.#term, vote: this.#int(0, 5) };
      this.#model = { ...model, hardState };
      return { kind: 'hardState', run: (storage) => storage.saveHardState(hardState) };
    }
    if (roll < 0.85 && log.length > 0) {
      // A local snapshot covers applied entries, which the runtime synced before applying.
      const index = this.#int(base + 1, last);
      const snap = this.#snapshot(index, log[index - base - 1]?.term ?? 0);
      this.#model = { ...model, snapshot: snap, synced: log.slice(index - base), pending: [] };
      const run = (storage: DurableStorage) => {
        storage.sync();
        storage.saveSnapshot(snap);
      };
      return { kind: 'saveSnapshot', run };
    }
    if (roll < 0.92) {
      const index = this.#int(base + 1, last + 5);
      const matching = log[index - base - 1];
      const term = matching !== undefined && this.#rng() < 0.5 ? matching.term : ++this.#term;
      const snap = this.#snapshot(index, term);
      this.#model = { ...model, snapshot: snap, synced: [], pending: [] };
      return { kind: 'installSnapshot', run: (storage) => storage.installSnapshot(snap) };
    }
    const index = this.#int(0, base);
    return { kind: 'compact', run: (storage) => storage.compact(index) };
  }

  #snapshot(index: number, term: number): Snapshot {
    const conf = { voters: [1, 2, this.#int(3, 9)], learners: this.#rng() < 0.5 ? [] : [10] };
    return {
      meta: { index, term, conf },
      data: new TextEncoder().encode(`${this.#seed}@${index}`),
    };
  }

  /**
   * Cuts the power after a random number of file-system steps inside one operation, or inside
   * the recovery that follows a crash (recovery repairs the disk as it goes).
   */
  #cutPowerDuring(step: number): void {
    const before = this.#model;
    if (this.#rng() < 0.2) {
      this.fs.crash(this.#rng);
      this.fs.cutPowerAfter(this.#int(0, 4));
      this.#attempt(() => this.#open());
      this.#crashAndCheck(step, [before]);
      return;
    }
    const operation = this.#operation();
    const after = this.#model;
    this.fs.cutPowerAfter(this.#int(0, 8));
    this.#attempt(() => operation.run(this.#storage));
    const halfInstalled =
      operation.kind === 'installSnapshot' && after.snapshot !== null
        ? snapshotOverOldLog(before, after.snapshot)
        : [];
    this.#crashAndCheck(step, [before, after], halfInstalled);
  }

  #attempt(action: () => void): void {
    try {
      action();
    } catch (error) {
      if (!(error instanceof SimPowerCutError)) throw error;
    }
  }

  /** Crashes, recovers, and checks the recovered state is one of those allowed. */
  #crashAndCheck(step: number, models: Model[], extra: RecoveredState[] = []): void {
    this.fs.crash(this.#rng, {
      tornWriteChance: this.#rng(),
      garbageChance: this.#rng() < 0.5 ? 0 : 0.5,
    });
    const allowed = [...models.flatMap(survivors), ...extra];
    const { storage, recovered } = this.#open();
    this.#storage = storage;
    this.checks++;
    if (!allowed.some((state) => isDeepStrictEqual(state, recovered))) {
      throw new Error(
        `seed ${this.#seed} step ${step}: recovered ${describe(recovered)}, allowed:\n` +
          allowed.map(describe).join('\n'),
      );
    }
  }
}

function describe(state: RecoveredState): string {
  const snap =
    state.snapshot === null ? 'none' : `${state.snapshot.meta.index}@${state.snapshot.meta.term}`;
  const log = state.entries.map((e) => `${e.index}@${e.term}`).join(' ');
  return `hs ${state.hardState.term}/${state.hardState.vote} snap ${snap} log [${log}]`;
}

test('random appends, syncs, snapshots, compactions and crashes never lose what was durable', (t) => {
  let checks = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const run = new Run(seed);
    for (let step = 0; step < STEPS; step++) run.step(step);
    checks += run.checks;
  }
  t.log(`${checks} recoveries checked over ${SEEDS} seeds`);
  t.true(checks > SEEDS * 5);
});
