/**
 * Replays every golden transcript in `testdata/` (see `transcript.ts`). A difference fails
 * with a unified diff of the file as committed against the file as the core now writes it;
 * `RAFT_TRANSCRIPT_REWRITE=1` writes the new version in place instead, for review as a diff.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { parseTranscript, replayTranscript, unifiedDiff } from './transcript.js';

const dir = join(import.meta.dirname, 'testdata');
const rewrite = process.env.RAFT_TRANSCRIPT_REWRITE === '1';

for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .sort()) {
  test(`transcript ${file}`, (t) => {
    const path = join(dir, file);
    const expected = readFileSync(path, 'utf8');
    const actual = replayTranscript(expected);
    if (rewrite) {
      if (actual !== expected) writeFileSync(path, actual);
      t.pass();
      return;
    }
    const unanswered = parseTranscript(expected).filter(
      (item) => item.kind === 'command' && item.expected === null,
    );
    t.is(
      unanswered.length,
      0,
      `${file}: commands without output; run with RAFT_TRANSCRIPT_REWRITE=1`,
    );
    if (actual !== expected)
      t.fail(
        `${file} differs (RAFT_TRANSCRIPT_REWRITE=1 accepts the actual):\n${unifiedDiff(expected, actual, file)}`,
      );
  });
}

test('the unified diff shows a changed line with its context and line numbers', (t) => {
  const expected = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].join('\n');
  const actual = ['a', 'b', 'c', 'd', 'E', 'f', 'g', 'h', 'i'].join('\n');
  t.is(
    unifiedDiff(expected, actual, 'x.txt'),
    [
      '--- x.txt (expected)',
      '+++ x.txt (actual)',
      '@@ -2,7 +2,8 @@',
      ' b',
      ' c',
      ' d',
      '-e',
      '+E',
      ' f',
      ' g',
      ' h',
      '+i',
    ].join('\n'),
  );
});

test('a transcript round-trips: comments and blank lines are kept, output follows its command', (t) => {
  const source = '# three members\ncluster 3\n\nstatus 1\n----\nstale\n';
  const replayed = replayTranscript(source);
  t.true(replayed.startsWith('# three members\ncluster 3\n----\n1 applies 1@0 bootstrap'));
  t.regex(replayed, /\n\nstatus 1\n----\n1 follower term:0 vote:0 leader:none commit:1 /);
  t.is(replayTranscript(replayed), replayed, 'replaying the replayed file changes nothing');
});
