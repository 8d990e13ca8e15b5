/**
 * A linearizability checker for histories recorded from the Raft simulator, from real
 * clusters and from chaos tests.
 *
 * The search is Wing & Gong's, with Lowe's memoization (the design of the Go library
 * porcupine): call and return events sit in one time-ordered linked list; the checker
 * repeatedly tries to linearize an operation whose call precedes every pending return, lifts
 * it out of the list, and backtracks when it reaches a return it could not explain. Every
 * (set of linearized operations, model state) configuration is visited at most once.
 * Two additions keep it fast where porcupine struggles, both sound for any model: reads are
 * linearized eagerly (see `searchLinearization`), and a model may first set aside operations
 * that cannot affect the verdict (for the key-value register, most writes whose outcome is
 * unknown: see `simplifyKvPartition`).
 *
 * Models may split a history into independent partitions (for the key-value register, one
 * per key). Linearizability is local (Herlihy & Wing), so a history is linearizable iff every
 * partition is, and small partitions keep the exponential worst case small. The search is
 * still exponential in the worst case, so time and memory are bounded: past the budget the
 * verdict is `timeout`.
 */
import {
  assertWellFormed,
  MalformedHistoryError,
  type HistoryOperation,
  type KvInput,
  type KvOutput,
  type Operation,
} from './history.js';

export {
  HistoryRecorder,
  HistoryRecorderMisuseError,
  MalformedHistoryError,
  type HistoryOperation,
  type KvInput,
  type KvOutput,
  type Operation,
  type PendingOperation,
} from './history.js';

/** The answer of a model to "may this operation take effect now, with this output?". */
export type StepResult<State> =
  { readonly ok: true; readonly next: State } | { readonly ok: false };

/**
 * A sequential specification the checker compares histories against. `step` must be a pure
 * function. States are compared with `key` when given (equal keys = interchangeable states),
 * else with `equal`, else with `Object.is`; without a sound comparison the memoization is
 * lost but verdicts stay correct.
 */
export interface Model<State, In, Out> {
  /** Names the independent partition an operation belongs to; omit to check one whole history. */
  partition?(input: In): string;
  /** The state before any operation of `partition` (`''` when the model does not partition). */
  init(partition: string): State;
  /**
   * Applies `input` to `state`, accepting it only if it could have produced `output`.
   * `output` is `null` when the outcome is unknown: the step must then accept, in every
   * state, whatever the operation would have returned (the checker relies on being able to
   * place such an operation last, which stands for "it never took effect").
   */
  step(state: State, input: In, output: Out | null): StepResult<State>;
  key?(state: State): string | number;
  equal?(a: State, b: State): boolean;
  /**
   * Optional: true when this operation, with this output, leaves unchanged every state that
   * accepts it (a read, a failed compare-and-swap). Such operations are linearized as soon as
   * the model accepts them, without backtracking over the alternatives: the search stays
   * fast under many concurrent readers. Answering true for an operation that can change the
   * state makes verdicts wrong.
   */
  readOnly?(input: In, output: Out | null): boolean;
  /**
   * Optional rewriting of one partition before the search: for each operation, `undefined`
   * to drop it, or what to check in its place (itself, or a copy whose outcome is pinned down
   * by the rest of the history). The rewritten history must be linearizable iff the given one
   * is. Explanations still show the operations as recorded.
   */
  simplify?(
    operations: readonly HistoryOperation<In, Out>[],
    initial: State,
  ): readonly (HistoryOperation<In, Out> | undefined)[];
  /** One line for a human: what the operation asked and what it saw. */
  describeOperation(input: In, output: Out | null): string;
  describeState(state: State): string;
}

/**
 * `timeout` means the budget (time, or memory for remembered configurations) ran out before a
 * verdict: treat it as "unknown", never as a pass.
 */
export type Verdict = 'linearizable' | 'not_linearizable' | 'timeout';

/** Why a partition is not linearizable. */
export interface LinearizabilityFailure<In, Out> {
  /** The partition (for the key-value register, the key) that failed. */
  key: string;
  /** Several lines for a human: the longest linearizable prefix found and what could not follow. */
  explanation: string;
  /**
   * The operations that could not be placed after `prefix`: each could have come next in real
   * time, and none leads to a linearization (usually the model rejects each outright in the
   * state `prefix` leads to; the explanation says which).
   */
  operations: HistoryOperation<In, Out>[];
  /** The longest linearizable prefix the search found, in linearization order. */
  prefix: HistoryOperation<In, Out>[];
}

export interface CheckResult<In = KvInput, Out = KvOutput> {
  /** True iff the verdict is `linearizable`. */
  ok: boolean;
  verdict: Verdict;
  /** Partitions that got a verdict; the check stops at the first that is not linearizable. */
  keysChecked: number;
  /** Partitions left undecided when the budget ran out (only with verdict `timeout`). */
  timedOutKeys?: string[];
  failure?: LinearizabilityFailure<In, Out>;
}

