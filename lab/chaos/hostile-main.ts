/**
 * The hostile workload as a process: `node --import tsx lab/chaos/hostile-main.ts --spec
 * '<json>'` with `{url, caPath, username, series}`. The chaos runner starts it in the lab's
 * client namespace, so it reaches the system through the VIP like any user. It prints one
 * JSON line, `{"type":"report","report":{…}}` (see hostile.ts), or `{"type":"error",…}` and
 * exits 1.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runHostileWorkload } from './hostile.js';

try {
  const { values } = parseArgs({ options: { spec: { type: 'string' } }, strict: true });
  if (values.spec === undefined) throw new Error('--spec <json> is required');
  const spec = JSON.parse(values.spec) as {
    url: string;
    caPath: string;
    username: string;
    series: number;
  };
  const report = await runHostileWorkload({
    url: spec.url,
    ca: readFileSync(spec.caPath, 'utf8'),
    username: spec.username,
    series: spec.series,
  });
  process.stdout.write(`${JSON.stringify({ type: 'report', report })}\n`);
} catch (error) {
  process.stdout.write(
    `${JSON.stringify({ type: 'error', message: error instanceof Error ? error.message : String(error) })}\n`,
  );
  process.exitCode = 1;
}
