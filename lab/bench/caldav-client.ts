/**
 * The CalDAV benchmark's client: the same requests, byte for byte but for the paths and the
 * credentials, to Agenda's gateway and to Radicale, so the two are measured on one load.
 * A PUT writes one VEVENT (30 minutes, opaque) to `<UID>.ics`; a calendar-query asks for the
 * ETag and text of every event in a time range, as python-caldav's `date_search` does.
 */
import { request, type Dispatcher } from 'undici';

/** What came back: `ok` when the server did what was asked; `reason` says why not. */
export interface DavOutcome {
  readonly ok: boolean;
  readonly status: number;
  readonly reason: string;
}

export interface DavUser {
  /** The calendar collection's URL, ending in `/`. */
  readonly calendarUrl: string;
  readonly username: string;
  readonly password: string;
}

export interface DavClient {
  /** Creates `uid` at `<calendar>/<uid>.ics` with `If-None-Match: *`: 201 is success. */
  put(user: DavUser, uid: string, start: Date): Promise<DavOutcome>;
  /** A calendar-query of [from, to): success is 207 with exactly `expected` VEVENTs. */
  query(user: DavUser, from: Date, to: Date, expected: number): Promise<DavOutcome>;
}

/** `20310106T090000Z`. */
export function icsStamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** One event as a client writes it. */
export function eventText(uid: string, start: Date): string {
  const end = new Date(start.getTime() + 30 * 60_000);
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//agenda//bench//EN',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    `DTSTAMP:${icsStamp(new Date())}`,
    `DTSTART:${icsStamp(start)}`,
    `DTEND:${icsStamp(end)}`,
    `SUMMARY:bench ${uid}`,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

function calendarQueryBody(from: Date, to: Date): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">' +
    '<D:prop><D:getetag/><C:calendar-data/></D:prop>' +
    '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">' +
    `<C:time-range start="${icsStamp(from)}" end="${icsStamp(to)}"/>` +
    '</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>'
  );
}

/** Reads at most this much of a refusal's body into its reason. */
const REASON_CHARS = 200;

async function reasonOf(status: number, body: Dispatcher.ResponseData['body']): Promise<string> {
  const text = await body.text().catch(() => '');
  return `${status} ${text.replace(/\s+/g, ' ').trim().slice(0, REASON_CHARS)}`;
}

/** A client through `dispatcher`; each request gives up after `timeoutMs` (then an error). */
export function davClient(dispatcher: Dispatcher, timeoutMs = 30_000): DavClient {
  const auth = (user: DavUser) =>
    `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
  return {
    put: async (user, uid, start) => {
      const res = await request(`${user.calendarUrl}${encodeURIComponent(uid)}.ics`, {
        method: 'PUT',
        dispatcher,
        headers: {
          authorization: auth(user),
          'content-type': 'text/calendar; charset=utf-8',
          'if-none-match': '*',
        },
        body: eventText(uid, start),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.statusCode !== 201) {
        return {
          ok: false,
          status: res.statusCode,
          reason: await reasonOf(res.statusCode, res.body),
        };
      }
      await res.body.dump();
      return { ok: true, status: 201, reason: '' };
    },
    query: async (user, from, to, expected) => {
      const res = await request(user.calendarUrl, {
        method: 'REPORT' as 'GET',
        dispatcher,
        headers: {
          authorization: auth(user),
          'content-type': 'application/xml; charset=utf-8',
          depth: '1',
        },
        body: calendarQueryBody(from, to),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.statusCode !== 207) {
        return {
          ok: false,
          status: res.statusCode,
          reason: await reasonOf(res.statusCode, res.body),
        };
      }
      // Read whole, as a client does; a query that answers the wrong events is no success.
      const text = await res.body.text();
      const events = text.split('BEGIN:VEVENT').length - 1;
      if (events !== expected) {
        return {
          ok: false,
          status: 207,
          reason: `207 with ${events} VEVENTs, not ${expected}: ${text.slice(0, REASON_CHARS)}`,
        };
      }
      return { ok: true, status: 207, reason: '' };
    },
  };
}