export interface CheckOptions {
  /** Total budget for the whole history, in milliseconds. Default {@link DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /**
   * Most configurations remembered while checking one partition (about 70 bytes each, plus
   * the states when they are not shared). Default {@link DEFAULT_MAX_CONFIGURATIONS}. Reaching it ends that
   * partition with a `timeout` verdict rather than exhausting the process's memory.
   */
  maxConfigurations?: number;
}

/** Budget used when the caller gives none: the checker is always bounded in time. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** Memory bound used when the caller gives none: about 300 MB at most. */
export const DEFAULT_MAX_CONFIGURATIONS = 4_000_000;

/** How many search steps run between two looks at the clock (reading it is not free). */
const STEPS_BETWEEN_CLOCK_READS = 128;

/** Lines of the prefix and of the candidates shown in an explanation; the rest is counted. */
const PREFIX_LINES_SHOWN = 10;
const CANDIDATE_LINES_SHOWN = 20;
/** Longer operation descriptions are not padded, so one huge value cannot widen every line. */
const MAX_COLUMN_WIDTH = 60;

/**
 * Decides whether `operations` is linearizable with respect to `model`. Unknown-outcome
 * operations (`return === null`) may take effect at any point after their call, or never.
 * Calls and returns at equal times are treated as concurrent, so clock resolution never
 * produces a false failure. A `not_linearizable` verdict is definitive even if other
 * partitions timed out.
 *
 * @throws MalformedHistoryError when the history itself is inconsistent (see `assertWellFormed`).
 */
export function checkOperations<State, In, Out>(
  model: Model<State, In, Out>,
  operations: readonly HistoryOperation<In, Out>[],
  options: CheckOptions = {},
): CheckResult<In, Out> {
  assertWellFormed(operations);
  const budget: SearchBudget = {
    deadline: performance.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    maxConfigurations: options.maxConfigurations ?? DEFAULT_MAX_CONFIGURATIONS,
  };
  // Small partitions first: they finish fast, so a failure among them is found even when a
  // big one would exhaust the budget, and the explanation stays short.
  const partitions = partitionHistory(model, operations).sort(
    (a, b) => a.operations.length - b.operations.length || (a.key < b.key ? -1 : 1),
  );

  let keysChecked = 0;
  const timedOutKeys: string[] = [];
  for (const partition of partitions) {
    const outcome =
      performance.now() > budget.deadline
        ? ({ verdict: 'timeout' } as const)
        : searchLinearization(model, partition.key, partition.operations, budget);
    if (outcome.verdict === 'timeout') {
      timedOutKeys.push(partition.key);
      continue;
    }
    keysChecked += 1;
    if (outcome.verdict === 'not_linearizable') {
      return {
        ok: false,
        verdict: 'not_linearizable',
        keysChecked,
        failure: explainFailure(model, partition, outcome.prefix),
      };
    }
  }
  if (timedOutKeys.length > 0) {
    return { ok: false, verdict: 'timeout', keysChecked, timedOutKeys };
  }
  return { ok: true, verdict: 'linearizable', keysChecked };
}

/** An operation as checked, with the operation as recorded and its position in the history. */
interface IndexedOperation<In, Out> {
  readonly index: number;
  readonly op: HistoryOperation<In, Out>;
  readonly recorded: HistoryOperation<In, Out>;
}

/** One partition's operations as the search sees them. */
interface Partition<In, Out> {
  readonly key: string;
  readonly operations: readonly IndexedOperation<In, Out>[];
  /** How many operations the history had for this partition, before `simplify`. */
  readonly recordedCount: number;
}

function partitionHistory<State, In, Out>(
  model: Model<State, In, Out>,
  operations: readonly HistoryOperation<In, Out>[],
): Partition<In, Out>[] {
  const byKey = new Map<string, IndexedOperation<In, Out>[]>();
  operations.forEach((op, index) => {
    const key = model.partition?.(op.input) ?? '';
    let list = byKey.get(key);
    if (list === undefined) {
      list = [];
      byKey.set(key, list);
    }
    list.push({ index, op, recorded: op });
  });
  return [...byKey].map(([key, list]) => {
    if (model.simplify === undefined) return { key, operations: list, recordedCount: list.length };
    const rewritten = model.simplify(
      list.map(({ op }) => op),
      model.init(key),
    );
    const simplified = list.flatMap(({ index, recorded }, position) => {
      const op = rewritten[position];
      return op === undefined ? [] : [{ index, op, recorded }];
    });
    return { key, operations: simplified, recordedCount: list.length };
  });
}

type SearchOutcome =
  | { readonly verdict: 'linearizable' }
  | { readonly verdict: 'timeout' }
  /** `prefix` holds positions in the partition, in linearization order. */
  | { readonly verdict: 'not_linearizable'; readonly prefix: readonly number[] };

