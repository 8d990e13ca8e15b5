/**
 * Which system an operator command watches: the flags, the defaults, what a missing system is
 * told, and that `npm start`'s and the lab's are read from the description they write.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { writeClusterDescription } from './description.js';
import { chooseTopology, describeChosenTopology, descriptionFile } from './open.js';
import { temporaryDirectory } from '../test/support/temp-dirs.js';

test('flags, defaults, and what a missing system is told', async (t) => {
  const dir = await temporaryDirectory('agenda-choice-');
  t.deepEqual(chooseTopology({ dataDir: dir }), { kind: 'local', dataDir: dir });
  t.deepEqual(chooseTopology({ lab: true, dataDir: dir }), { kind: 'lab', dataDir: dir });
  t.deepEqual(chooseTopology({ topology: 'o.json' }), { kind: 'file', path: 'o.json' });
  t.throws(() => chooseTopology({ topology: 'o.json', lab: true }), {
    message: /--topology names the whole system/,
  });
  t.throws(() => describeChosenTopology({ kind: 'local', dataDir: dir }), {
    message: `no Agenda data in ${dir} (start the system with npm start, or point at its data directory with --data-dir or AGENDA_DATA_DIR)`,
    instanceOf: Error,
  });
  // A usage error (exit 1), not an unavailable service (exit 5): no retry finds it there.
  const error = t.throws(() => describeChosenTopology({ kind: 'lab', dataDir: dir }));
  t.regex(error.message, /npm run lab -- up/);
  t.like(error, { code: 'invalid', exitCode: 1 });
  t.like(
    t.throws(() => describeChosenTopology({ kind: 'file', path: path.join(dir, 'x.json') })),
    {
      code: 'invalid',
    },
  );
});

test('a system is read from the description it wrote into its data directory', async (t) => {
  const dir = await temporaryDirectory('agenda-choice-');
  writeClusterDescription(descriptionFile(dir), {
    name: 'local',
    tls: {
      ca: path.join(dir, 'pki/ca.pem'),
      cert: path.join(dir, 'pki/operator.pem'),
      key: path.join(dir, 'pki/operator-key.pem'),
    },
    db: { members: [{ id: 1, api: '127.0.0.1:7201' }] },
  });
  for (const choice of [
    chooseTopology({ dataDir: dir }),
    chooseTopology({ lab: true, dataDir: dir }),
  ]) {
    const description = describeChosenTopology(choice);
    t.is(description.name, 'local');
    t.is(description.tls.cert, path.join(dir, 'pki/operator.pem'));
    t.deepEqual(description.db?.members, [{ id: 1, api: '127.0.0.1:7201' }]);
  }
});

test('a malformed or empty description in the data directory is refused with the file named', async (t) => {
  const dir = await temporaryDirectory('agenda-choice-');
  for (const text of ['', '{"tls":', '{"tls":{"ca":"a","cert":"b","key":"c"},"extra":1}', '[]']) {
    await writeFile(descriptionFile(dir), text);
    const error = t.throws(() => describeChosenTopology(chooseTopology({ dataDir: dir })));
    t.like(error, { code: 'invalid' });
    t.true(error.message.includes(descriptionFile(dir)), error.message);
  }
});
