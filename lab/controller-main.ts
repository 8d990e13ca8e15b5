/**
 * The lab controller daemon: `node --import tsx lab/controller-main.ts --data-dir <dir>`,
 * started detached by `npm run lab -- up`. It serves {@link LabController} on the Unix
 * socket `<dir>/controller.sock` (protocol: `lab/protocol.ts`), one request per connection,
 * and exits after `down` — or after SIGTERM/SIGINT, which take the lab down first so that
 * no process or namespace outlives it.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { Internal, InvalidInput, isAgendaError } from '../contract/errors.js';
import { LabController } from './controller.js';
import { DataLayout } from './layout.js';
import {
  controllerPidPath,
  controllerSocketPath,
  LabRequestSchema,
  type LabReply,
} from './protocol.js';
import { labDataDir } from './topology.js';

const { values } = parseArgs({ options: { 'data-dir': { type: 'string' } } });
const dataDir = labDataDir(values['data-dir']);
new DataLayout(dataDir).createPrivately();
const socketPath = controllerSocketPath(dataDir);
rmSync(socketPath, { force: true });
writeFileSync(controllerPidPath(dataDir), `${process.pid}\n`);

const controller = new LabController(dataDir);
let exiting = false;
const exit = async (code: number) => {
  if (exiting) return;
  exiting = true;
  await controller.down().catch((err: unknown) => {
    process.stderr.write(`taking the lab down failed: ${(err as Error).message}\n`);
  });
  server.close();
  rmSync(socketPath, { force: true });
  rmSync(controllerPidPath(dataDir), { force: true });
  process.exit(code);
};

const server = createServer((socket) => serve(socket));
server.listen(socketPath);
process.on('SIGTERM', () => void exit(0));
process.on('SIGINT', () => void exit(0));

function serve(socket: Socket): void {
  let buffered = '';
  let handled = false;
  const send = (reply: LabReply) => {
    if (!socket.destroyed) socket.write(JSON.stringify(reply) + '\n');
  };
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    if (handled) return;
    buffered += chunk.toString();
    if (buffered.length > 64 * 1024) {
      handled = true;
      send({ v: 1, ok: false, error: new InvalidInput('request too long').toWire() });
      socket.end();
      return;
    }
    const newline = buffered.indexOf('\n');
    if (newline < 0) return;
    handled = true;
    void answer(buffered.slice(0, newline), send).finally(() => socket.end());
  });
}

async function answer(line: string, send: (reply: LabReply) => void): Promise<void> {
  let request;
  try {
    const parsed = LabRequestSchema.safeParse(JSON.parse(line));
    if (!parsed.success) throw new InvalidInput(`bad request: ${parsed.error.issues[0]?.message}`);
    request = parsed.data;
  } catch (err) {
    const error = err instanceof InvalidInput ? err : new InvalidInput('the request is not JSON');
    send({ v: 1, ok: false, error: error.toWire() });
    return;
  }
  // Requests other than the frequent status are logged, with their progress and how long they
  // took: when one is slow, controller.log says which step it was on.
  const logged = request.op !== 'status';
  const began = Date.now();
  const trace = (event: string, fields: Record<string, unknown> = {}) => {
    if (!logged) return;
    const line = { time: new Date().toISOString(), op: request.op, event, ...fields };
    process.stdout.write(JSON.stringify(line) + '\n');
  };
  trace('request', { request });
  try {
    const result = await controller.handle(request, (progress) => {
      trace('progress', { progress });
      send({ v: 1, progress });
    });
    trace('done', { ms: Date.now() - began });
    send({ v: 1, ok: true, result });
  } catch (err) {
    // The operator is the one asking: the lab's own failures are told as they are.
    const error = isAgendaError(err) ? err : new Internal((err as Error).message);
    trace('failed', { ms: Date.now() - began, error: error.message });
    send({ v: 1, ok: false, error: error.toWire() });
  }
  if (request.op === 'down') setImmediate(() => void exit(0));
}