/** Marks the end of the event list. */
const NIL = -1;
/** The list's sentinel node; events are nodes 1..2n in time order. */
const HEAD = 0;

interface SearchBudget {
  /** `performance.now()` reading after which the search gives up. */
  readonly deadline: number;
  readonly maxConfigurations: number;
}

/**
 * The WGL search over one partition.
 *
 * One refinement over porcupine: read-only operations are linearized eagerly. If a read the
 * model accepts now could come next, then any completion of the current configuration can be
 * rearranged to start with that read (it changes no state, and nothing remaining had to
 * precede it in real time), so the search takes it without trying the alternatives, and when
 * that fails the current configuration fails too. Without this, every read multiplies the
 * configurations by the positions it could take, and a dozen concurrent clients on one key
 * exhaust any budget.
 */
function searchLinearization<State, In, Out>(
  model: Model<State, In, Out>,
  key: string,
  indexed: readonly IndexedOperation<In, Out>[],
  budget: SearchBudget,
): SearchOutcome {
  const n = indexed.length;
  const { next, prev, nodeOp, matchOf, callNode } = buildEventList(indexed);
  const readOnly = new Uint8Array(n);
  indexed.forEach(({ op }, opIndex) => {
    readOnly[opIndex] = model.readOnly?.(op.input, op.output) === true ? 1 : 0;
  });

  // The linearized set, one bit per operation in call order (see `encodeLinearized`).
  const linearized = new Uint32Array(Math.ceil(n / 32));
  const bitOf = callRanks(callNode);
  const encoded = new Int32Array(linearized.length + 1);
  // Zobrist hashing: the hash of a set is the xor of its members' random words, so adding or
  // removing one operation updates it in O(1).
  const zobrist = zobristWords(n);
  let hash = 0;
  const visited = new VisitedConfigurations<State>(stateComparison(model), model.key !== undefined);

  /** The search path: call nodes of the linearized operations, and the state before each. */
  const pathCalls: number[] = [];
  const pathStates: State[] = [];
  let longestPrefix: readonly number[] = [];
  let state = model.init(key);
  /** Where the scan for the next operation to try stands. */
  let entry = HEAD;

  /** Linearizes the operation called at `call`, unless that configuration was already explored. */
  const tryLinearize = (call: number, nextState: State): boolean => {
    const opIndex = nodeOp[call]!;
    toggle(linearized, bitOf[opIndex]!);
    hash ^= zobrist[opIndex]!;
    const length = encodeLinearized(linearized, encoded);
    // Configurations are only ever left on failure, so one visited before has failed.
    if (!visited.addIfNew(hash, encoded, length, nextState, model.key?.(nextState))) {
      toggle(linearized, bitOf[opIndex]!);
      hash ^= zobrist[opIndex]!;
      return false;
    }
    pathCalls.push(call);
    pathStates.push(state);
    state = nextState;
    lift(next, prev, call, matchOf[call]!);
    return true;
  };

  /**
   * Undoes linearizations back to the last choice that has alternatives left, and resumes the
   * scan after it. False when there is none: the partition is not linearizable.
   */
  const backtrack = (): boolean => {
    if (pathCalls.length > longestPrefix.length) {
      longestPrefix = pathCalls.map((call) => nodeOp[call]!);
    }
    for (;;) {
      const top = pathCalls.pop();
      if (top === undefined) return false;
      state = pathStates.pop()!;
      const opIndex = nodeOp[top]!;
      toggle(linearized, bitOf[opIndex]!);
      hash ^= zobrist[opIndex]!;
      unlift(next, prev, top, matchOf[top]!);
      // An eagerly linearized read was the only child worth trying: its parent fails with it.
      if (readOnly[opIndex] === 0) {
        entry = next[top]!;
        return true;
      }
    }
  };

  /** The call of a read-only operation that could come next and that the model accepts now. */
  const acceptedRead = (): { call: number; nextState: State } | undefined => {
    for (let call = next[HEAD]!; matchOf[call] !== NIL; call = next[call]!) {
      const opIndex = nodeOp[call]!;
      if (readOnly[opIndex] === 0) continue;
      const { op } = indexed[opIndex]!;
      const result = model.step(state, op.input, op.output);
      if (result.ok) return { call, nextState: result.next };
    }
    return undefined;
  };

  const notLinearizable = (): SearchOutcome => ({
    verdict: 'not_linearizable',
    prefix: longestPrefix,
  });

  /** True right after linearizing: the new configuration has not been looked at yet. */
  let arrived = true;
  let steps = 0;
  while (next[HEAD] !== NIL) {
    steps += 1;
    if (steps % STEPS_BETWEEN_CLOCK_READS === 0 && performance.now() > budget.deadline) {
      return { verdict: 'timeout' };
    }
    if (visited.count >= budget.maxConfigurations) return { verdict: 'timeout' };
    if (arrived) {
      arrived = false;
      const read = acceptedRead();
      if (read === undefined) {
        entry = next[HEAD]!;
      } else if (tryLinearize(read.call, read.nextState)) {
        arrived = true;
      } else if (!backtrack()) {
        return notLinearizable();
      }
      continue;
    }
    if (matchOf[entry] === NIL) {
      // The earliest pending return: no operation called after it can come next.
      if (!backtrack()) return notLinearizable();
      continue;
    }
    // Reads were all tried on arrival at this configuration; only writes remain to try.
    const opIndex = nodeOp[entry]!;
    if (readOnly[opIndex] === 0) {
      const { op } = indexed[opIndex]!;
      const result = model.step(state, op.input, op.output);
      if (result.ok && tryLinearize(entry, result.next)) {
        arrived = true;
        continue;
      }
    }
    entry = next[entry]!;
  }
  return { verdict: 'linearizable' };
}

