/**
 * The supervisor as a process: config errors exit 1 with the reason; with no DB reachable it
 * starts, says it is cut off and does nothing, serves its metrics to operators only, and
 * stops cleanly on SIGTERM. Ports 30290–30299.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent, request } from 'undici';
import { createRedisTls, waitFor } from '../server/bus/test-support.js';
import { EVENT_LOOP_DELAY_METRICS } from '../server/metrics/daemon-metrics.js';
import { parsePrometheusText, sampleValue } from '../server/metrics/prometheus-text.js';

const MAIN = path.join(import.meta.dirname, 'main.ts');

function run(configPath: string) {
  const child = spawn(process.execPath, ['--import=tsx', MAIN, '--config', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  return { child, output, exited };
}

test('an invalid config exits 1 and says what is wrong', async (t) => {
  const tls = await createRedisTls();
  t.teardown(() => tls.remove());
  const configPath = path.join(tls.dir, 'supervisor-bad.json');
  await writeFile(configPath, JSON.stringify({ id: 'supervisor-1', redis: [] }));
  const { output, exited } = run(configPath);
  const [code] = await exited;
  t.is(code, 1);
  t.regex(output.stderr, /redis/);
});

test('cut off from the DB, the supervisor runs but does not act, and stops on SIGTERM', async (t) => {
  const tls = await createRedisTls();
  t.teardown(() => tls.remove());
  const configPath = path.join(tls.dir, 'supervisor-1.json');
  await writeFile(
    configPath,
    JSON.stringify({
      id: 'supervisor-1',
      tls: { ca: tls.caFile, cert: tls.certFile, key: tls.keyFile },
      // Nothing listens on these ports.
      db: { '1': '127.0.0.1:30298' },
      redis: ['127.0.0.1:30299'],
      failureThreshold: 2,
      checkIntervalMs: 50,
      metrics: '127.0.0.1:30297',
    }),
  );
  const { child, output, exited } = run(configPath);
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await waitFor('the readiness line', () => output.stdout.includes('"event":"ready"'));
  await waitFor('the cut-off decision', () => output.stderr.includes('cut off from the DB'));

  const scrape = async (tls: {
    ca: string | Buffer;
    cert?: string | Buffer;
    key?: string | Buffer;
  }) => {
    const dispatcher = new Agent({ connect: tls });
    try {
      const answer = await request('https://127.0.0.1:30297/metrics', { dispatcher });
      return { status: answer.statusCode, text: await answer.body.text() };
    } finally {
      await dispatcher.close();
    }
  };
  const operator = await scrape(tls.operator);
  t.is(operator.status, 200);
  const worst = sampleValue(parsePrometheusText(operator.text), EVENT_LOOP_DELAY_METRICS.worst, {
    service: 'supervisor',
    member: 'supervisor-1',
  });
  t.true(worst !== undefined && worst >= 0, `worst delay ${String(worst)}`);
  await t.throwsAsync(scrape({ ca: tls.client.ca }), undefined, 'no client certificate');

  child.kill('SIGTERM');
  const [code] = await exited;
  t.is(code, 0);
  t.notRegex(output.stderr, /"action":"(promote|demote|reconfigure-replica)"/);
});
