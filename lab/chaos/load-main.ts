/**
 * The chaos load as a process: `node --import tsx lab/chaos/load-main.ts --spec '<json>'`
 * (the {@link LoadSpec}). The scenario runner starts it inside the lab's client namespace,
 * so the load reaches the system the way a user does, through the VIP. It speaks the line
 * protocol of `protocol.ts`: `ready` once users are set up, one `op` line per finished
 * operation, `stopped` after a `stop` command, `readback` after a `readback` command (then
 * it exits), `error` when it cannot go on (then it exits 1). A closed stdin or SIGTERM (the
 * runner went away) stops it at once.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ChaosLoad } from './load.js';
import { LoadCommand, LoadSpec, parseLine, type LoadLine } from './protocol.js';

function write(line: LoadLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function fail(message: string): void {
  write({ type: 'error', message });
  process.exitCode = 1;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function main(): Promise<void> {
  let spec: LoadSpec;
  try {
    const { values } = parseArgs({ options: { spec: { type: 'string' } }, strict: true });
    if (values.spec === undefined) throw new Error('--spec <json> is required');
    spec = parseLine(LoadSpec, values.spec);
  } catch (error) {
    fail(`bad arguments: ${messageOf(error)}`);
    return;
  }

  let load: ChaosLoad;
  try {
    load = new ChaosLoad(spec, (op) => write({ type: 'op', op }));
  } catch (error) {
    fail(messageOf(error));
    return;
  }
  const input = createInterface({ input: process.stdin });
  let finished = false;
  const finish = async (): Promise<void> => {
    if (finished) return;
    finished = true;
    input.close();
    await load.close();
  };
  process.once('SIGTERM', () => void finish());

  // Commands run one after another, and only once the load has started.
  const started = load.start().then(
    (at) => write({ type: 'ready', at, users: load.users }),
    async (error: unknown) => {
      fail(messageOf(error));
      await finish();
    },
  );
  let queue = started;
  input.on('line', (line) => {
    if (line.trim() === '') return;
    queue = queue.then(async () => {
      if (finished) return;
      try {
        const { cmd } = parseLine(LoadCommand, line);
        if (cmd === 'stop') {
          write({ type: 'stopped', at: await load.stop() });
        } else {
          await load.stop();
          write({ type: 'readback', agendas: await load.readBack() });
          await finish();
        }
      } catch (error) {
        fail(messageOf(error));
        await finish();
      }
    });
  });
  input.once('close', () => {
    queue = queue.then(finish);
  });
  await started;
}

await main();
