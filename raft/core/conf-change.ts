import type { ConfChange, ConfState, NodeId } from './types.js';

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

/**
 * Why `cc` cannot be applied to `conf`, or null when it can. Checked by the leader before
 * proposing; applying re-checks so that every member reaches the same configuration.
 */
export function confChangeProblem(conf: ConfState, cc: ConfChange): string | null {
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
  const without = (ids: readonly NodeId[]) => ids.filter((id) => id !== cc.node);
  const sorted = (ids: NodeId[]) => ids.sort((a, b) => a - b);
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
