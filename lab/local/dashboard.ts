/**
 * `npm run dashboard`: the operator dashboard over the topology `npm start` runs (data in
 * `./.agenda` or `AGENDA_DATA_DIR`), or `-- --lab` the namespace lab, or `-- --topology
 * file` any described system. `q` quits. The same as `agenda dashboard`, without the CLI.
 */
import { parseArgs } from 'node:util';
import { chooseTopology } from '../../ops/open.js';
import { watchInTerminal } from '../../tui/watch.js';
import { isAgendaError } from '../../contract/errors.js';

try {
  const { values } = parseArgs({
    options: {
      lab: { type: 'boolean' },
      topology: { type: 'string' },
      'data-dir': { type: 'string' },
    },
  });
  await watchInTerminal(
    chooseTopology({ lab: values.lab, topology: values.topology, dataDir: values['data-dir'] }),
  );
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(isAgendaError(err) ? err.exitCode : 1);
}
process.exit(0);