/** The doubly linked event list, as parallel arrays indexed by node. */
interface EventList {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** The partition position of each node's operation. */
  readonly nodeOp: Int32Array;
  /** For a call node, its return node; `NIL` for return nodes and the head. */
  readonly matchOf: Int32Array;
  /** For each operation, its call node and return node (node numbers are time order). */
  readonly callNode: Int32Array;
  readonly returnNode: Int32Array;
}

/**
 * Orders call and return events by time. At equal times calls come first, so an operation
 * called at the very instant another returned counts as concurrent with it. Unknown outcomes
 * return at +infinity: they stay placeable until the end.
 */
function buildEventList<In, Out>(indexed: readonly IndexedOperation<In, Out>[]): EventList {
  const n = indexed.length;
  const time = (event: number): number => {
    const { op } = indexed[event % n]!;
    return event < n ? op.call : (op.return ?? Number.POSITIVE_INFINITY);
  };
  const order = Array.from({ length: 2 * n }, (_, event) => event).sort((a, b) => {
    const byTime = time(a) - time(b);
    if (byTime !== 0 && !Number.isNaN(byTime)) return byTime;
    const aIsCall = a < n;
    const bIsCall = b < n;
    if (aIsCall !== bIsCall) return aIsCall ? -1 : 1;
    return a - b;
  });

  const nodes = 2 * n + 1;
  const list: EventList = {
    next: new Int32Array(nodes),
    prev: new Int32Array(nodes),
    nodeOp: new Int32Array(nodes).fill(NIL),
    matchOf: new Int32Array(nodes).fill(NIL),
    callNode: new Int32Array(n),
    returnNode: new Int32Array(n),
  };
  order.forEach((event, position) => {
    const node = position + 1;
    const opIndex = event % n;
    list.nodeOp[node] = opIndex;
    if (event < n) list.callNode[opIndex] = node;
    else list.returnNode[opIndex] = node;
  });
  for (let node = 0; node < nodes; node++) {
    list.prev[node] = node - 1;
    list.next[node] = node + 1 < nodes ? node + 1 : NIL;
  }
  for (let opIndex = 0; opIndex < n; opIndex++) {
    list.matchOf[list.callNode[opIndex]!] = list.returnNode[opIndex]!;
  }
  return list;
}

/** Removes an operation's call and return from the list; `unlift` must undo in LIFO order. */
function lift(next: Int32Array, prev: Int32Array, call: number, ret: number): void {
  next[prev[call]!] = next[call]!;
  prev[next[call]!] = prev[call]!;
  next[prev[ret]!] = next[ret]!;
  if (next[ret] !== NIL) prev[next[ret]!] = prev[ret]!;
}

function unlift(next: Int32Array, prev: Int32Array, call: number, ret: number): void {
  next[prev[ret]!] = ret;
  if (next[ret] !== NIL) prev[next[ret]!] = ret;
  next[prev[call]!] = call;
  prev[next[call]!] = call;
}

function toggle(bits: Uint32Array, index: number): void {
  bits[index >>> 5]! ^= 1 << (index & 31);
}

/** Each operation's rank in call order, which is its bit in the linearized set. */
function callRanks(callNode: Int32Array): Int32Array {
  const order = Array.from(callNode.keys()).sort((a, b) => callNode[a]! - callNode[b]!);
  const ranks = new Int32Array(callNode.length);
  order.forEach((opIndex, rank) => {
    ranks[opIndex] = rank;
  });
  return ranks;
}

/**
 * Writes a linearized set compactly into `out`, returning the length used: the number of
 * leading words that are full, then the words from there to the last non-empty one. Bits are
 * positions in call order and the search linearizes roughly in call order, so a set takes
 * about as many words as the concurrency needs, however long the history.
 */
