/**
 * The environment the runner gives its Node daemons: password hashing's 16 MiB buffers go
 * back to the system once freed (see daemonEnvironment), instead of staying in glibc's
 * arenas, one per thread-pool thread.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { daemonEnvironment } from './runner.js';
import { DEFAULT_SCRYPT_COST } from '../server/users/passwords.js';

const HASHES = `
const { scrypt } = require('node:crypto');
const cost = JSON.parse(process.argv[1]);
const one = () => new Promise((resolve, reject) =>
  scrypt('a password', 'a salt of 16 by', 32, { ...cost, maxmem: 256 * cost.N * cost.r + 2 ** 20 },
    (error) => (error ? reject(error) : resolve())));
(async () => {
  const before = process.memoryUsage().rss;
  for (let round = 0; round < 2; round++) await Promise.all([one(), one(), one(), one()]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  process.stdout.write(String((process.memoryUsage().rss - before) / 2 ** 20));
})();
`;

test("a daemon's password hashes give their memory back once done", (t) => {
  const grewMib = Number(
    execFileSync(process.execPath, ['-e', HASHES, JSON.stringify(DEFAULT_SCRYPT_COST)], {
      env: { ...process.env, ...daemonEnvironment() },
      encoding: 'utf8',
    }),
  );
  t.log(`RSS after 8 hashes, 4 at a time: +${grewMib.toFixed(1)} MiB`);
  // Kept in the arenas, the four threads' buffers would be 64 MiB.
  t.true(grewMib < 24, `RSS grew by ${grewMib.toFixed(1)} MiB`);
});
