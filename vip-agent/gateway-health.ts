/**
 * The local gateway's health, as the VIP agent sees it: an HTTPS GET of its health URL over a
 * kept-alive connection, the server verified against the lab CA, this agent's certificate
 * presented. A 200 is healthy; a refused connection, a TLS failure or another answer fail the
 * check at once, because a gateway that cannot answer this cannot answer clients either.
 *
 * A *slow* gateway is another matter. A check waits `timeoutMs` (a fraction of the agent's
 * interval, so its loop keeps its timing) and, without an answer by then, reports the probe
 * as *pending*, which the agent counts neither way; the probe itself goes on and the next
 * checks wait for it. Once it has gone unanswered for `unresponsiveMs`, every check fails
 * until it answers, so a hung gateway still loses the VIP about `unresponsiveMs` plus the
 * agent's threshold of checks after it stopped answering. Before,
 * each 120 ms wait failed the check and cut the connection: when a partition healed, both
 * gateways' event loops were held up for 0.4–0.7 s by the reconnections, both agents counted
 * three failures, and the VIP was dropped by one and claimed by neither for 1.5 s, while the
 * gateways themselves were fine. (A new TLS handshake per failed check only added load.)
 */
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import type { MutualTlsMaterial } from '../base/tls.js';

/**
 * The outcome of one check; `detail` says why it failed (for the log). `pending`: no answer
 * yet, but the probe has not been waiting long enough to count as a failure.
 */
export type HealthResult =
  { readonly ok: true } | { readonly ok: false; readonly detail: string; readonly pending?: true };

/** What the agent needs of a health check. */
export interface GatewayHealth {
  /** One check; resolves (never rejects) within the check's timeout. */
  check(): Promise<HealthResult>;
  close(): Promise<void>;
}

export interface HttpsGatewayHealthOptions {
  readonly url: string;
  readonly tls: MutualTlsMaterial;
  /** How long one check waits for the answer; keep it below the agent's call timeout. */
  readonly timeoutMs: number;
  /** How long a probe may go unanswered before checks fail. Default 1,000 ms. */
  readonly unresponsiveMs?: number;
  /** Monotonic milliseconds. Default `performance.now`. */
  readonly now?: () => number;
}

/** {@link GatewayHealth} over HTTPS. */
export class HttpsGatewayHealth implements GatewayHealth {
  private readonly agent: Agent;
  private readonly unresponsiveMs: number;
  private readonly now: () => number;
  /** The probe under way, which later checks wait for instead of starting another. */
  private probing: { readonly answer: Promise<HealthResult>; readonly startedAt: number } | null =
    null;

  constructor(private readonly options: HttpsGatewayHealthOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'https:') {
      throw new RangeError(`the gateway health URL must be https, not ${url.protocol}`);
    }
    this.agent = new Agent({
      connect: {
        ca: options.tls.ca,
        cert: options.tls.cert,
        key: options.tls.key,
        rejectUnauthorized: true,
      },
      keepAliveTimeout: 30_000,
      connections: 2,
    });
    this.unresponsiveMs = Math.max(options.timeoutMs, options.unresponsiveMs ?? 1_000);
    this.now = options.now ?? (() => performance.now());
  }

  async check(): Promise<HealthResult> {
    const probe = (this.probing ??= {
      answer: this.probe().finally(() => {
        this.probing = null;
      }),
      startedAt: this.now(),
    });
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<HealthResult>((resolve) => {
      timer = setTimeout(() => {
        const waitingMs = Math.round(this.now() - probe.startedAt);
        resolve(
          waitingMs >= this.unresponsiveMs
            ? { ok: false, detail: `no answer for ${waitingMs} ms` }
            : { ok: false, pending: true, detail: `no answer yet after ${waitingMs} ms` },
        );
      }, this.options.timeoutMs);
    });
    try {
      return await Promise.race([probe.answer, waited]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async probe(): Promise<HealthResult> {
    try {
      const answer = await request(this.options.url, {
        dispatcher: this.agent,
        // Kept well past `unresponsiveMs`: an answer that comes late still ends the failures.
        signal: AbortSignal.timeout(4 * this.unresponsiveMs),
        headers: { accept: 'application/json' },
      });
      await answer.body.dump();
      if (answer.statusCode === 200) return { ok: true };
      return { ok: false, detail: `answered ${answer.statusCode}` };
    } catch (error) {
      const timedOut = (error as { name?: unknown }).name === 'TimeoutError';
      return {
        ok: false,
        detail: timedOut
          ? `no answer within ${4 * this.unresponsiveMs} ms`
          : `${(error as Error).message}`,
      };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
