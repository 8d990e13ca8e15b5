/**
 * `npm run lab -- <command>`: the three-host lab (see lab/README.md). `up` creates the network
 * and starts a detached controller that owns every process; the other commands are requests
 * to that controller, and `down` removes everything — even what a failed `up` left behind.
 * Every failure prints one reason and exits 1.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runChaos } from './chaos/index.js';
import { logDigest } from './log-digest.js';
import { ControllerClient, LabNotUp } from './client.js';
import { EventLoopDelayScraper } from './event-loop-delay.js';
import { ControllerLabDriver } from './lab-driver.js';
import { DataLayout } from './layout.js';
import { ensurePrerequisites, LAB_PREREQUISITES } from './prerequisites.js';
import { killAll, LabNetwork } from './net.js';
import {
  controllerPidPath,
  controllerSocketPath,
  type LabRequest,
  type LabStatus,
} from './protocol.js';
import { metricsTargets } from './plan.js';
import { nodeEntry, REPO } from '../base/entry-points.js';
import { describeFault, formatStatus } from './status-format.js';
import { LAB_NETWORK, LAB_TOPOLOGY, labDataDir } from './topology.js';

const USAGE = `usage: npm run lab -- <command> [--data-dir <dir>] [--json]

  up                          create the hosts and start the whole system (needs root)
  down                        stop every process and remove the hosts, bridge and rules
  status                      hosts, processes and faults
  kill <process>              SIGKILL one process (db-1…db-5, redis-1, gateway-2, vip-1, …)
  crash <host>                kill everything on vm1, vm2 or vm3 and take its link down
  partition <host> <host>     drop the traffic between two hosts, both ways
  isolate <host>              the host reaches nobody and nobody reaches it
  heal                        remove every network fault (crashed hosts come back empty)
  pause <process>             SIGSTOP one process
  resume [<process>]          SIGCONT one process, or every paused one
  start [<process>|<host>]    start a process, a host's processes, or everything not running
  rejoin <db-N>               wipe a DB member that is out of the cluster and start it joining
  restore                     heal, resume, start everything, and wait until healthy
  chaos [--scenario <name>]   fault scenarios under client load through the VIP`;

const say = (line: string) => process.stdout.write(`${line}\n`);
// Piped into `head`, the command keeps working (the lab is not stopped by a closed pipe).
process.stdout.on('error', () => {});

/** A failure the user can act on: printed as is, exit 1. */
class LabCommandError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'data-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      scenario: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...args] = positionals;
  if (!command || values.help || command === 'help') {
    say(USAGE);
    return command || values.help ? 0 : 1;
  }
  if (process.getuid?.() !== 0) {
    throw new LabCommandError(
      'npm run lab needs root: it creates network namespaces, a bridge and iptables rules. ' +
        'Run it as root, e.g. sudo npm run lab -- ' +
        command,
    );
  }
  const dataDir = labDataDir(values['data-dir']);
  const client = new ControllerClient(dataDir);
  const json = values.json ?? false;
  const need = (n: number, what: string) => {
    if (args.length !== n) throw new LabCommandError(`usage: npm run lab -- ${command} ${what}`);
  };
  /** Sends a fault or start request; says what was done and which faults are now in place. */
  const request = async (req: LabRequest, done: string) => {
    const status = await client.call<LabStatus>(req, { onProgress: json ? undefined : say });
    if (json) {
      say(JSON.stringify(status));
      return;
    }
    say(done);
    const faults = status.faults.map(describeFault).join('; ');
    const paused = status.processes.filter((p) => p.state === 'paused').map((p) => p.name);
    const down = status.processes.filter((p) => p.state === 'exited').map((p) => p.name);
    say(`faults: ${faults || 'none'}`);
    if (paused.length > 0) say(`paused: ${paused.join(', ')}`);
    if (down.length > 0) say(`not running: ${down.join(', ')}`);
  };

  switch (command) {
    case 'up':
      return up(dataDir, json);
    case 'down':
      await down(dataDir);
      say(json ? JSON.stringify({ down: true }) : 'the lab is down');
      return 0;
    case 'status': {
      const status = await client.call<LabStatus>({ v: 1, op: 'status' });
      if (json) say(JSON.stringify(status));
      else for (const line of formatStatus(status)) say(line);
      return 0;
    }
    case 'kill':
    case 'pause':
      need(1, '<process>');
      await request(
        { v: 1, op: command, process: args[0] ?? '' },
        `${command === 'kill' ? 'killed' : 'paused'} ${args[0]}`,
      );
      break;
    case 'crash':
    case 'isolate':
      need(1, '<host>');
      await request(
        { v: 1, op: command, host: args[0] ?? '' },
        command === 'crash'
          ? `${args[0]} crashed: every process on it killed, its link down`
          : `${args[0]} isolated`,
      );
      break;
    case 'partition':
      need(2, '<host> <host>');
      await request(
        { v: 1, op: 'partition', a: args[0] ?? '', b: args[1] ?? '' },
        `partitioned ${args[0]} from ${args[1]}`,
      );
      break;
    case 'heal':
      need(0, '');
      await request({ v: 1, op: 'heal' }, 'healed: every network fault removed');
      break;
    case 'resume':
      if (args.length > 1) throw new LabCommandError('usage: npm run lab -- resume [<process>]');
      await request(
        { v: 1, op: 'resume', ...(args[0] ? { process: args[0] } : {}) },
        `resumed ${args[0] ?? 'every paused process'}`,
      );
      break;
    case 'start':
      if (args.length > 1)
        throw new LabCommandError('usage: npm run lab -- start [<process>|<host>]');
      await request(
        { v: 1, op: 'start', ...(args[0] ? { target: args[0] } : {}) },
        `started ${args[0] ?? 'every process that was not running'}`,
      );
      break;
    case 'rejoin':
      need(1, '<db-N>');
      await request(
        { v: 1, op: 'rejoin', process: args[0] ?? '' },
        `${args[0]} wiped and started again, joining; add it: npx agenda cluster member add ${args[0]} --lab`,
      );
      break;
    case 'restore': {
      const driver = new ControllerLabDriver(dataDir);
      try {
        await driver.restore();
      } finally {
        await driver.close();
      }
      say(json ? JSON.stringify({ healthy: true }) : 'the lab is healthy');
      return 0;
    }
    case 'chaos': {
      if (!(await client.isUp())) throw new LabNotUp('the lab is not up; run: npm run lab -- up');
      const driver = new ControllerLabDriver(dataDir);
      const layout = new DataLayout(dataDir);
      const operator = layout.tls('operator');
      // From the root namespace over the bridge, as the observer asks the processes.
      const delays = new EventLoopDelayScraper(metricsTargets(LAB_TOPOLOGY), {
        ca: readFileSync(operator.ca),
        cert: readFileSync(operator.cert),
        key: readFileSync(operator.key),
      });
      try {
        const report = await runChaos(driver, {
          json,
          ...(values.scenario ? { scenario: values.scenario } : {}),
          explain: (fromMs, toMs) => logDigest(layout.logDir, { fromMs, toMs }),
          eventLoopDelays: async () => {
            const { worstMs, missing } = await delays.scrape(undefined, {
              since: 'previous-scrape',
            });
            for (const { name, reason } of missing) {
              process.stderr.write(`chaos: no event-loop delay from ${name}: ${reason}\n`);
            }
            return worstMs;
          },
        });
        return report.pass ? 0 : 1;
      } finally {
        await delays.close();
        await driver.close();
      }
    }
    default:
      throw new LabCommandError(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
  }
  return 0;
}

