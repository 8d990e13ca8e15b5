/**
 * Known bugs, each written as one exact search-and-replace on a source file of the Raft
 * library (or of the simulator's checker). The harness (`cli.ts`) applies them one at a
 * time in a copy of the repository and runs the simulator: every one must make some seed
 * fail. A `search` must occur exactly once in its file, so that a change to the code that
 * moves or rewrites it makes the harness fail loudly instead of silently testing nothing.
 */
export interface Mutation {
  readonly name: string;
  /** The bug it brings back, in a reader's words. */
  readonly bug: string;
  /** Path from the repository root. */
  readonly file: string;
  readonly search: string;
  readonly replace: string;
  /** Unit test files that should notice it, run with ava in the copy. */
  readonly tests: readonly string[];
  /** Extra arguments for `raft/sim/cli.ts`. */
  readonly simArgs?: readonly string[];
}

const CORE = 'raft/core/raft.ts';
const HOST = 'raft/runtime/host.ts';
const WAL = 'raft/storage/wal.ts';
const CORE_TESTS = ['raft/core/raft.test.ts'];
const HOST_TESTS = ['raft/runtime/host.test.ts', 'raft/runtime/host-cluster.test.ts'];

export const MUTATIONS: readonly Mutation[] = [
  {
    name: 'restart-forgets-commit',
    bug: 'issue 12 bug 1: a restarted member ignores the stored commit index, so it re-applies no configuration entry of its log and believes an older membership',
    file: CORE,
    search: 'committed: Math.max(initial.hardState.commit ?? 0, founded ? 1 : 0),',
    replace: 'committed: founded ? 1 : 0,',
    tests: [...CORE_TESTS, ...HOST_TESTS],
  },
  {
    name: 'no-founding-entry',
    bug: 'issue 12 bug 2: founders do not write the founding membership as entry 1, so a member joining from an empty log never learns the founding voters',
    file: HOST,
    search: 'if (!fresh || bootstrap.voters.length === 0) return recovered;',
    replace: 'if (fresh || !fresh) return recovered;',
    tests: HOST_TESTS,
  },
  {
    name: 'read-context-without-incarnation',
    bug: "issue 12 bug 3: read contexts repeat after a restart, so a leader's late answer to the earlier run's read answers a new read",
    file: HOST,
    search:
      "this.readPrefix = `${opts.raft.id}.${opts.incarnation ?? randomBytes(8).toString('hex')}.`;",
    replace: 'this.readPrefix = `${opts.raft.id}.`;',
    tests: HOST_TESTS,
  },
  {
    name: 'leader-counts-own-copy-before-fsync',
    bug: 'issue 12 bug 4: the leader counts its own entry toward commit as soon as it is appended, before its fsync',
    file: CORE,
    search: '    this.log.append([e]);\n    this.appendsDue = true;\n    return e;',
    replace:
      '    this.log.append([e]);\n    this.progress.get(this.id)?.maybeUpdate(e.index);\n    this.appendsDue = true;\n    return e;',
    tests: [...CORE_TESTS, ...HOST_TESTS],
  },
  {
    name: 'wal-rot-cut-as-torn-tail',
    bug: 'issue 12 bug 5: a bad record in the last WAL segment is cut as a torn tail even with valid records after it',
    file: WAL,
    search: 'const intact = findValidRecord(bytes, view, at + 1);',
    replace: 'const intact = isLast ? null : findValidRecord(bytes, view, at + 1);',
    tests: ['raft/storage/wal.test.ts', 'raft/storage/durable-log.test.ts'],
  },
  {
    name: 'forwarded-reads-dropped-on-step-down',
    bug: 'issue 12 bug 6: a leader that steps down drops the reads followers forwarded to it instead of refusing them',
    file: CORE,
    search: '      if (r.from === this.id) this.failedReads.push(r.context);\n      else\n',
    replace:
      '      if (r.from === this.id) this.failedReads.push(r.context);\n      else if (r.from < 0)\n',
    tests: CORE_TESTS,
  },
  {
    name: 'sim-checker-timeout-passes',
    bug: 'issue 12 item 7: the simulator counts a linearizability check that ran out of budget as a pass (run with a 0 ms budget, so every check runs out)',
    file: 'raft/sim/invariants.ts',
    search: "if (verdict.verdict === 'timeout') {",
    replace: "if (verdict.verdict === 'timeout' && this.checkBudgetMs < 0) {",
    tests: [],
    simArgs: ['--check-ms', '0'],
  },
  {
    name: 'vote-without-log-check',
    bug: "a voter grants its vote without comparing the candidate's log with its own (§5.4.1)",
    file: 'raft/core/vote-check.ts',
    search:
      '  if (candidate.lastTerm !== voter.lastTerm) return candidate.lastTerm > voter.lastTerm;\n  return candidate.lastIndex >= voter.lastIndex;',
    replace: '  return candidate === candidate || voter === voter;',
    tests: CORE_TESTS,
  },
  {
    name: 'commit-previous-term-by-counting',
    bug: 'the leader commits an entry of an earlier term by counting its replicas (Figure 8, §5.4.2)',
    file: CORE,
    search: 'if (mci <= this.log.committed || this.log.term(mci) !== this.term) return false;',
    replace: 'if (mci <= this.log.committed) return false;',
    tests: CORE_TESTS,
  },
  {
    name: 'read-index-without-heartbeat-round',
    bug: 'ReadIndex answers at once, without a quorum of heartbeat acknowledgements confirming leadership',
    file: CORE,
    search:
      '    this.readOnly.add(context, index, from, this.id);\n    this.broadcastHeartbeat(context);',
    replace: '    this.releaseRead(context, index, from);',
    tests: CORE_TESTS,
  },
  {
    name: 'read-index-without-current-term-commit',
    bug: 'a new leader answers ReadIndex before an entry of its term commits, with a commit index that may lag',
    file: CORE,
    search:
      '  private handleReadIndex(context: string, from: NodeId): void {\n    if (this.log.term(this.log.committed) !== this.term) {',
    replace:
      '  private handleReadIndex(context: string, from: NodeId): void {\n    if (from < 0) {',
    tests: CORE_TESTS,
  },
  {
    name: 'voted-for-not-persisted',
    bug: 'a restarted member forgets whom it voted for in its current term, and may vote twice',
    file: CORE,
    search: 'this.vote = this.term === initial.hardState.term ? initial.hardState.vote : NO_NODE;',
    replace: 'this.vote = NO_NODE;',
    tests: [...CORE_TESTS, ...HOST_TESTS],
  },
  {
    name: 'two-membership-changes-at-once',
    bug: 'the leader accepts a membership change while another is not yet applied',
    file: CORE,
    search: '    if (this.pendingConfIndex > this.log.applied) {',
    replace: '    if (this.pendingConfIndex < 0) {',
    tests: CORE_TESTS,
  },
  {
    name: 'acks-before-fsync',
    bug: "a follower's append acknowledgements leave before its fsync",
    file: HOST,
    search: "if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') early.push(m);",
    replace:
      "if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap' || m.type === 'appResp')\n      early.push(m);",
    tests: HOST_TESTS,
  },
  {
    name: 'wal-sync-noop',
    bug: "the WAL's fdatasync does nothing, so synced records are lost in a crash",
    file: WAL,
    search: '    this.#open.sync();\n    this.#syncedWrites = this.#writes;',
    replace: '    this.#syncedWrites = this.#writes;',
    tests: ['raft/storage/wal.test.ts', 'raft/storage/durable-log.test.ts'],
  },
];
