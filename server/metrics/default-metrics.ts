/**
 * prom-client's default process and Node.js metrics, registered one by one as its
 * `collectDefaultMetrics` does, all but its event-loop lag: that one starts a
 * `monitorEventLoopDelay` of its own (a 10 ms timer and a histogram of about 350 KB per
 * process), and DaemonMetrics sets the same `nodejs_eventloop_lag_*` gauges from the monitor
 * it keeps anyway (./daemon-metrics.ts).
 *
 * The collectors are prom-client's own modules (`prom-client/lib/metrics/*`), which its
 * `collectDefaultMetrics` calls in this order; the package has no `exports` map, so they load
 * as any of its files, and the version is pinned by the lockfile. A version that moves or
 * renames them fails here at start-up, and in the metrics test, not silently.
 */
import type { Registry } from 'prom-client';
import gc from 'prom-client/lib/metrics/gc.js';
import heapSizeAndUsed from 'prom-client/lib/metrics/heapSizeAndUsed.js';
import heapSpacesSizeAndUsed from 'prom-client/lib/metrics/heapSpacesSizeAndUsed.js';
import osMemoryHeap from 'prom-client/lib/metrics/osMemoryHeap.js';
import processCpuTotal from 'prom-client/lib/metrics/processCpuTotal.js';
import processHandles from 'prom-client/lib/metrics/processHandles.js';
import processMaxFileDescriptors from 'prom-client/lib/metrics/processMaxFileDescriptors.js';
import processOpenFileDescriptors from 'prom-client/lib/metrics/processOpenFileDescriptors.js';
import processRequests from 'prom-client/lib/metrics/processRequests.js';
import processResources from 'prom-client/lib/metrics/processResources.js';
import processStartTime from 'prom-client/lib/metrics/processStartTime.js';
import version from 'prom-client/lib/metrics/version.js';

/** Registers the default metrics but the event-loop lag in `registry`, with `labels`. */
export function collectDefaultMetricsButEventLoopLag(
  registry: Registry,
  labels: Readonly<Record<string, string>>,
): void {
  const config = { register: registry, labels };
  for (const collector of [
    processCpuTotal,
    processStartTime,
    osMemoryHeap,
    processOpenFileDescriptors,
    processMaxFileDescriptors,
    processResources,
    processHandles,
    processRequests,
    heapSizeAndUsed,
    heapSpacesSizeAndUsed,
    version,
    gc,
  ]) {
    collector(registry, config);
  }
}
