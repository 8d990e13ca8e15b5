/**
 * How fast this machine is right now, on the work that dominates a create: deciding and
 * applying `event.create` commands in a calendar store (what the DB leader's store does for
 * every event; the commands are version-1 entries, which the store decides at apply time).
 * Since decisions replicate as effects (server/store/README.md) this costs more per event
 * than the figures of earlier runs, which applied commands by running them: compare runs of
 * the same code only.
 *
 * The benchmark runs this before and after its load, as a reference for comparing its
 * figures with those of another machine or another hour. It is one process on an idle
 * machine, so it misses part of what a shared VM's drift does to sixteen busy processes:
 * runs whose reference differed by a few percent have measured 1.3 and 1.6 ms of CPU per
 * create with the same code.
 */
import { entries, openStore, StoreClient } from '../../server/store/test-support.js';
import type { StoreCommand } from '../../server/store/protocol.js';

const USERS = 64;
const WARM_UP = 2_000;
const TIMED = 4_000;
const BATCH = 8;
const HOUR = 3_600_000;

/** Microseconds per event applied to an in-memory store, after a JIT warm-up (about 0.5 s). */
export async function storeApplyMicros(): Promise<number> {
  const store = await openStore();
  try {
    // The store tests' client builds the commands (request ids, fresh ids, a clock).
    const client = new StoreClient(store, 'calibrate');
    let lastIndex = 0;
    const logged = (commands: StoreCommand[]) => {
      const numbered = entries(commands, lastIndex + 1);
      lastIndex += commands.length;
      return numbered;
    };
    store.apply(
      logged(
        Array.from({ length: USERS }, (_, u) =>
          client.command(null, {
            type: 'user.register',
            username: `user${u}`,
            passwordHash: `scrypt$x$${u}`,
          }),
        ),
      ),
    );
    const creates = logged(
      Array.from({ length: WARM_UP + TIMED }, (_, i) => {
        const user = i % USERS;
        const start = Date.UTC(2031, 0, 6) + Math.floor(i / USERS) * HOUR + user * 60_000;
        return client.command(`user${user}`, {
          type: 'event.create',
          draft: {
            title: `calibration ${i}`,
            start,
            end: start + HOUR / 2,
            visibility: 'busy',
            description: '',
            location: '',
          },
          allowConflict: true,
        });
      }),
    );
    const applyAll = (from: number, to: number) => {
      for (let i = from; i < to; i += BATCH) store.apply(creates.slice(i, Math.min(i + BATCH, to)));
    };
    applyAll(0, WARM_UP);
    const started = performance.now();
    applyAll(WARM_UP, WARM_UP + TIMED);
    return Math.round((10 * (1000 * (performance.now() - started))) / TIMED) / 10;
  } finally {
    store.close();
  }
}
