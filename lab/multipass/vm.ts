/**
 * What runs inside the Multipass VMs, as root, from the checkout in `/opt/agenda`
 * (compiled: `node dist/lab/multipass/vm.js …`):
 *
 * - `prepare --data-dir d --vm1 ip --vm2 ip --vm3 ip --vip ip --prefix n --device dev
 *   --observer ip` (once, on vm1): see {@link prepareSite}. `up.sh` then copies the directory
 *   to the other VMs and to the VM host.
 * - `install --data-dir d --host vmN [--unit-dir /etc/systemd/system] [--user agenda]` (on
 *   each VM): writes that host's systemd units, generated from the plan (units.ts), and
 *   removes those an earlier install wrote that the plan no longer has. `up.sh` then runs
 *   `systemctl daemon-reload`, `enable` and `start agenda.target`.
 * - `record-redis-primary --data-dir d` (the unit `agenda-redis-primary` on the host of the
 *   plan's first Redis instance): records it as primary in the DB registry, as `npm start`
 *   does.
 *
 * Every VM builds the same plan from the same `site.json`, so the configs agree everywhere.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { jsonLogger } from '../../base/log.js';
import { REPO } from '../../base/entry-points.js';
import { DataLayout } from '../layout.js';
import { preparedPlan, recordRedisPrimary } from '../runner.js';
import { multipassTopology, prepareSite, readSite } from './topology.js';
import { installUnits, systemdUnits } from './units.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: Object.fromEntries(
    [
      'data-dir',
      'host',
      'vm1',
      'vm2',
      'vm3',
      'vip',
      'prefix',
      'device',
      'observer',
      'unit-dir',
      'user',
    ].map((name) => [name, { type: 'string' as const }]),
  ),
});
const [command] = positionals;
const dataDir = values['data-dir'];
const logger = jsonLogger({ program: 'multipass-vm', command });

try {
  if (typeof dataDir !== 'string') throw new Error('--data-dir is required');
  // The units name every file by its absolute path.
  const layout = new DataLayout(resolve(dataDir));
  if (command === 'prepare') {
    await prepareSite(layout.dataDir, {
      hosts: { vm1: values.vm1, vm2: values.vm2, vm3: values.vm3 },
      vip: values.vip,
      prefixLength: Number(values.prefix),
      device: values.device,
      observerAddress: values.observer,
    });
    logger.info('prepared', { dataDir: layout.dataDir });
  } else if (command === 'install' && typeof values.host === 'string') {
    const plan = preparedPlan(multipassTopology(readSite(layout.dataDir)), layout);
    const unitDir = values['unit-dir'] ?? '/etc/systemd/system';
    const units = systemdUnits(plan, {
      host: values.host,
      repo: REPO,
      user: values.user ?? 'agenda',
      node: process.execPath,
    });
    const removed = installUnits(units, unitDir);
    logger.info('installed', { unitDir, units: units.map((u) => u.name), removed });
  } else if (command === 'record-redis-primary') {
    await recordRedisPrimary(preparedPlan(multipassTopology(readSite(layout.dataDir)), layout));
    logger.info('recorded the Redis primary');
  } else {
    throw new Error(
      'usage: vm.ts prepare --data-dir d --vm1 … | install --data-dir d --host vmN' +
        ' | record-redis-primary --data-dir d',
    );
  }
} catch (err) {
  logger.warn('failed', { error: (err as Error).message });
  process.exit(1);
}
