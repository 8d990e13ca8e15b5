/**
 * What runs inside the Multipass VMs, as root, from the checkout in `/opt/agenda`
 * (compiled: `node dist/lab/multipass/vm.js …`):
 *
 * - `prepare --data-dir d --vm1 ip --vm2 ip --vm3 ip --vip ip --prefix n --device dev
 *   --observer ip` (once, on vm1): see {@link prepareSite}. `up.sh` then copies the directory
 *   to the other VMs and to the VM host.
 * - `run --data-dir d --host vmN` (on each VM, as a systemd unit): starts that host's part of
 *   the plan, stage by stage, prints `{"event":"ready",…}`, and stops it all on SIGTERM. The
 *   host of the plan's first Redis instance records it as primary in the DB registry, as
 *   `npm start` does.
 *
 * Every VM builds the same plan from the same `site.json`, so the configs agree everywhere.
 */
import { parseArgs } from 'node:util';
import { jsonLogger } from '../../base/log.js';
import { announceReady, stopOnSignals } from '../../base/daemon.js';
import { DataLayout } from '../layout.js';
import { processesOn } from '../plan.js';
import { PlanRunner, preparePlan, recordRedisPrimary } from '../runner.js';
import { multipassTopology, prepareSite, readSite } from './topology.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: Object.fromEntries(
    ['data-dir', 'host', 'vm1', 'vm2', 'vm3', 'vip', 'prefix', 'device', 'observer'].map((name) => [
      name,
      { type: 'string' as const },
    ]),
  ),
});
const [command] = positionals;
const dataDir = values['data-dir'];
const logger = jsonLogger({ program: 'multipass-vm', command });

try {
  if (typeof dataDir !== 'string') throw new Error('--data-dir is required');
  if (command === 'prepare') {
    await prepareSite(dataDir, {
      hosts: { vm1: values.vm1, vm2: values.vm2, vm3: values.vm3 },
      vip: values.vip,
      prefixLength: Number(values.prefix),
      device: values.device,
      observerAddress: values.observer,
    });
    logger.info('prepared', { dataDir });
  } else if (command === 'run' && typeof values.host === 'string') {
    const host = values.host;
    const plan = await preparePlan(multipassTopology(readSite(dataDir)), new DataLayout(dataDir));
    const mine = processesOn(plan, host);
    if (mine.length === 0) throw new Error(`the plan runs nothing on ${host}`);
    const runner = new PlanRunner({
      plan,
      onExit: (p, code) => logger.warn('process exited', { process: p.spec.name, code }),
    });
    stopOnSignals(logger, () => runner.stopAll());
    const firstRedis = plan.topology.redis[0];
    try {
      await runner.start(mine, {
        beforeStage: (stage) => logger.info('stage', { host, stage }),
        afterStage: (stage) =>
          stage === 'redis-replicas' && firstRedis?.host === host
            ? recordRedisPrimary(plan)
            : Promise.resolve(),
      });
    } catch (err) {
      await runner.stopAll();
      throw err;
    }
    announceReady({ host, processes: mine.map((p) => p.name) });
  } else {
    throw new Error('usage: vm.ts prepare --data-dir d --vm1 … | run --data-dir d --host vmN');
  }
} catch (err) {
  logger.warn('failed', { error: (err as Error).message });
  process.exit(1);
}