function encodeLinearized(bits: Uint32Array, out: Int32Array): number {
  let first = 0;
  while (first < bits.length && bits[first] === 0xffffffff) first++;
  let last = bits.length - 1;
  while (last >= first && bits[last] === 0) last--;
  out[0] = first;
  let length = 1;
  for (let word = first; word <= last; word++) out[length++] = bits[word]!;
  return length;
}

/**
 * The configurations (linearized set, model state) the search has visited, in flat typed
 * arrays and a hash table of their own: an encoded set costs a few words, so millions fit in
 * a few hundred megabytes where objects and a `Map` would take several times more.
 */
class VisitedConfigurations<State> {
  readonly #sameState: StateComparison<State>;
  readonly #keyed: boolean;
  /** Encoded sets, back to back; configuration `id` is `pool[offsets[id] .. + lengths[id]]`. */
  #pool = new Int32Array(4096);
  #poolUsed = 0;
  #offsets = new Int32Array(1024);
  #lengths = new Int32Array(1024);
  #hashes = new Int32Array(1024);
  /** Chains the configurations that share a slot of `table`. */
  #nextInSlot = new Int32Array(1024);
  /** Open hash table: slot `hash & (length - 1)` holds the latest configuration there. */
  #table = new Int32Array(2048).fill(NIL);
  readonly #states: State[] = [];
  readonly #stateKeys: (string | number | undefined)[] = [];

  constructor(sameState: StateComparison<State>, keyed: boolean) {
    this.#sameState = sameState;
    this.#keyed = keyed;
  }

  get count(): number {
    return this.#states.length;
  }

