import type { ConfChange, ConfState, Entry, NodeId } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify(cc));
}

/** Decodes a conf-change entry; returns null for bytes that are not a valid change. */
export function decodeConfChange(data: Uint8Array): ConfChange | null {
  let v: unknown;
  try {
    v = JSON.parse(decoder.decode(data));
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  if ((v as { kind?: unknown }).kind === 'bootstrap') return decodeBootstrap(v);
  const { kind, node, address } = v as { kind?: unknown; node?: unknown; address?: unknown };
  if (typeof node !== 'number' || !Number.isSafeInteger(node) || node <= 0) return null;
  if (address !== undefined && typeof address !== 'string') return null;
  switch (kind) {
    case 'addLearner':
    case 'addVoter':
      return address === undefined ? { kind, node } : { kind, node, address };
    case 'promote':
    case 'remove':
      return { kind, node };
    default:
      return null;
  }
}

function decodeBootstrap(v: object): ConfChange | null {
  const { voters, learners } = v as { voters?: unknown; learners?: unknown };
  const ids = (x: unknown): NodeId[] | null =>
    Array.isArray(x) && x.every((id) => Number.isSafeInteger(id) && (id as number) > 0)
      ? (x as NodeId[])
      : null;
  const vs = ids(voters);
  const ls = ids(learners);
  if (!vs || !ls || vs.length === 0) return null;
  return { kind: 'bootstrap', voters: vs, learners: ls };
}

/**
 * The first entry of a new cluster's log: its founding membership. Every bootstrapping member
 * writes this same entry (index 1, term 0: no leader ever has term 0, so it never conflicts
 * with a leader's entry) before anything else, which makes it committed by construction, as
 * etcd-io/raft's bootstrap entries are. A member that joins later, from an empty log, gets it
 * replicated like any other entry and so learns the founding voters before the changes made
 * since; without it, a joiner replaying the log from index 1 would start from no voters at
 * all and, once promoted, count itself as the whole cluster.
 */
export function bootstrapEntry(conf: ConfState): Entry {
  const sorted = (ids: readonly NodeId[]) => [...ids].sort((a, b) => a - b);
  const cc: ConfChange = {
    kind: 'bootstrap',
    voters: sorted(conf.voters),
    learners: sorted(conf.learners),
  };
  return { index: 1, term: 0, type: 'conf', data: encodeConfChange(cc) };
}

/** Whether `e` is the founding membership written by {@link bootstrapEntry}. */
export function isBootstrapEntry(e: Entry | undefined): boolean {
  return (
    e !== undefined &&
    e.index === 1 &&
    e.term === 0 &&
    e.type === 'conf' &&
    decodeConfChange(e.data)?.kind === 'bootstrap'
  );
}

/**
 * Why `cc` cannot be applied to `conf`, or null when it can. Checked by the leader before
 * proposing; applying re-checks so that every member reaches the same configuration.
 */
export function confChangeProblem(conf: ConfState, cc: ConfChange): string | null {
  if (cc.kind === 'bootstrap') {
    return conf.voters.length === 0 && conf.learners.length === 0
      ? null
      : 'the cluster already has members: it is bootstrapped once, by its first entry';
  }
  const isVoter = conf.voters.includes(cc.node);
  const isLearner = conf.learners.includes(cc.node);
  switch (cc.kind) {
    case 'addLearner':
      return isVoter || isLearner ? `member ${cc.node} is already in the cluster` : null;
    case 'addVoter':
      return isVoter ? `member ${cc.node} is already a voter` : null;
    case 'promote':
      return isLearner ? null : `member ${cc.node} is not a learner`;
    case 'remove':
      if (!isVoter && !isLearner) return `member ${cc.node} is not in the cluster`;
      if (isVoter && conf.voters.length === 1) return 'cannot remove the last voter';
      return null;
  }
}

/** The configuration after `cc`; `conf` unchanged when the change does not apply. */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  if (confChangeProblem(conf, cc) !== null) return conf;
  const sorted = (ids: NodeId[]) => ids.sort((a, b) => a - b);
  if (cc.kind === 'bootstrap') {
    return { voters: sorted([...cc.voters]), learners: sorted([...cc.learners]) };
  }
  const without = (ids: readonly NodeId[]) => ids.filter((id) => id !== cc.node);
  switch (cc.kind) {
    case 'addLearner':
      return { voters: conf.voters, learners: sorted([...conf.learners, cc.node]) };
    case 'addVoter':
    case 'promote':
      return { voters: sorted([...conf.voters, cc.node]), learners: without(conf.learners) };
    case 'remove':
      return { voters: without(conf.voters), learners: without(conf.learners) };
  }
}
