/**
 * Golden transcripts of the core (in the style of etcd-io/raft's `testdata/*.txt`): a scenario
 * file is a list of commands, each followed by `----` and what the cluster did, as text. The
 * test (`transcript.test.ts`) replays every file in `testdata/` and fails on any difference, so
 * a change in the core's behaviour shows up as a diff a reviewer reads like prose, and a
 * scenario is reviewed once, whole, instead of through assertions on a few fields.
 *
 * File format: a command line (`name arg key=value ...`), a `----` line, the output lines,
 * then a blank line. Lines starting with `#` and blank lines between commands are kept as
 * they are. A command with no `----` yet gets its output on the next rewrite
 * (`RAFT_TRANSCRIPT_REWRITE=1`), which is how a new scenario is written.
 *
 * What the output shows, one line each:
 * - a member's Ready, in the order the runtime must handle it: `2 is follower term:2 leader:1`
 *   (role or leader changed), `2 saves term:2 vote:1 commit:1` (hard state), `2 stores 2..3@1`
 *   (entries), `2 installs snapshot ...`, `2 applies 2@1 empty, 3@1 "x"`, `2 read "r" at 3`;
 * - each message when it is delivered (or lost, with the reason in parentheses):
 *   `1->2 MsgVote term:2 pre lastIndex:5 lastTerm:1`, `2->1 MsgVoteResp term:2 pre granted`.
 *
 * Commands (members are numbered from 1; `ids` is `2,3` or `all`):
 *   cluster <n> [preVote=] [checkQuorum=] [electionTicks=] [heartbeatTicks=] [promotionLag=]
 *           [snapshotChunkBytes=]      a fresh cluster; later commands act on it
 *   campaign <id>                      tick it, delivering nothing, until it campaigns
 *   tick <ids> [n=1] [hold]            n rounds: each member ticks, then all is delivered
 *   stabilize                          deliver until the network is quiet
 *   deliver [1->2|1->*|*->2] [type=]   deliver what is queued now (not what it causes)
 *   drop [1->2|...] [type=]            lose what is queued
 *   msgs                               list what is queued
 *   isolate <id> | cut <1->2> | heal   cut links both ways / one way / restore them all
 *   peer-unreachable peer=<id> at=<ids>   the transport's hint that a connection broke
 *   propose <id> <data> | read-index <id> <ctx> | transfer-leadership from=<id> to=<id>
 *   add-member <id>                    a new empty member that knows no voters yet
 *   conf-change <leader> <addLearner|addVoter|promote|remove> <id>
 *   compact <id> [retain=0] [image=]   snapshot at its applied index, forget the log
 *   status [ids] | log <id>
 */
import { decodeConfChange } from './conf-change.js';
import type { RaftError } from './errors.js';
import type { RaftConfig } from './raft.js';
import { type ClusterObserver, data, TestCluster, text } from './test-cluster.js';
import type { ConfChange, Entry, Message, NodeId, Ready } from './types.js';

// -----------------------------------------------------------------------------------------
// Printing

const TYPE_NAMES: Record<Message['type'], string> = {
  app: 'MsgApp',
  appResp: 'MsgAppResp',
  vote: 'MsgVote',
  voteResp: 'MsgVoteResp',
  heartbeat: 'MsgHeartbeat',
  heartbeatResp: 'MsgHeartbeatResp',
  snap: 'MsgSnap',
  snapResp: 'MsgSnapResp',
  timeoutNow: 'MsgTimeoutNow',
  readIndex: 'MsgReadIndex',
  readIndexResp: 'MsgReadIndexResp',
  propose: 'MsgProp',
};

const ids = (list: readonly NodeId[]) => (list.length === 0 ? '-' : list.join(','));

function describeChange(cc: ConfChange | null): string {
  if (!cc) return 'malformed conf change';
  if (cc.kind === 'bootstrap') {
    const learners = cc.learners.length > 0 ? ` learners:${ids(cc.learners)}` : '';
    return `bootstrap voters:${ids(cc.voters)}${learners}`;
  }
  return `${cc.kind} ${cc.node}`;
}

/** `3@1 "x"`, `2@1 empty` or `4@1 addLearner 4`. */
export function formatEntry(e: Entry): string {
  const at = `${e.index}@${e.term}`;
  if (e.type === 'conf') return `${at} ${describeChange(decodeConfChange(e.data))}`;
  return e.data.length === 0 ? `${at} empty` : `${at} ${JSON.stringify(text(e))}`;
}

