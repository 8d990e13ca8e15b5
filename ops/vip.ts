/**
 * The VIP as an operator needs to see it: who has the address configured, who holds the
 * lease, and each agent's own account. Asking the agents is not enough (a crashed or cut-off
 * agent says nothing) and the lease is not enough (it says who may hold the VIP, not who
 * does), so {@link vipStatus} combines both, and says which one it relied on.
 *
 * The agents' status documents are read defensively: only the fields used here are
 * validated, unknown ones are ignored, and a document that does not fit marks that agent
 * down with the reason instead of failing the whole observation.
 */
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import type { VipAgent, VipLease, VipStatus } from './model.js';

/** The part of an agent's `GET /v1/status` the observer relies on. */
export const AgentStatusSchema = z.looseObject({
  id: z.string(),
  state: z.string(),
  vipConfigured: z.boolean().optional().catch(undefined),
  peer: z
    .looseObject({
      id: z.string().optional().catch(undefined),
      heartbeatAgeMs: z.number().nullable().optional().catch(undefined),
    })
    .nullable()
    .optional()
    .catch(undefined),
  gatewayFailures: z.number().optional().catch(undefined),
  lastAction: z
    .looseObject({
      type: z.string(),
      reason: z.string().optional().catch(undefined),
      at: z.number().optional().catch(undefined),
      outcome: z.string().optional().catch(undefined),
    })
    .nullable()
    .optional()
    .catch(undefined),
});
export type AgentStatus = z.infer<typeof AgentStatusSchema>;

/** One agent as the description names it. */
export interface AgentTarget {
  readonly id: string;
  readonly host: string;
  /** `host:port` of its status endpoint. */
  readonly status: string;
}

/** What asking one agent gave: its status, or why there is none. */
export type AgentAnswer =
  | { readonly ok: true; readonly status: AgentStatus }
  | { readonly ok: false; readonly error: string };

/**
 * Asks one agent for its status through `dispatcher` (an undici Agent holding the operator's
 * certificate: the endpoint requires a client certificate). Never throws: an agent that
 * cannot be asked, or answers nonsense, is an answer too.
 */
export async function askVipAgent(
  dispatcher: Dispatcher,
  target: AgentTarget,
  timeoutMs: number,
): Promise<AgentAnswer> {
  try {
    const res = await request(`https://${target.status}/v1/status`, {
      dispatcher,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) return { ok: false, error: `answered ${res.statusCode}` };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { ok: false, error: 'answered something that is not JSON' };
    }
    const parsed = AgentStatusSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join('.') || 'document';
      return { ok: false, error: `unexpected status (${where}: ${issue?.message ?? '?'})` };
    }
    if (parsed.data.id !== target.id) {
      return { ok: false, error: `answers as ${parsed.data.id}, not ${target.id}` };
    }
    return { ok: true, status: parsed.data };
  } catch (err) {
    return { ok: false, error: describeFailure(err, timeoutMs) };
  }
}

function describeFailure(err: unknown, timeoutMs: number): string {
  const timedOut = ['TimeoutError', 'AbortError', 'ConnectTimeoutError'];
  if (err instanceof Error && timedOut.includes(err.name)) {
    return `no answer within ${timeoutMs} ms`;
  }
  const cause = err instanceof Error ? (err.cause as Error | undefined) : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return cause?.message && cause.message !== message ? `${message}: ${cause.message}` : message;
}

/**
 * The VIP's state from the agents' answers (in `targets` order) and the lease as the DB has it
 * (`undefined` when the DB could not be read). The owner is the host whose agent says the VIP
 * is configured there (the lease holder's among several, else the first); when no answering
 * agent has it, the host of the lease holder if that holder's agent did not answer and the
 * lease has not run out (it may well still hold the VIP); else nobody.
 */
export function vipStatus(
  address: string,
  targets: readonly AgentTarget[],
  answers: readonly AgentAnswer[],
  lease: VipLease | undefined,
): VipStatus {
  const agents = targets.map((target, i): VipAgent => {
    const answer = answers[i] ?? { ok: false, error: 'not asked' };
    const base = { id: target.id, host: target.host, lastHeartbeatMs: heartbeatAge(i) };
    if (!answer.ok) {
      return {
        ...base,
        state: 'down',
        vipConfigured: null,
        gatewayFailures: null,
        lastAction: null,
        lastActionAt: null,
        error: answer.error,
      };
    }
    const { status } = answer;
    const active = status.state === 'active';
    const action = status.lastAction;
    return {
      ...base,
      state: active ? 'active' : 'passive',
      vipConfigured: status.vipConfigured ?? active,
      gatewayFailures: status.gatewayFailures ?? null,
      lastAction: action ? describeAction(action) : null,
      lastActionAt: action?.at ?? null,
    };
  });

  /** How long ago another agent last heard agent `i`'s heartbeat, as that agent says. */
  function heartbeatAge(i: number): number | null {
    const self = targets[i];
    for (const [j, answer] of answers.entries()) {
      if (j === i || !answer.ok || !answer.status.peer) continue;
      const { peer } = answer.status;
      // A pair's peer is the other agent even when the document does not name it.
      const aboutSelf = peer.id === undefined ? targets.length === 2 : peer.id === self?.id;
      if (aboutSelf) return peer.heartbeatAgeMs ?? null;
    }
    return null;
  }

  const holderAgent =
    lease?.holder === null || lease === undefined
      ? undefined
      : agents.find((agent) => agent.id === lease.holder);
  const claimants = agents.filter((agent) => agent.vipConfigured === true).map((a) => a.host);
  let owner: string | null = null;
  let ownerFromLease = false;
  if (claimants.length > 0) {
    owner = holderAgent && claimants.includes(holderAgent.host) ? holderAgent.host : claimants[0]!;
  } else if (
    holderAgent?.state === 'down' &&
    lease?.remainingMs !== null &&
    lease?.remainingMs !== undefined &&
    lease.remainingMs > 0
  ) {
    owner = holderAgent.host;
    ownerFromLease = true;
  }
  return { address, owner, ownerFromLease, claimants, ...(lease ? { lease } : {}), agents };
}

/** `claim: lease held`, with the outcome when it was not a success: `claim: … (failed)`. */
function describeAction(action: NonNullable<AgentStatus['lastAction']>): string {
  const reason = action.reason ? `: ${action.reason}` : '';
  const outcome = action.outcome && action.outcome !== 'done' ? ` (${action.outcome})` : '';
  return `${action.type}${reason}${outcome}`;
}
