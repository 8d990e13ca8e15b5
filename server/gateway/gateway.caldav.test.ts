/**
 * CalDAV through a real gateway's HTTPS listener (services faked): discovery without
 * signing in, the Basic challenge on the wire, bodies bounded and typed as the API's are,
 * a sign-in's device token carried to the services, and the device token and the session
 * token each refused where the other belongs.
 */
import test from 'ava';
import { portsFrom, startTestGateway, type TestGateway } from './test-support.js';

/** This file's ports: 28860–28869. */
const nextPort = portsFrom(28_860, 10);
const PASSWORD = 'abcd-efgh-ijkl-mnop-qrst-uvwx-yz23-4567';
const BASIC = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;
const PROPFIND =
  '<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>';

/** A gateway whose users service signs alice's device in and answers an empty calendar. */
async function gatewayWithCalendar(
  t: Parameters<typeof startTestGateway>[0],
): Promise<TestGateway> {
  const gw = await startTestGateway(t, nextPort());
  const token = await gw.deviceToken('alice');
  gw.dispatcher.respond = ({ op }) => {
    if (op.type === 'device.authenticate') return { token, expiresAt: Date.now() + 900_000 };
    return { ctag: '7', truncated: false, resources: [] };
  };
  return gw;
}

test('discovery redirects without signing in; the calendar asks for Basic credentials', async (t) => {
  const gw = await gatewayWithCalendar(t);
  const wellKnown = await gw.call('/.well-known/caldav', { method: 'PROPFIND' });
  t.is(wellKnown.status, 301);
  t.is(wellKnown.headers.location, '/dav/');
  const bare = await gw.call('/dav/', { method: 'PROPFIND' });
  t.is(bare.status, 401);
  t.is(bare.headers['www-authenticate'], 'Basic realm="Agenda", charset="UTF-8"');
  t.regex(bare.text, /app password/);
  t.deepEqual(gw.dispatcher.calls, []);
});

test("a sign-in's device token goes with the read; bodies are typed and bounded", async (t) => {
  const gw = await gatewayWithCalendar(t);
  const answer = await gw.call('/dav/', {
    method: 'PROPFIND',
    body: PROPFIND,
    headers: { authorization: BASIC, depth: '0', 'content-type': 'application/xml; charset=utf-8' },
  });
  t.is(answer.status, 207, answer.text);
  t.regex(answer.text, /<d:href>\/dav\/principals\/alice\/<\/d:href>/);
  t.deepEqual(
    gw.dispatcher.calls.map((c) => `${c.service} ${c.actor ?? '-'} ${c.op.type}`),
    ['users - device.authenticate', 'users alice query'],
  );
  const asJson = await gw.call('/dav/', {
    method: 'PROPFIND',
    body: PROPFIND,
    headers: { authorization: BASIC, 'content-type': 'application/json' },
  });
  t.is(asJson.status, 415);
  const huge = await gw.call('/dav/', {
    method: 'PROPFIND',
    body: `<d:propfind xmlns:d="DAV:">${' '.repeat(70_000)}</d:propfind>`,
    headers: { authorization: BASIC, 'content-type': 'application/xml' },
  });
  t.is(huge.status, 413);
});

test('a device token opens no API route, and a session token opens no CalDAV', async (t) => {
  const gw = await gatewayWithCalendar(t);
  const me = await gw.call('/v1/me', { token: await gw.deviceToken('alice') });
  t.is(me.status, 401);
  const bearer = await gw.call('/dav/', {
    method: 'PROPFIND',
    headers: { authorization: `Bearer ${await gw.token('alice')}` },
  });
  t.is(bearer.status, 401);
  t.is(bearer.headers['www-authenticate'], 'Basic realm="Agenda", charset="UTF-8"');
  t.deepEqual(gw.dispatcher.calls, []);
});
