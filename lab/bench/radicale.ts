/**
 * Radicale (a popular single-node CalDAV server, Debian package `radicale`) under the same
 * kind of load, for the side-by-side figure the mission's quality bar is stated against:
 * event PUTs from concurrent clients into one user's calendar.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';

export function radicaleInstalled(): boolean {
  return spawnSync('radicale', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface Radicale {
  /** Stores one event (a VCALENDAR with one VEVENT) under `uid`. */
  put(uid: string, start: Date): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startRadicale(dir: string, port: number): Promise<Radicale> {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'config');
  writeFileSync(
    config,
    [
      '[server]',
      `hosts = 127.0.0.1:${port}`,
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
  const base = `http://127.0.0.1:${port}`;
  const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
  const auth = `Basic ${Buffer.from('bench:bench').toString('base64')}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await request(`${base}/bench/calendar/`, {
        method: 'MKCOL' as 'GET',
        dispatcher,
        headers: { authorization: auth, 'content-type': 'application/xml' },
        body:
          '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>' +
          '<D:resourcetype><D:collection/><C:calendar/></D:resourcetype></D:prop></D:set></D:mkcol>',
      });
      await res.body.dump();
      if (res.statusCode < 300 || res.statusCode === 405) break;
      throw new Error(`MKCOL answered ${res.statusCode}`);
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`radicale did not come up: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const stamp = (d: Date) =>
    d
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
  return {
    put: async (uid, start) => {
      const end = new Date(start.getTime() + 30 * 60_000);
      const ics = [
        'BEGIN:VCALENDAR',
        'VERSION:2.0',
        'PRODID:-//agenda//bench//EN',
        'BEGIN:VEVENT',
        `UID:${uid}`,
        `DTSTAMP:${stamp(new Date())}`,
        `DTSTART:${stamp(start)}`,
        `DTEND:${stamp(end)}`,
        `SUMMARY:bench ${uid}`,
        'END:VEVENT',
        'END:VCALENDAR',
        '',
      ].join('\r\n');
      const res = await request(`${base}/bench/calendar/${uid}.ics`, {
        method: 'PUT',
        dispatcher,
        headers: { authorization: auth, 'content-type': 'text/calendar; charset=utf-8' },
        body: ics,
      });
      await res.body.dump();
      return res.statusCode === 201 || res.statusCode === 204;
    },
    stop: async () => {
      await dispatcher.close();
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
