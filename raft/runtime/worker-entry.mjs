// The first module a state machine worker runs (see worker-state-machine.ts). It is plain
// JavaScript because it must load before any TypeScript can: when the member itself runs
// from TypeScript sources (tsx), the loader is registered in this thread first — loaders
// are per thread — and the worker's TypeScript entry is imported after it.
import { workerData } from 'node:worker_threads';

if (workerData.registerTsx) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
