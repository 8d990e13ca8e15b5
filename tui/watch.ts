/**
 * `agenda dashboard` and `npm run dashboard`: the live dashboard over a chosen system in this
 * terminal, until `q`, Ctrl-C, SIGTERM or SIGHUP; then the observer leaves gossip cleanly
 * instead of lingering in everyone's view as dead.
 */
import { openClusterObserver, type TopologyChoice } from '../ops/open.js';
import { runDashboard } from './run.js';

export async function watchInTerminal(choice: TopologyChoice): Promise<void> {
  const observer = openClusterObserver(choice);
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  // `on`, not `once`: Ink's exit hook kills the process again with the signal when no other
  // listener remains at that moment, which would cut the clean leave short.
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
  try {
    await runDashboard(observer, { signal: controller.signal });
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGHUP', stop);
    await observer.close();
  }
}