async function up(dataDir: string, json: boolean): Promise<number> {
  const began = Date.now();
  const client = new ControllerClient(dataDir);
  const progress = json ? () => {} : say;
  let status: LabStatus;
  const alreadyUp = await client.isUp();
  if (alreadyUp) {
    progress('the lab is already up (or coming up); waiting for it to be ready…');
  } else {
    if (await new LabNetwork(LAB_NETWORK).exists()) {
      progress('removing what an earlier lab left behind…');
      await down(dataDir);
    }
    ensurePrerequisites(LAB_PREREQUISITES, { say: progress });
    startController(dataDir);
    await waitForController(client, dataDir);
  }
  try {
    status = await client.call<LabStatus>({ v: 1, op: 'await-ready' }, { onProgress: progress });
  } catch (err) {
    const layout = new DataLayout(dataDir);
    progress(`could not start: ${(err as Error).message}`);
    // A lab another `up` started is that one's to take down: this one only failed to hear it.
    if (alreadyUp) throw new LabCommandError(`the lab is not ready: ${(err as Error).message}`);
    progress(`logs: ${layout.logDir}; taking the lab down…`);
    await down(dataDir);
    throw new LabCommandError(`the lab did not come up: ${(err as Error).message}`);
  }
  const seconds = ((Date.now() - began) / 1000).toFixed(1);
  if (json) {
    say(JSON.stringify({ ...status, readyAfterMs: Date.now() - began }));
    return 0;
  }
  const ca = status.caPath;
  say('');
  say(`The lab is up (${seconds} s).`);
  say(`  hosts:  ${status.hosts.map((h) => `${h.name} ${h.address} (${h.namespace})`).join(', ')}`);
  say(
    `  client: ${LAB_NETWORK.client.address} (${LAB_NETWORK.client.namespace}), reaches only the VIP`,
  );
  say(`  VIP:    ${status.vipUrl}`);
  say(`  CA:     ${ca}`);
  say(`  logs:   ${new DataLayout(dataDir).logDir}`);
  say('');
  say('Use it from the client namespace (the environment passes through ip netns exec):');
  say(`  export AGENDA_SERVER=${status.vipUrl} AGENDA_CA=${ca}`);
  say(`  ip netns exec ${LAB_NETWORK.client.namespace} npx agenda register alice`);
  say(
    `  ip netns exec ${LAB_NETWORK.client.namespace} npx agenda event add "Planning" --start "tomorrow 9am" --duration 1h`,
  );
  say('');
  say('Faults: npm run lab -- kill gateway-1 | crash vm1 | partition vm1 vm2 | isolate vm3 |');
  say('        pause db-1 | resume | heal | start vm1 | restore;  see: npm run lab -- status');
  say('Stop:   npm run lab -- down');
  return 0;
}