  /** Remembers the configuration; false when it was already there. */
  addIfNew(
    hash: number,
    encoded: Int32Array,
    length: number,
    state: State,
    stateKey: string | number | undefined,
  ): boolean {
    for (
      let id = this.#table[hash & (this.#table.length - 1)]!;
      id !== NIL;
      id = this.#nextInSlot[id]!
    ) {
      if (
        this.#hashes[id] === hash &&
        this.#lengths[id] === length &&
        this.#sameState(this.#states[id]!, this.#stateKeys[id], state, stateKey) &&
        this.#sameEncoding(id, encoded, length)
      ) {
        return false;
      }
    }
    const id = this.#states.length;
    if (id === this.#offsets.length) {
      this.#offsets = grown(this.#offsets, id * 2);
      this.#lengths = grown(this.#lengths, id * 2);
      this.#hashes = grown(this.#hashes, id * 2);
      this.#nextInSlot = grown(this.#nextInSlot, id * 2);
    }
    if (this.#poolUsed + length > this.#pool.length) {
      this.#pool = grown(
        this.#pool,
        Math.max(Math.ceil(this.#pool.length * 1.5), this.#poolUsed + length),
      );
    }
    this.#pool.set(encoded.subarray(0, length), this.#poolUsed);
    this.#offsets[id] = this.#poolUsed;
    this.#lengths[id] = length;
    this.#poolUsed += length;
    this.#hashes[id] = hash;
    this.#states.push(state);
    if (this.#keyed) this.#stateKeys.push(stateKey);
    this.#link(id);
    if (this.#states.length * 2 > this.#table.length) this.#rehash(this.#table.length * 2);
    return true;
  }

  #link(id: number): void {
    const slot = this.#hashes[id]! & (this.#table.length - 1);
    this.#nextInSlot[id] = this.#table[slot]!;
    this.#table[slot] = id;
  }

  #rehash(size: number): void {
    this.#table = new Int32Array(size).fill(NIL);
    for (let id = 0; id < this.#states.length; id++) this.#link(id);
  }

  #sameEncoding(id: number, encoded: Int32Array, length: number): boolean {
    const offset = this.#offsets[id]!;
    for (let i = 0; i < length; i++) if (this.#pool[offset + i] !== encoded[i]) return false;
    return true;
  }
}

function grown(array: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(length);
  bigger.set(array);
  return bigger;
}

/** Deterministic pseudo-random words (xorshift32), so runs are reproducible. */
function zobristWords(count: number): Int32Array {
  const words = new Int32Array(count);
  let x = 0x9e3779b9 | 0;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    // Non-negative and below 2^30: small integers for V8, and maskable into a table slot.
    words[i] = x & 0x3fffffff;
  }
  return words;
}

type StateComparison<State> = (
  a: State,
  aKey: string | number | undefined,
  b: State,
  bKey: string | number | undefined,
) => boolean;

function stateComparison<State, In, Out>(model: Model<State, In, Out>): StateComparison<State> {
  if (model.key !== undefined) return (_a, aKey, _b, bKey) => aKey === bKey;
  const equal = model.equal?.bind(model);
  if (equal !== undefined) return (a, _aKey, b) => equal(a, b);
  return (a, _aKey, b) => Object.is(a, b);
}

/**
 * Turns the search's longest prefix into something a human can act on: the prefix with the
 * state after each operation, then the operations that could have come next and the state
 * that rejects them.
 */
function explainFailure<State, In, Out>(
  model: Model<State, In, Out>,
  partition: Partition<In, Out>,
  longestPrefix: readonly number[],
): LinearizabilityFailure<In, Out> {
  const { key, operations: indexed } = partition;
  const { callNode, returnNode } = buildEventList(indexed);
  const describe = (opIndex: number): string => {
    const { index, recorded } = indexed[opIndex]!;
    const { clientId, input, output } = recorded;
    return `#${index} client ${clientId}: ${model.describeOperation(input, output)}`;
  };
  const window = (opIndex: number): string => {
    const op = indexed[opIndex]!.recorded;
    const returned = op.return === null ? 'outcome unknown' : `return ${formatTime(op.return)}`;
    return `[call ${formatTime(op.call)}, ${returned}]`;
  };

  // Operations with unknown outcome fit anywhere, so a prefix that ends with them says
  // nothing more than one without them, and hides the state that matters.
  let prefixLength = longestPrefix.length;
  while (prefixLength > 0 && indexed[longestPrefix[prefixLength - 1]!]!.op.return === null) {
    prefixLength -= 1;
  }
  const prefix = longestPrefix.slice(0, prefixLength);

  // Replay the prefix for the states; the search accepted every step.
  let state = model.init(key);
  const prefixRows: string[][] = [];
  for (const opIndex of prefix) {
    const { op } = indexed[opIndex]!;
    const result = model.step(state, op.input, op.output);
    if (result.ok) state = result.next;
    prefixRows.push([describe(opIndex), window(opIndex), `→ ${model.describeState(state)}`]);
  }

  // The candidates: every remaining operation called before the earliest remaining return.
  const placed = new Set(prefix);
  const remaining = indexed.map((_, opIndex) => opIndex).filter((i) => !placed.has(i));
  const firstReturn = remaining.reduce(
    (earliest, i) => (returnNode[i]! < returnNode[earliest]! ? i : earliest),
    remaining[0]!,
  );
  const candidates = remaining
    .filter((i) => callNode[i]! < returnNode[firstReturn]!)
    .sort((a, b) => callNode[a]! - callNode[b]!);
  let possible = 0;
  const candidateRows = candidates.map((opIndex) => {
    const { op } = indexed[opIndex]!;
    if (!model.step(state, op.input, op.output).ok) return [describe(opIndex), window(opIndex)];
    possible += 1;
    return [describe(opIndex), window(opIndex), '(possible here, but a dead end)'];
  });

  const where = model.partition === undefined ? 'The history' : `Key ${JSON.stringify(key)}`;
  const setAside = partition.recordedCount - indexed.length;
  const lines = [
    `${where} is not linearizable (${count(partition.recordedCount, 'operation')}` +
      (setAside > 0 ? `, of which ${setAside} cannot affect the verdict).` : ').'),
  ];
  if (prefix.length > 0) {
    lines.push(
      `Longest linearizable prefix found: ${prefix.length} of ${count(indexed.length, 'operation')}, ` +
        `starting from ${model.describeState(model.init(key))}:`,
    );
  }
  const hiddenPrefix = Math.max(0, prefixRows.length - PREFIX_LINES_SHOWN);
  const shownPrefix = prefixRows.slice(hiddenPrefix);
  const shownCandidates = candidateRows.slice(0, CANDIDATE_LINES_SHOWN);
  const widths = columnWidths([...shownPrefix, ...shownCandidates]);
  if (hiddenPrefix > 0) lines.push(`  … ${count(hiddenPrefix, 'earlier operation')}`);
  lines.push(...formatRows(shownPrefix, widths));
  const stateNow = model.describeState(state);
  const next = prefix.length === 0 ? 'first' : 'next';
  const verdict =
    possible > 0
      ? `none of the ${candidates.length} operations that could come ${next} leads to a linearization from state ${stateNow}:`
      : candidates.length === 1
        ? `the only operation that could come ${next} is impossible in state ${stateNow}:`
        : `none of the ${candidates.length} operations that could come ${next} is possible in state ${stateNow}:`;
  lines.push(
    prefix.length === 0 ? verdict[0]!.toUpperCase() + verdict.slice(1) : `Then ${verdict}`,
  );
  lines.push(...formatRows(shownCandidates, widths));
  if (candidateRows.length > CANDIDATE_LINES_SHOWN) {
    lines.push(`  … and ${candidateRows.length - CANDIDATE_LINES_SHOWN} more`);
  }
  const deadline = indexed[firstReturn]!;
  const by = formatTime(deadline.op.return ?? Number.POSITIVE_INFINITY);
  const when =
    deadline.recorded.return === null
      ? `#${deadline.index} must have taken effect by ${by} (its outcome is unknown, but the rest of the history requires it)`
      : `#${deadline.index} returned at ${by}`;
  lines.push(
    candidates.length === 1
      ? `${when}, and nothing called after that can precede it.`
      : `${when}, and nothing called after that can precede it, so one of these had to come next.`,
  );

  return {
    key,
    explanation: lines.join('\n'),
    operations: candidates.map((i) => indexed[i]!.recorded),
    prefix: prefix.map((i) => indexed[i]!.recorded),
  };
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Widths that align the columns of every table in one explanation. */
function columnWidths(rows: readonly (readonly string[])[]): number[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, column) => {
      widths[column] = Math.min(MAX_COLUMN_WIDTH, Math.max(widths[column] ?? 0, cell.length));
    });
  }
  return widths;
}