/** Indexes and terms only, a run per term: `2..4@1,5@2`. */
export function formatRanges(entries: readonly Entry[]): string {
  const runs: string[] = [];
  let i = 0;
  while (i < entries.length) {
    const first = entries[i] as Entry;
    let last = first;
    while (i + 1 < entries.length && (entries[i + 1] as Entry).term === first.term) {
      last = entries[++i] as Entry;
    }
    i++;
    const span = first.index === last.index ? `${first.index}` : `${first.index}..${last.index}`;
    runs.push(`${span}@${first.term}`);
  }
  return runs.join(',');
}

/** One readable line: `1->2 MsgApp term:1 prev:1@1 entries:2..3@1 commit:1`. */
export function formatMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${TYPE_NAMES[m.type]} term:${m.term}`;
  const ctx = (c: string) => (c === '' ? '' : ` ctx:${JSON.stringify(c)}`);
  switch (m.type) {
    case 'app': {
      const entries = m.entries.length > 0 ? ` entries:${formatRanges(m.entries)}` : '';
      return `${head} prev:${m.prevIndex}@${m.prevTerm}${entries} commit:${m.commit}`;
    }
    case 'appResp':
      return m.reject
        ? `${head} reject index:${m.index} hint:${m.hintIndex}@${m.hintTerm}`
        : `${head} index:${m.index}`;
    case 'vote':
      return `${head}${m.pre ? ' pre' : ''} lastIndex:${m.lastIndex} lastTerm:${m.lastTerm}${m.transfer ? ' transfer' : ''}`;
    case 'voteResp':
      return `${head}${m.pre ? ' pre' : ''} ${m.granted ? 'granted' : 'rejected'}`;
    case 'heartbeat':
      return `${head} commit:${m.commit}${ctx(m.context)}`;
    case 'heartbeatResp':
      return `${head}${ctx(m.context)}`;
    case 'snap': {
      const end = m.offset + m.chunk.length;
      return `${head} snap:${m.meta.index}@${m.meta.term} bytes:${m.offset}..${end}/${m.total}${m.done ? ' done' : ''}`;
    }
    case 'snapResp': {
      const outcome = m.reject ? ' reject' : m.applied ? ' applied' : '';
      return `${head} snap:${m.index} next:${m.nextOffset}${outcome}`;
    }
    case 'timeoutNow':
      return head;
    case 'readIndex':
      return `${head}${ctx(m.context)}`;
    case 'readIndexResp':
      return `${head}${ctx(m.context)}${m.reject ? ' reject' : ` index:${m.index}`}`;
    case 'propose':
      return `${head} entries:${formatRanges(m.entries)}`;
  }
}

/** Collects what the cluster does as lines (see the file comment for the shapes). */
class Tracer implements ClusterObserver {
  lines: string[] = [];

  constructor(private readonly cluster: TestCluster) {}

  ready(id: NodeId, rd: Ready): void {
    const out = (s: string) => this.lines.push(`${id} ${s}`);
    if (rd.softState) {
      const term = this.cluster.core(id).status().term;
      const { role, leader } = rd.softState;
      const follows = role === 'follower' ? ` leader:${leader === 0 ? 'none' : leader}` : '';
      out(`is ${role} term:${term}${follows}`);
    }
    if (rd.hardState) {
      const { term, vote, commit } = rd.hardState;
      out(`saves term:${term} vote:${vote} commit:${commit ?? 0}`);
    }
    if (rd.snapshot) {
      const { index, term, conf } = rd.snapshot.meta;
      out(
        `installs snapshot ${index}@${term} voters:${ids(conf.voters)} learners:${ids(conf.learners)} bytes:${rd.snapshot.data.length}`,
      );
    }
    if (rd.entries.length > 0) out(`stores ${formatRanges(rd.entries)}`);
    if (rd.committedEntries.length > 0) {
      out(`applies ${rd.committedEntries.map(formatEntry).join(', ')}`);
    }
    for (const r of rd.readStates) out(`read ${JSON.stringify(r.context)} at ${r.index}`);
    for (const c of rd.failedReads) out(`read ${JSON.stringify(c)} failed`);
  }

  deliver(m: Message, why: null | string): void {
    this.lines.push(why === null ? formatMessage(m) : `${formatMessage(m)} (${why})`);
  }
}

// -----------------------------------------------------------------------------------------
// Commands

interface Args {
  readonly pos: string[];
  readonly kv: Map<string, string>;
}

function parseArgs(words: string[]): Args {
  const pos: string[] = [];
  const kv = new Map<string, string>();
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq > 0) kv.set(w.slice(0, eq), w.slice(eq + 1));
    else pos.push(w);
  }
  return { pos, kv };
}

function int(s: string | undefined, what: string): number {
  const n = Number(s);
  if (s === undefined || !Number.isSafeInteger(n)) throw new Error(`${what}: expected a number`);
  return n;
}

function bool(s: string | undefined, fallback: boolean): boolean {
  if (s === undefined) return fallback;
  if (s !== 'true' && s !== 'false') throw new Error(`expected true or false, not ${s}`);
  return s === 'true';
}

/**
 * `1->2`, `1->*`, `*->2` or `*` (every message), optionally narrowed by `type=MsgApp`: which
 * queued messages `deliver` and `drop` act on.
 */
function messagePicker(args: Args): (m: Message) => boolean {
  const link = args.pos[0] ?? '*';
  const [from, to] = link === '*' ? ['*', '*'] : link.split('->');
  if (from === undefined || to === undefined) throw new Error(`bad link ${link}: use 1->2`);
  const type = args.kv.get('type');
  if (type !== undefined && !Object.values(TYPE_NAMES).includes(type)) {
    throw new Error(`unknown message type ${type}`);
  }
  return (m) =>
    (from === '*' || m.from === int(from, 'from')) &&
    (to === '*' || m.to === int(to, 'to')) &&
    (type === undefined || TYPE_NAMES[m.type] === type);
}

const CONF_KINDS = ['addLearner', 'addVoter', 'promote', 'remove'] as const;

/**
 * Runs commands against one TestCluster. API commands (campaign, propose, read-index,
 * transfer-leadership, conf-change, peer-unreachable) call the member and drain its Ready,
 * leaving its messages queued; `stabilize`, `deliver` and `tick` move messages.
 */
export class Interpreter {
  private cluster: TestCluster | null = null;
  private tracer: Tracer | null = null;
  private options: Partial<Omit<RaftConfig, 'id'>> = {};

  /** Runs one command line; returns its output lines (an error is output too). */
  run(line: string): string[] {
    const [name = '', ...rest] = line.trim().split(/\s+/);
    const args = parseArgs(rest);
    if (this.tracer) this.tracer.lines = [];
    try {
      if (name === 'cluster') return this.create(args);
      const c = this.need();
      this.dispatch(c, name, args);
      c.flush();
      return this.lines();
    } catch (err) {
      const e = err as RaftError;
      return [...(this.tracer?.lines ?? []), `error: ${e.code ? `${e.code}: ` : ''}${e.message}`];
    }
  }

  /** This command's output so far. */
  private lines(): string[] {
    return (this.tracer as Tracer).lines;
  }

  private need(): TestCluster {
    if (!this.cluster) throw new Error('no cluster: start with `cluster <n>`');
    return this.cluster;
  }

  /**
   * `cluster <n> [preVote=true] [checkQuorum=true] [electionTicks=10] [heartbeatTicks=1]
   * [promotionLag=1000] [snapshotChunkBytes=...]`: members 1..n, all voters, founded with
   * the founding membership entry as `RaftHost` does. Every member's randomized election
   * timeout is exactly electionTicks, so who times out first is up to the script.
   */
  private create(args: Args): string[] {
    const n = int(args.pos[0], 'cluster size');
    const opt = (k: string) => (args.kv.has(k) ? int(args.kv.get(k), k) : undefined);
    const options: Partial<Omit<RaftConfig, 'id'>> = {
      preVote: bool(args.kv.get('preVote'), true),
      checkQuorum: bool(args.kv.get('checkQuorum'), true),
      electionTicks: opt('electionTicks') ?? 10,
      heartbeatTicks: opt('heartbeatTicks') ?? 1,
    };
    const extra = ['promotionLag', 'snapshotChunkBytes', 'maxInflightMsgs', 'maxAppendBytes'];
    for (const k of extra) {
      const v = opt(k);
      if (v !== undefined) Object.assign(options, { [k]: v });
    }
    this.options = options;
    const members = Array.from({ length: n }, (_, i) => i + 1);
    this.cluster = new TestCluster(members, { ...options, bootstrap: true });
    this.tracer = new Tracer(this.cluster);
    this.cluster.observer = this.tracer;
    this.cluster.flush();
    return this.tracer.lines;
  }

  private dispatch(c: TestCluster, name: string, args: Args): void {
    const id = () => int(args.pos[0], 'member');
    const members = (s: string | undefined) =>
      s === undefined || s === 'all'
        ? [...c.members.keys()]
        : s.split(',').map((x) => int(x, 'member'));
    switch (name) {
      case 'campaign':
        return this.campaign(c, id());
      case 'tick':
        return this.tick(c, members(args.pos[0]), args);
      case 'stabilize':
        return c.deliverAll();
      case 'deliver':
        return c.deliverSome(messagePicker(args));
      case 'drop':
        return c.drop(messagePicker(args));
      case 'msgs':
        for (const m of c.inflight) this.lines().push(`${formatMessage(m)} (queued)`);
        return;
      case 'isolate':
        return c.isolate(id());
      case 'cut': {
        const [from, to] = (args.pos[0] ?? '').split('->');
        c.cut.add(`${int(from, 'from')}>${int(to, 'to')}`);
        return;
      }
      case 'heal':
        return c.heal();
      case 'propose':
        c.core(id()).propose(data(args.pos[1] ?? ''));
        return;
      case 'read-index':
        return c.core(id()).readIndex(args.pos[1] ?? '');
      case 'transfer-leadership':
        return c
          .core(int(args.kv.get('from'), 'from'))
          .transferLeadership(int(args.kv.get('to'), 'to'));
      case 'peer-unreachable': {
        const peer = int(args.kv.get('peer'), 'peer');
        for (const at of members(args.kv.get('at'))) c.core(at).peerUnreachable(peer);
        return;
      }
      case 'add-member':
        // A new, empty member that knows no voters: it learns them from the leader's log.
        c.add(id(), { voters: [], learners: [] }, this.options);
        return;
      case 'conf-change': {
        const kind = args.pos[1] as (typeof CONF_KINDS)[number];
        if (!CONF_KINDS.includes(kind))
          throw new Error(`conf-change kinds: ${CONF_KINDS.join(' ')}`);
        c.core(id()).proposeConfChange({ kind, node: int(args.pos[2], 'node') });
        return;
      }
      case 'compact':
        return this.compact(c, id(), args);
      case 'status':
        for (const m of members(args.pos[0])) this.status(c, m);
        return;
      case 'log':
        for (const e of c.get(id()).log) this.lines().push(formatEntry(e));
        return;
      default:
        throw new Error(`unknown command ${name}`);
    }
  }

  /** Ticks the member, nothing delivered meanwhile, until its election timer fires. */
  private campaign(c: TestCluster, id: NodeId): void {
    const core = c.core(id);
    if (core.status().role === 'leader') throw new Error(`member ${id} leads already`);
    const before = core.status().role;
    for (let i = 1; i <= 100; i++) {
      core.tick();
      if (core.status().role !== before) {
        this.lines().push(`${id} campaigns after ${i} ticks`);
        return;
      }
    }
    throw new Error(`member ${id} did not campaign within 100 ticks`);
  }

  /**
   * `tick <ids|all> [n=1] [hold]`: n rounds; in each, the members tick in turn, then the network
   * delivers until quiet (as TestCluster.tickAll), unless `hold` keeps the messages queued.
   * A round that did something is headed `tick k` when n > 1.
   */
  private tick(c: TestCluster, who: NodeId[], args: Args): void {
    const n = args.kv.has('n') ? int(args.kv.get('n'), 'n') : 1;
    const hold = args.pos.includes('hold');
    const lines = this.lines();
    for (let round = 1; round <= n; round++) {
      const mark = lines.length;
      for (const id of who) c.core(id).tick();
      if (hold) c.flush();
      else c.deliverAll();
      if (n > 1 && lines.length > mark) lines.splice(mark, 0, `tick ${round}`);
    }
  }

  /** `compact <id> [retain=0] [image=...]`: a snapshot at the applied index, as the runtime takes one. */
  private compact(c: TestCluster, id: NodeId, args: Args): void {
    const core = c.core(id);
    const { applied, conf } = core.status();
    const term = core.termAt(applied) ?? 0;
    const image = data(args.kv.get('image') ?? `image-at-${applied}`);
    const retain = args.kv.has('retain') ? int(args.kv.get('retain'), 'retain') : 0;
    core.compact({ meta: { index: applied, term, conf }, data: image }, retain);
    const s = core.status();
    this.lines().push(`${id} snapshot ${applied}@${term}, log now ${s.firstIndex}..${s.lastIndex}`);
  }

  private status(c: TestCluster, id: NodeId): void {
    const s = c.core(id).status();
    const lines = this.lines();
    const leader = s.role === 'leader' ? '' : ` leader:${s.leader === 0 ? 'none' : s.leader}`;
    const learners = s.conf.learners.length > 0 ? ` learners:${ids(s.conf.learners)}` : '';
    const transferee = s.transferee === 0 ? '' : ` transferee:${s.transferee}`;
    lines.push(
      `${id} ${s.role} term:${s.term} vote:${s.vote}${leader} commit:${s.commit} applied:${s.applied} log:${s.firstIndex}..${s.lastIndex} voters:${ids(s.conf.voters)}${learners}${transferee}`,
    );
    for (const p of s.peers) {
      const kind = p.voter ? 'voter' : 'learner';
      const active = p.recentActive ? '' : ' inactive';
      lines.push(`  ->${p.id} ${kind} match:${p.match} next:${p.next} ${p.state}${active}`);
    }
  }
}

// -----------------------------------------------------------------------------------------
// Files

type Item =
  | { readonly kind: 'text'; readonly line: string }
  | { readonly kind: 'command'; readonly line: string; readonly expected: string[] | null };

/** Splits a transcript into kept text (comments, blank lines) and commands with their output. */
export function parseTranscript(source: string): Item[] {
  const lines = source.replace(/\n$/, '').split('\n');
  const items: Item[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) {
      items.push({ kind: 'text', line });
      continue;
    }
    if (lines[i + 1] !== '----') {
      items.push({ kind: 'command', line, expected: null });
      continue;
    }
    const expected: string[] = [];
    for (i += 2; i < lines.length && (lines[i] as string).trim() !== ''; i++) {
      expected.push(lines[i] as string);
    }
    i--;
    items.push({ kind: 'command', line, expected });
  }
  return items;
}

/** Replays a transcript on a fresh interpreter; returns the file as it should read now. */
export function replayTranscript(source: string): string {
  const interpreter = new Interpreter();
  const out: string[] = [];
  for (const item of parseTranscript(source)) {
    if (item.kind === 'text') {
      out.push(item.line);
      continue;
    }
    out.push(item.line, '----', ...interpreter.run(item.line));
  }
  return `${out.join('\n')}\n`;
}

/**
 * A unified diff (`---`/`+++`, `@@` hunks with three lines of context) of two texts, line by
 * line, from their longest common subsequence. Transcripts are a few hundred lines, so the
 * quadratic table is cheap, and the diff reads like `git diff` of the file.
 */
export function unifiedDiff(expected: string, actual: string, name: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      const row = lcs[i] as number[];
      row[j] =
        a[i] === b[j]
          ? ((lcs[i + 1] as number[])[j + 1] as number) + 1
          : Math.max((lcs[i + 1] as number[])[j] as number, row[j + 1] as number);
    }
  }
  const ops: { op: ' ' | '-' | '+'; line: string; ai: number; bi: number }[] = [];
  let i = 0;
  let j = 0;
  const at = (x: number, y: number) => (lcs[x] as number[])[y] as number;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ op: ' ', line: a[i] as string, ai: i++, bi: j++ });
    } else if (i < a.length && (j === b.length || at(i + 1, j) >= at(i, j + 1))) {
      ops.push({ op: '-', line: a[i] as string, ai: i++, bi: j });
    } else {
      ops.push({ op: '+', line: b[j] as string, ai: i, bi: j++ });
    }
  }
  const out = [`--- ${name} (expected)`, `+++ ${name} (actual)`];
  const context = 3;
  let k = 0;
  while (k < ops.length) {
    if ((ops[k] as (typeof ops)[number]).op === ' ') {
      k++;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` after the last change
    // that lies within 2 * context lines of the previous one.
    const start = Math.max(0, k - context);
    let end = k;
    for (let m = k; m < ops.length && m <= end + 2 * context; m++) {
      if ((ops[m] as (typeof ops)[number]).op !== ' ') end = m;
    }
    const stop = Math.min(ops.length, end + context + 1);
    const hunk = ops.slice(start, stop);
    const first = hunk[0] as (typeof ops)[number];
    const aLen = hunk.filter((o) => o.op !== '+').length;
    const bLen = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${first.ai + 1},${aLen} +${first.bi + 1},${bLen} @@`);
    for (const o of hunk) out.push(`${o.op}${o.line}`);
    k = stop;
  }
  return out.join('\n');
}
