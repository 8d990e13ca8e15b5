/**
 * Radicale (a popular single-node CalDAV server, Debian package `radicale`) under the same
 * kind of load, for the side-by-side figure the mission's quality bar is stated against:
 * event PUTs from concurrent clients into its users' calendars (`npm run bench -- --radicale`
 * into one user's, `npm run bench:caldav` into one per client, as on Agenda).
 *
 * It serves plain HTTP on loopback (Agenda's gateways serve HTTPS): Radicale's server closes
 * the connection after each request, so with TLS every request would pay a handshake, which
 * would say more about that than about a calendar server. Without authentication (`type =
 * none`: the Basic username is the user, the password is not checked) and with `owner_only`
 * rights, as a small install behind a proxy that authenticates runs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { eventText, type DavUser } from './caldav-client.js';

export function radicaleInstalled(): boolean {
  return spawnSync('radicale', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface Radicale {
  /** `http://127.0.0.1:<port>`. */
  readonly base: string;
  /** Stores one event (a VCALENDAR with one VEVENT) under `uid` in user `bench`'s calendar. */
  put(uid: string, start: Date): Promise<boolean>;
  /** Makes `username`'s calendar (MKCOL `/<username>/calendar/`) and says how to reach it. */
  calendar(username: string): Promise<DavUser>;
  /** Stops Radicale and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/** A TCP port free on loopback just now (port 0: the kernel's choice). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((r) => server.close(r));
  if (address === null || typeof address === 'string') throw new Error('no port from the kernel');
  return address.port;
}

/**
 * `maxConnections`: how many connections Radicale serves at once (its own default, 8, when
 * absent). Past it, connections wait in a listen backlog of 5 and the kernel drops the rest,
 * whose clients then wait seconds on TCP's retransmissions: give it at least the clients.
 */
export async function startRadicale(
  dir: string,
  port: number,
  options: { readonly maxConnections?: number } = {},
): Promise<Radicale> {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'config');
  writeFileSync(
    config,
    [
      '[server]',
      `hosts = 127.0.0.1:${port}`,
      ...(options.maxConnections === undefined
        ? []
        : [`max_connections = ${options.maxConnections}`]),
      '[auth]',
      'type = none',
      '[rights]',
      'type = owner_only',
      '[storage]',
      `filesystem_folder = ${join(dir, 'collections')}`,
      '[logging]',
      'level = warning',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('radicale', ['--config', config], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  const base = `http://127.0.0.1:${port}`;
  const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
  const authOf = (user: string) => `Basic ${Buffer.from(`${user}:${user}`).toString('base64')}`;
  const mkcol = async (user: string): Promise<number> => {
    const res = await request(`${base}/${user}/calendar/`, {
      method: 'MKCOL' as 'GET',
      dispatcher,
      headers: { authorization: authOf(user), 'content-type': 'application/xml' },
      body:
        '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>' +
        '<D:resourcetype><D:collection/><C:calendar/></D:resourcetype></D:prop></D:set></D:mkcol>',
    });
    await res.body.dump();
    return res.statusCode;
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await dispatcher.close();
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  };
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const status = await mkcol('bench');
        if (status < 300 || status === 405) break;
        throw new Error(`MKCOL answered ${status}`);
      } catch (err) {
        if (child.exitCode !== null) throw new Error(`radicale exited (${child.exitCode})`);
        if (Date.now() > deadline)
          throw new Error(`radicale did not come up: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    base,
    put: async (uid, start) => {
      const res = await request(`${base}/bench/calendar/${uid}.ics`, {
        method: 'PUT',
        dispatcher,
        headers: { authorization: authOf('bench'), 'content-type': 'text/calendar; charset=utf-8' },
        body: eventText(uid, start),
      });
      await res.body.dump();
      return res.statusCode === 201 || res.statusCode === 204;
    },
    calendar: async (username) => {
      const status = await mkcol(username);
      if (status >= 300 && status !== 405) throw new Error(`MKCOL for ${username}: ${status}`);
      return { calendarUrl: `${base}/${username}/calendar/`, username, password: username };
    },
    stop,
  };
}