function formatRows(rows: readonly (readonly string[])[], widths: readonly number[]): string[] {
  return rows.map(
    (row) =>
      '  ' +
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
        .join('  ')
        .trimEnd(),
  );
}

function formatTime(time: number): string {
  return Number.isInteger(time) ? String(time) : String(Number(time.toFixed(3)));
}

// ---------------------------------------------------------------------------------------------
// The key-value register

/** The value of one key; `null` when the key is absent. */
export type KvState = string | null;

/**
 * A map of independent registers, partitioned by key. `put` sets, `delete` removes, `get`
 * returns the value (`null` when absent), and `cas` sets `value` iff the current value is
 * `expected` (`null` = absent) and reports whether it did. Keys start with their value in
 * `initial`, or absent.
 */
export function kvRegisterModel(
  initial: ReadonlyMap<string, string> = new Map(),
): Model<KvState, KvInput, KvOutput> {
  const rejected = { ok: false } as const;
  return {
    partition: (input) => input.key,
    init: (key) => initial.get(key) ?? null,
    step(state, input, output) {
      switch (input.kind) {
        case 'put':
          return output === null || output.kind === 'put'
            ? { ok: true, next: input.value }
            : rejected;
        case 'delete':
          return output === null || output.kind === 'delete' ? { ok: true, next: null } : rejected;
        case 'get':
          if (output === null) return { ok: true, next: state };
          return output.kind === 'get' && output.value === state
            ? { ok: true, next: state }
            : rejected;
        case 'cas': {
          const swaps = state === input.expected;
          if (output !== null && (output.kind !== 'cas' || output.ok !== swaps)) return rejected;
          return { ok: true, next: swaps ? input.value : state };
        }
      }
    },
    equal: (a, b) => a === b,
    readOnly: (input, output) => input.kind === 'get' || (output?.kind === 'cas' && !output.ok),
    simplify: simplifyKvPartition,
    describeOperation: describeKvOperation,
    describeState: (state) => (state === null ? 'null (absent)' : JSON.stringify(state)),
  };
}

/**
 * Rewrites one key's operations so the search has less to guess, without changing the verdict.
 * Operations with unknown outcome are what make the search exponential, so:
 * - reads with unknown outcome are dropped: they change nothing and any output is acceptable;
 * - so are `cas` expecting a value no operation writes, failed or with unknown outcome: they
 *   fail in every state;
 * - a write with unknown outcome whose value was later seen, when nothing else ever wrote that
 *   value, certainly took effect, before the first operation that saw it returned: it is
 *   checked as completed at that time (the real-time order this adds was implied already);
 * - a write with unknown outcome that nothing could have observed is dropped (see below).
 */
function simplifyKvPartition(
  operations: readonly Operation[],
  initial: KvState,
): (Operation | undefined)[] {
  const writers = new Map<KvState, number>([[initial, 1]]);
  for (const { input } of operations) {
    if (input.kind === 'get') continue;
    const value = writtenValue(input);
    writers.set(value, (writers.get(value) ?? 0) + 1);
  }
  const observedAt = new Map<KvState, number[]>();
  for (const { value, at } of observations(operations)) {
    const times = observedAt.get(value);
    if (times === undefined) observedAt.set(value, [at]);
    else times.push(at);
  }
  const settled = operations.map((op): Operation | undefined => {
    const { input, output, call } = op;
    // A cas expecting a value the key never holds fails in every state and changes nothing.
    const neverSwaps = input.kind === 'cas' && !writers.has(input.expected);
    if (neverSwaps && (output === null || (output.kind === 'cas' && !output.ok))) return undefined;
    if (output !== null) return op;
    if (input.kind === 'get') return undefined;
    const value = writtenValue(input);
    if (writers.get(value) !== 1) return op;
    // Only observations that could follow the write count; an earlier one fails the check anyway.
    let firstSeen = Number.POSITIVE_INFINITY;
    for (const at of observedAt.get(value) ?? []) {
      if (at >= call && at < firstSeen) firstSeen = at;
    }
    if (firstSeen === Number.POSITIVE_INFINITY) return op;
    return { ...op, return: firstSeen, output: completedOutput(input) };
  });
  return dropUnobservableWrites(settled);
}

