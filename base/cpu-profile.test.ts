import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { profileOnSignal } from './cpu-profile.js';
import type { Logger } from './log.js';

/** A logger that keeps what it was told. */
function recording(): Logger & { lines: { message: string; fields?: Record<string, unknown> }[] } {
  const lines: { message: string; fields?: Record<string, unknown> }[] = [];
  const keep = (message: string, fields?: Record<string, unknown>) =>
    lines.push({ message, ...(fields ? { fields } : {}) });
  return { lines, debug: keep, info: keep, warn: keep };
}

// One test: each call adds a SIGUSR2 listener to this process.
test('SIGUSR2 writes a CPU profile or, asked for, an allocation profile of the window; a bad kind is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'agenda-profile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const refused = recording();
  profileOnSignal(refused, { AGENDA_PROFILE_DIR: dir, AGENDA_PROFILE_KIND: 'memory' });
  t.regex(refused.lines[0]?.message ?? '', /AGENDA_PROFILE_KIND must be cpu or allocations/);

  const logger = recording();
  profileOnSignal(logger, {
    AGENDA_PROFILE_DIR: dir,
    AGENDA_PROFILE_KIND: 'allocations',
    AGENDA_PROFILE_SECONDS: '0.3',
  });
  process.emit('SIGUSR2', 'SIGUSR2');
  // Something to sample all through the window: the profiler starts asynchronously, so
  // what is allocated before the first await could fall before it.
  const kept: string[] = [];
  const deadline = Date.now() + 10_000;
  while (logger.lines.length === 0 && Date.now() < deadline) {
    for (let i = 0; i < 2_000; i++) kept.push(`allocation ${kept.length}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  t.is(logger.lines[0]?.message, 'profile written', JSON.stringify(logger.lines));
  const [file] = readdirSync(dir);
  t.regex(file ?? '', /^\d+-\d+\.heapprofile$/);
  const profile = JSON.parse(readFileSync(join(dir, file ?? ''), 'utf8')) as {
    head: { children: unknown[] };
    samples: { size: number }[];
  };
  t.true(profile.samples.length > 0 && kept.length > 0);
  t.true(profile.head.children.length > 0);
});
