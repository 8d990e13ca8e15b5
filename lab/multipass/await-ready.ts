/**
 * `node dist/lab/multipass/await-ready.js --log <file> --pid <pid> --program node|redis
 * [--timeout-ms 60000]`: a systemd unit's `ExecStartPost=` (lab/multipass/units.ts). Exits 0
 * once the daemon `pid` wrote its ready line to `log` (readiness.ts), 1 with the reason when
 * it exited first or took longer than the timeout — then systemd fails the start, as the
 * lab's runner fails a process that is not ready within its 60 s.
 */
import { parseArgs } from 'node:util';
import { awaitReady } from './readiness.js';

const { values } = parseArgs({
  options: {
    log: { type: 'string' },
    pid: { type: 'string' },
    program: { type: 'string' },
    'timeout-ms': { type: 'string', default: '60000' },
  },
});
const pid = Number(values.pid);
const timeoutMs = Number(values['timeout-ms']);
const { log, program } = values;
if (
  typeof log !== 'string' ||
  !Number.isInteger(pid) ||
  pid <= 0 ||
  (program !== 'node' && program !== 'redis') ||
  !Number.isInteger(timeoutMs) ||
  timeoutMs <= 0
) {
  process.stderr.write(
    'usage: await-ready --log <file> --pid <pid> --program node|redis [--timeout-ms <ms>]\n',
  );
  process.exit(1);
}
try {
  await awaitReady({ log, pid, program, timeoutMs });
} catch (error) {
  process.stderr.write(`await-ready: ${(error as Error).message}\n`);
  process.exit(1);
}
