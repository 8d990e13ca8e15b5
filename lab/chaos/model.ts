/**
 * What a chaos history is checked against: each user's agenda as a set of event titles.
 * Creating an event adds its (unique) title; reading the agenda returns the whole set. The
 * model plugs into the project's WGL checker (`base/linearizability.ts`), one
 * partition per user: users' agendas are independent, and linearizability is local, so
 * small partitions keep the search cheap.
 *
 * Why titles and not event ids: the client chooses the title before the request leaves, so
 * an operation whose answer was lost can still be recognised in later reads; ids are only
 * known from the answer.
 */
import {
  checkOperations,
  MalformedHistoryError,
  type CheckOptions,
  type CheckResult,
  type HistoryOperation,
  type Model,
  type StepResult,
} from '../../base/linearizability.js';

/** A client's request to one user's agenda. */
export type AgendaInput =
  | { readonly kind: 'create'; readonly user: string; readonly title: string }
  | { readonly kind: 'read'; readonly user: string };

/** What the system answered; a read lists the titles it returned, duplicates included. */
export type AgendaOutput =
  { readonly kind: 'create' } | { readonly kind: 'read'; readonly titles: readonly string[] };

export type AgendaOperation = HistoryOperation<AgendaInput, AgendaOutput>;

/**
 * A set of titles as an immutable list sharing its tail with the state it grew from, so
 * adding is O(1) and the search can keep every state it visits.
 */
export interface TitleSet {
  readonly size: number;
  readonly title: string;
  readonly rest: TitleSet | null;
}

export type AgendaState = TitleSet | null;

/** Read answers as sets, computed once per answer (the search compares each read many times). */
const answerSets = new WeakMap<AgendaOutput, ReadonlySet<string>>();

function answerSet(output: Extract<AgendaOutput, { kind: 'read' }>): ReadonlySet<string> {
  let set = answerSets.get(output);
  if (set === undefined) {
    set = new Set(output.titles);
    answerSets.set(output, set);
  }
  return set;
}

function sizeOf(state: AgendaState): number {
  return state === null ? 0 : state.size;
}

/**
 * True iff a read that returned `output` could have seen `state`: the same titles, each
 * exactly once. A title listed twice is a create applied twice, which no sequential agenda
 * produces, so such a read is never accepted.
 */
function readMatches(state: AgendaState, output: Extract<AgendaOutput, { kind: 'read' }>): boolean {
  const seen = answerSet(output);
  if (seen.size !== output.titles.length || seen.size !== sizeOf(state)) return false;
  for (let node = state; node !== null; node = node.rest) {
    if (!seen.has(node.title)) return false;
  }
  return true;
}

/**
 * The per-user agenda model. Its states are compared by a constant key, which is sound
 * because every create in a partition adds a different title and reads change nothing: the
 * state is then a function of which operations are linearized, which the checker already
 * compares. `simplify` enforces that precondition (two creates of one title in one user's
 * history are a recording bug and throw {@link MalformedHistoryError}), drops reads whose
 * answer was lost, and drops creates with unknown outcome whose title no read ever returned
 * (taking effect after every read is the same as never taking effect).
 */
export function agendaModel(): Model<AgendaState, AgendaInput, AgendaOutput> {
  const rejected: StepResult<AgendaState> = { ok: false };
  return {
    partition: (input) => input.user,
    init: () => null,
    step(state, input, output) {
      if (input.kind === 'create') {
        if (output !== null && output.kind !== 'create') return rejected;
        return { ok: true, next: { size: sizeOf(state) + 1, title: input.title, rest: state } };
      }
      // A read with unknown outcome returned nothing anyone saw: it fits any state.
      if (output === null) return { ok: true, next: state };
      return output.kind === 'read' && readMatches(state, output)
        ? { ok: true, next: state }
        : rejected;
    },
    key: () => 0,
    readOnly: (input) => input.kind === 'read',
    simplify(operations) {
      const created = new Map<string, number>();
      const observed = new Set<string>();
      operations.forEach((op, index) => {
        if (op.input.kind === 'create') {
          const earlier = created.get(op.input.title);
          if (earlier !== undefined) {
            throw new MalformedHistoryError(
              index,
              `user ${op.input.user} creates the title ${JSON.stringify(op.input.title)} twice ` +
                '(titles must be unique per user)',
            );
          }
          created.set(op.input.title, index);
        } else if (op.output?.kind === 'read') {
          for (const title of op.output.titles) observed.add(title);
        }
      });
      return operations.map((op) => {
        if (op.output !== null) return op;
        if (op.input.kind === 'read') return undefined;
        return observed.has(op.input.title) ? op : undefined;
      });
    },
    describeOperation(input, output) {
      if (input.kind === 'create') {
        const request = `create(${JSON.stringify(input.title)})`;
        return output === null ? `${request} → ? (outcome unknown)` : request;
      }
      if (output === null || output.kind !== 'read') return 'read → ? (outcome unknown)';
      return `read → ${describeTitles(output.titles)}`;
    },
    describeState(state) {
      const titles: string[] = [];
      for (let node = state; node !== null; node = node.rest) titles.push(node.title);
      return describeTitles(titles.reverse());
    },
  };
}

/** Long agendas are summarised: the count and the last few titles are what a reader needs. */
const TITLES_SHOWN = 3;

function describeTitles(titles: readonly string[]): string {
  if (titles.length <= TITLES_SHOWN) return `{${titles.map((t) => JSON.stringify(t)).join(', ')}}`;
  const last = titles.slice(-TITLES_SHOWN).map((t) => JSON.stringify(t));
  return `{${titles.length} titles: …, ${last.join(', ')}}`;
}

/**
 * Decides whether an agenda history is linearizable, user by user. Bounded by `options`
 * like every check: a `timeout` verdict is not a pass.
 *
 * @throws MalformedHistoryError when the history is inconsistent in itself.
 */
export function checkAgendaHistory(
  history: readonly AgendaOperation[],
  options: CheckOptions = {},
): CheckResult<AgendaInput, AgendaOutput> {
  history.forEach(({ input, output }, index) => {
    if (output !== null && output.kind !== input.kind) {
      throw new MalformedHistoryError(index, `a ${input.kind} answered as a ${output.kind}`);
    }
  });
  return checkOperations(agendaModel(), history, options);
}
