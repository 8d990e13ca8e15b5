/**
 * `npm run dashboard`: the operator dashboard over the topology `npm start` runs (data in
 * `./.agenda` or `AGENDA_DATA_DIR`), or `-- --lab` the namespace lab, or `-- --topology
 * file` any described system. `q` quits. The same as `agenda dashboard`, without the CLI.
 */
import { parseArgs } from 'node:util';
import { chooseTopology, openClusterObserver } from '../observer/open.js';
import type { ClusterObserver } from '../observer/observer.js';
import { isAgendaError } from '../../server/errors.js';
import { runDashboard } from '../../tui/run.js';

let observer: ClusterObserver;
try {
  const { values } = parseArgs({
    options: {
      lab: { type: 'boolean' },
      topology: { type: 'string' },
      'data-dir': { type: 'string' },
    },
  });
  observer = openClusterObserver(
    chooseTopology({ lab: values.lab, topology: values.topology, dataDir: values['data-dir'] }),
  );
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(isAgendaError(err) ? err.exitCode : 1);
}
const controller = new AbortController();
await runDashboard(observer, { signal: controller.signal });
await observer.close();
process.exit(0);
