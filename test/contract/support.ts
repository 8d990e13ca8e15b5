/**
 * What the contract tests share: clients of an in-process system's gateway, and users
 * registered and logged in through it, as a person's CLI would be.
 */
import type { ExecutionContext } from 'ava';
import { AgendaApi } from '../../cli/http/agenda-api.js';
import { GatewayClient } from '../../cli/http/gateway-client.js';
import type { InProcessSystem } from '../../server/gateway/in-process-system.js';

/** A client of `system`'s gateway acting with `token` (none: anonymously), closed with the test. */
export function apiOf(t: ExecutionContext, system: InProcessSystem, token?: string): AgendaApi {
  const gateway = new GatewayClient({
    servers: [new URL(system.url)],
    ca: system.caPem,
    ...(token === undefined ? {} : { token }),
  });
  t.teardown(() => gateway.close());
  return new AgendaApi(gateway);
}

/** Registers each of `usernames` (password `<name> passphrase`) and logs it in: its client. */
export async function signedIn<const Names extends readonly string[]>(
  t: ExecutionContext,
  system: InProcessSystem,
  usernames: Names,
): Promise<{ [K in keyof Names]: AgendaApi }> {
  const anonymous = apiOf(t, system);
  const clients: AgendaApi[] = [];
  for (const username of usernames) {
    const password = `${username} passphrase`;
    await anonymous.call('register', { body: { username, password } });
    const { token } = await anonymous.call('login', { body: { username, password } });
    clients.push(apiOf(t, system, token));
  }
  return clients as { [K in keyof Names]: AgendaApi };
}
