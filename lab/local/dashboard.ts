/**
 * `npm run dashboard`: the operator dashboard over the topology `npm start` runs (data in
 * `./.agenda` or `AGENDA_DATA_DIR`). `q` quits.
 */
import { runDashboard } from '../../tui/run.js';
import { localDataDir, observeLocalCluster } from './operator.js';

let observer;
try {
  observer = observeLocalCluster(localDataDir(undefined));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(5);
}
const controller = new AbortController();
await runDashboard(observer, { signal: controller.signal });
await observer.close();
process.exit(0);