/**
 * Drops the writes with unknown outcome that nothing could have observed.
 *
 * Why this is sound: placing such a write last is always allowed, so dropping it can only turn
 * a pass into a failure if some linearization needs it earlier. Take any linearization and
 * remove the write. Only the operations between it and the next write see a different state,
 * and all of them returned after the write was called. If none of those saw the written value
 * (`get`, successful `cas`), none failed a `cas`, and the key has no other `cas` with unknown
 * outcome, none of them depends on the state at all: the sequence without the write is still
 * legal. Dropping several at once is fine too: dropping one adds no observer for another.
 */
function dropUnobservableWrites(
  operations: readonly (Operation | undefined)[],
): (Operation | undefined)[] {
  const present = operations.filter((op): op is Operation => op !== undefined);
  const lastSeen = new Map<KvState, number>();
  for (const { value, at } of observations(present)) {
    lastSeen.set(value, Math.max(lastSeen.get(value) ?? Number.NEGATIVE_INFINITY, at));
  }
  let lastFailedCas = Number.NEGATIVE_INFINITY;
  let unknownCasCount = 0;
  for (const { input, output, return: returned } of present) {
    if (input.kind !== 'cas') continue;
    if (output === null) unknownCasCount += 1;
    else if (output.kind === 'cas' && !output.ok && returned !== null) {
      lastFailedCas = Math.max(lastFailedCas, returned);
    }
  }
  return operations.map((op) => {
    if (op === undefined || op.output !== null || op.input.kind === 'get') return op;
    const otherUnknownCas = unknownCasCount - (op.input.kind === 'cas' ? 1 : 0);
    const seen = (lastSeen.get(writtenValue(op.input)) ?? Number.NEGATIVE_INFINITY) >= op.call;
    return seen || lastFailedCas >= op.call || otherUnknownCas > 0 ? op : undefined;
  });
}

/** Every completed operation that saw the key hold a value: `get`s and successful `cas`. */
function* observations(
  operations: readonly Operation[],
): Generator<{ value: KvState; at: number }> {
  for (const { input, output, return: at } of operations) {
    if (output === null || at === null) continue;
    if (output.kind === 'get') yield { value: output.value, at };
    else if (output.kind === 'cas' && output.ok && input.kind === 'cas') {
      yield { value: input.expected, at };
    }
  }
}

/** The value a write leaves when it takes effect (a `cas` only when it swaps). */
function writtenValue(input: Exclude<KvInput, { kind: 'get' }>): KvState {
  return input.kind === 'delete' ? null : input.value;
}

/** The output a write with unknown outcome must have had, given that it took effect. */
function completedOutput(input: Exclude<KvInput, { kind: 'get' }>): KvOutput {
  switch (input.kind) {
    case 'put':
      return { kind: 'put' };
    case 'delete':
      return { kind: 'delete' };
    case 'cas':
      return { kind: 'cas', ok: true };
  }
}

function describeKvOperation(input: KvInput, output: KvOutput | null): string {
  const key = JSON.stringify(input.key);
  const value = (v: string | null): string => (v === null ? 'null' : JSON.stringify(v));
  const request = ((): string => {
    switch (input.kind) {
      case 'put':
        return `put(${key}, ${value(input.value)})`;
      case 'get':
        return `get(${key})`;
      case 'delete':
        return `delete(${key})`;
      case 'cas':
        return `cas(${key}, expect ${value(input.expected)}, set ${value(input.value)})`;
    }
  })();
  if (output === null) return `${request} → ? (outcome unknown)`;
  switch (output.kind) {
    case 'get':
      return `${request} → ${value(output.value)}`;
    case 'cas':
      return `${request} → ${output.ok ? 'swapped' : 'not swapped'}`;
    case 'put':
    case 'delete':
      return request;
  }
}

/**
 * Decides whether a key-value history is linearizable, checking each key's sub-history on
 * its own. Reads with unknown outcome are ignored; writes with unknown outcome may take
 * effect at any point after their call, or never. Keys absent from `initial` start absent.
 * The whole check stays within `timeoutMs` (plus a few hundred search steps) and
 * `maxConfigurations`; when the budget runs out the verdict is `timeout`, which is not a pass.
 *
 * @throws MalformedHistoryError when the history is inconsistent in itself (an output of the
 * wrong kind, a return before its call, an output without a return time, …).
 */
export function checkKvHistory(
  history: readonly Operation[],
  opts: CheckOptions & { initial?: ReadonlyMap<string, string> } = {},
): CheckResult {
  history.forEach(({ input, output }, index) => {
    if (output !== null && output.kind !== input.kind) {
      throw new MalformedHistoryError(index, `a ${input.kind} answered as a ${output.kind}`);
    }
  });
  const { initial, ...budget } = opts;
  return checkOperations(kvRegisterModel(initial), history, budget);
}
