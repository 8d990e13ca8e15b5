/**
 * The local gateway's health, as the VIP agent sees it: an HTTPS GET of its health URL over a
 * kept-alive connection, the server verified against the lab CA, this agent's certificate
 * presented. Only a 200 within the timeout counts as healthy — a refused connection, a TLS
 * failure, a slow or other answer all count as a failed check, because a gateway that cannot
 * answer this cannot answer clients either.
 */
import { Agent, request } from 'undici';
import type { MutualTlsMaterial } from '../base/tls.js';

/** The outcome of one check; `detail` says why it failed (for the log). */
export type HealthResult = { readonly ok: true } | { readonly ok: false; readonly detail: string };

/** What the agent needs of a health check. */
export interface GatewayHealth {
  /** One check; resolves (never rejects) within the check's timeout. */
  check(): Promise<HealthResult>;
  close(): Promise<void>;
}

export interface HttpsGatewayHealthOptions {
  readonly url: string;
  readonly tls: MutualTlsMaterial;
  /** Keep it below the check interval, so checks never pile up. */
  readonly timeoutMs: number;
}

/** {@link GatewayHealth} over HTTPS. */
export class HttpsGatewayHealth implements GatewayHealth {
  private readonly agent: Agent;

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
  }

  async check(): Promise<HealthResult> {
    try {
      const answer = await request(this.options.url, {
        dispatcher: this.agent,
        signal: AbortSignal.timeout(this.options.timeoutMs),
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
          ? `no answer within ${this.options.timeoutMs} ms`
          : `${(error as Error).message}`,
      };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
