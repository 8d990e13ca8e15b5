/**
 * A CPU profile of a running daemon's main thread for a window an operator chooses, the way
 * etcd's `--enable-pprof` or Go's `/debug/pprof/profile?seconds=` give one: start the daemon
 * with `AGENDA_PROFILE_DIR=<dir>`, then `kill -USR2 <pid>`; the next
 * `AGENDA_PROFILE_SECONDS` seconds (10 unless set) are written to
 * `<dir>/<pid>-<time>.cpuprofile` (open it in Chrome DevTools or VS Code). Unlike
 * `--cpu-prof`, which covers the whole life of the process, this leaves out start-up and
 * costs nothing until asked. Without `AGENDA_PROFILE_DIR`, SIGUSR2 keeps Node's default.
 *
 * With `AGENDA_PROFILE_KIND=allocations` the window records where memory is allocated
 * instead (V8's sampling heap profiler, every 32 KiB on average, objects collected since
 * included): `<dir>/<pid>-<time>.heapprofile`, for what makes a heap grow while the daemon
 * seems idle.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import type { Logger } from './log.js';

export function profileOnSignal(logger: Logger, env = process.env): void {
  const dir = env.AGENDA_PROFILE_DIR;
  if (!dir) return;
  const seconds = Number(env.AGENDA_PROFILE_SECONDS ?? 10);
  if (!(seconds > 0 && seconds <= 600)) {
    logger.warn(
      'AGENDA_PROFILE_SECONDS must be a number of seconds in (0, 600]; profiling is off',
      {
        value: env.AGENDA_PROFILE_SECONDS,
      },
    );
    return;
  }
  const kind = env.AGENDA_PROFILE_KIND ?? 'cpu';
  if (kind !== 'cpu' && kind !== 'allocations') {
    logger.warn('AGENDA_PROFILE_KIND must be cpu or allocations; profiling is off', {
      value: kind,
    });
    return;
  }
  let running = false;
  process.on('SIGUSR2', () => {
    if (running) return;
    running = true;
    const name = `${process.pid}-${Date.now()}`;
    void (
      kind === 'cpu'
        ? profileFor(seconds, join(dir, `${name}.cpuprofile`))
        : allocationsFor(seconds, join(dir, `${name}.heapprofile`))
    )
      .then((file) => logger.info('profile written', { file, seconds, kind }))
      .catch((err: unknown) => logger.warn('cpu profile failed', { error: (err as Error).message }))
      .finally(() => (running = false));
  });
}

/** Runs `start`, waits `seconds`, writes what `stop` gives to `file`, in one inspector session. */
async function recordFor(
  seconds: number,
  file: string,
  start: (session: Session) => Promise<unknown>,
  stop: (session: Session) => Promise<{ profile: unknown }>,
): Promise<string> {
  const session = new Session();
  session.connect();
  try {
    await start(session);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const { profile } = await stop(session);
    await writeFile(file, JSON.stringify(profile));
    return file;
  } finally {
    session.disconnect();
  }
}

function profileFor(seconds: number, file: string): Promise<string> {
  return recordFor(
    seconds,
    file,
    async (session) => {
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    },
    (session) => session.post('Profiler.stop'),
  );
}

function allocationsFor(seconds: number, file: string): Promise<string> {
  return recordFor(
    seconds,
    file,
    async (session) => {
      await session.post('HeapProfiler.enable');
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 32 * 1024,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    },
    (session) => session.post('HeapProfiler.stopSampling'),
  );
}
