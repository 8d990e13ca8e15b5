import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logDigest } from './log-digest.js';
import { temporaryDirectorySync } from '../test/support/temp-dirs.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, s)).toISOString();
const from = Date.parse(at(10));
const to = Date.parse(at(20));

function logs(files: Record<string, unknown[]>): string {
  const dir = temporaryDirectorySync('agenda-digest-');
  for (const [name, lines] of Object.entries(files)) {
    const text = lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');
    writeFileSync(join(dir, name), `${text}\n`);
  }
  return dir;
}

test('warnings and errors of every log in the window, in time order, prefixed by the process', (t) => {
  const dir = logs({
    'users-1.log': [
      {
        t: at(12),
        level: 'warn',
        service: 'users',
        instance: 1,
        msg: 'slow request',
        id: 'r1',
        handledMs: 8052,
      },
      { t: at(13), level: 'info', service: 'users', instance: 1, msg: 'took over idle requests' },
      { t: at(25), level: 'warn', service: 'users', instance: 1, msg: 'after the window' },
    ],
    'db-2.log': [
      'not json at all',
      { event: 'ready', pid: 1 },
      {
        t: at(11),
        level: 'error',
        service: 'db',
        member: 2,
        msg: 'lost the connection to a peer',
        peer: 4,
      },
      { t: at(14), level: 'warn', service: 'db', member: 2, msg: 'gossip membership changed' },
    ],
    'vip-1.log': [
      { t: at(15), level: 'warn', process: 'vip-agent', id: 'vip-1', msg: 'cannot read the lease' },
    ],
    'notes.txt': [{ t: at(15), level: 'warn', msg: 'not a log file' }],
  });
  t.deepEqual(logDigest(dir, { fromMs: from, toMs: to }), [
    '12:00:11.000 db-2 lost the connection to a peer {"peer":4}',
    '12:00:12.000 users-1 slow request {"id":"r1","handledMs":8052}',
    '12:00:15.000 vip-1 cannot read the lease',
  ]);
});

test('only the latest lines past the limit, saying how many were left out; no directory, no lines', (t) => {
  const dir = logs({
    'gateway-1.log': Array.from({ length: 5 }, (_, i) => ({
      t: at(10 + i),
      level: 'warn',
      msg: `warning ${i}`,
    })),
  });
  t.deepEqual(logDigest(dir, { fromMs: from, toMs: to, limit: 2 }), [
    '(3 earlier lines left out)',
    '12:00:13.000 gateway-1 warning 3',
    '12:00:14.000 gateway-1 warning 4',
  ]);
  t.deepEqual(logDigest(join(dir, 'missing'), { fromMs: from, toMs: to }), []);
});