/** Starts the controller daemon, detached, its output in the lab's logs. */
function startController(dataDir: string): void {
  const layout = new DataLayout(dataDir);
  layout.createPrivately();
  const log = openSync(join(layout.logDir, 'controller.log'), 'a', 0o600);
  const child = spawn(
    process.execPath,
    [...nodeEntry('lab/controller-main.ts'), '--data-dir', dataDir],
    { cwd: REPO, detached: true, stdio: ['ignore', log, log] },
  );
  child.unref();
}

async function waitForController(client: ControllerClient, dataDir: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (existsSync(client.socketPath) && (await client.isUp())) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LabCommandError(
    `the lab controller did not start; see ${join(new DataLayout(dataDir).logDir, 'controller.log')}`,
  );
}

/**
 * Takes the lab down: asks the controller (it stops every process gracefully), then removes
 * whatever is left — a controller that does not answer, processes, namespaces, links, rules.
 */
async function down(dataDir: string): Promise<void> {
  const client = new ControllerClient(dataDir);
  try {
    await client.call({ v: 1, op: 'down' }, { timeoutMs: 60_000 });
  } catch (err) {
    if (!(err instanceof LabNotUp))
      say(`the controller did not take the lab down (${(err as Error).message}); cleaning up`);
  }
  const pid = controllerPid(dataDir);
  if (pid !== null) await killAll([pid]);
  await new LabNetwork(LAB_NETWORK).down();
  rmSync(controllerSocketPath(dataDir), { force: true });
  rmSync(controllerPidPath(dataDir), { force: true });
}

/** The controller's pid from its pid file, if that process is still the controller. */
function controllerPid(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(controllerPidPath(dataDir), 'utf8').trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('controller-main') ? pid : null;
  } catch {
    return null;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  let message = (err as Error).message;
  if (err instanceof LabNotUp && (await new LabNetwork(LAB_NETWORK).exists().catch(() => false))) {
    message =
      'the lab controller is gone, but its namespaces are still there; ' +
      'run: npm run lab -- down (then up)';
  }
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
}
// An observation may leave a connection attempt to an unreachable host pending for seconds;
// the command is done and must not wait for it.
process.exit();
