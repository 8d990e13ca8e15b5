/**
 * CalDAV's writes in the store (./dav-writes.ts): a PUT is an import of one event named by its
 * UID, an attendee's PUT only answers, a DELETE cancels or declines, and If-Match /
 * If-None-Match are checked in the decision that writes — so two writes over one tag never
 * both pass, however they interleave with the log.
 */
import test from 'ava';
import { CalendarStore } from './calendar-store.js';
import { loadSqlJs } from '../../raft/kv/sql.js';
import type { CommandBody, CommandOf, QueryBody } from './protocol.js';
import { at, decideAndApply, StoreClient } from './test-support.js';

const HASH = '0'.repeat(63) + '1';

async function client(): Promise<StoreClient> {
  const c = new StoreClient(new CalendarStore(await loadSqlJs()));
  c.register('alice', 'bob');
  return c;
}

const MONDAY = { start: at('2026-03-02T09:00:00Z'), end: at('2026-03-02T10:00:00Z') };

function put(
  name: string,
  title: string,
  more: Partial<Omit<CommandOf<'dav.put'>, 'type' | 'name'>> & { uid?: string } = {},
): CommandOf<'dav.put'> {
  const { uid = name, ...rest } = more;
  return {
    type: 'dav.put',
    name,
    event: { uid, draft: { title, ...MONDAY } },
    answer: null,
    ...rest,
  };
}

/** The names and tags of `user`'s calendar. */
function calendar(c: StoreClient, user: string): Record<string, string> {
  const listing = c.read(user, { type: 'dav.calendar', data: false });
  return Object.fromEntries(listing.resources.map((r) => [r.name, r.etag]));
}

test('a PUT makes an event named by its UID, once; a later PUT over its tag changes it, a stale tag changes nothing', async (t) => {
  const c = await client();
  const made = c.ok('alice', put('ab12@example.com', 'Dentist', { ifNoneMatch: ['*'] }));
  t.like(made, { outcome: 'created', name: 'ab12@example.com' });
  const tag = made.outcome === 'created' ? made.etag : null;
  t.deepEqual(calendar(c, 'alice'), { 'ab12@example.com': tag ?? '' });
  // Create-only again: the event is there.
  t.deepEqual(c.ok('alice', put('ab12@example.com', 'Dentist', { ifNoneMatch: ['*'] })), {
    outcome: 'precondition-failed',
    etag: tag,
  });
  const changed = c.ok(
    'alice',
    put('ab12@example.com', 'Dentist (moved)', { ifMatch: [tag ?? ''] }),
  );
  t.like(changed, { outcome: 'updated' });
  const newTag = changed.outcome === 'updated' ? changed.etag : null;
  t.not(newTag, tag);
  t.deepEqual(calendar(c, 'alice'), { 'ab12@example.com': newTag ?? '' });
  const stale = c.ok('alice', put('ab12@example.com', 'Lost update', { ifMatch: [tag ?? ''] }));
  t.deepEqual(stale, { outcome: 'precondition-failed', etag: newTag });
  const text = c.read('alice', { type: 'dav.calendar', names: ['ab12@example.com'], data: true });
  t.regex(text.resources[0]?.ics ?? '', /SUMMARY:Dentist \(moved\)/);
  t.regex(text.resources[0]?.ics ?? '', /UID:ab12@example.com/);
  // If-Match on nothing fails too; If-Match: * needs something there.
  t.deepEqual(c.ok('alice', put('nothing', 'X', { ifMatch: ['*'] })), {
    outcome: 'precondition-failed',
    etag: null,
  });
});

test('a new event is written to its UID’s name, and no write changes a resource’s UID', async (t) => {
  const c = await client();
  // Written to another name (vdirsyncer picks a random one for a UID with an `@`), a new
  // event is sent to its UID's name, and nothing is written.
  t.deepEqual(c.ok('alice', put('other', 'Dentist', { uid: 'ab12@example.com' })), {
    outcome: 'elsewhere',
    name: 'ab12@example.com',
  });
  t.deepEqual(calendar(c, 'alice'), {});
  // Its preconditions are the name's own: If-Match on nothing there fails.
  t.deepEqual(c.ok('alice', put('other', 'Dentist', { uid: 'ab12', ifMatch: ['*'] })), {
    outcome: 'precondition-failed',
    etag: null,
  });
  c.ok('alice', put('ab12', 'Dentist'));
  const renamed = c.refused('alice', put('ab12', 'Dentist', { uid: 'cd34' }));
  t.is(renamed.code, 'invalid');
  t.regex(renamed.message, /may not change/);
  // An event made in Agenda is named by its id, which is the UID its text carries.
  c.ok(
    'alice',
    {
      type: 'event.create',
      draft: { title: 'Call', start: at('2026-03-03T09:00:00Z'), end: at('2026-03-03T10:00:00Z') },
    },
    { ids: ['call'] },
  );
  t.true('call' in calendar(c, 'alice'));
  t.like(
    c.ok('alice', {
      ...put('call', 'Call (renamed)'),
      event: {
        uid: 'call',
        draft: {
          title: 'Call (renamed)',
          start: at('2026-03-03T09:00:00Z'),
          end: at('2026-03-03T10:00:00Z'),
        },
      },
    }),
    { outcome: 'updated' },
  );
  t.is(c.read('alice', { type: 'event.show', eventId: 'call' }).event.title, 'Call (renamed)');
});

test('two PUTs over the same tag decided side by side: the first writes, the second is decided again and fails its precondition', async (t) => {
  const c = await client();
  const made = c.ok('alice', put('ab12', 'Dentist'));
  const tag = made.outcome === 'created' ? (made.etag ?? '') : '';
  const first = c.command('alice', put('ab12', 'From the phone', { ifMatch: [tag] }));
  const second = c.command('alice', put('ab12', 'From the laptop', { ifMatch: [tag] }));
  // The leader decides both on the same state, then proposes and applies them in turn.
  const decidedFirst = c.store.decide(first);
  const decidedSecond = c.store.decide(second);
  t.is(decidedFirst.kind, 'effect');
  t.is(decidedSecond.kind, 'effect');
  if (decidedFirst.kind !== 'effect' || decidedSecond.kind !== 'effect') return;
  const index = c.store.appliedIndex();
  const [one] = c.store.apply([{ index: index + 1, term: 1, data: decidedFirst.entry }]);
  const [two] = c.store.apply([{ index: index + 2, term: 1, data: decidedSecond.entry }]);
  t.like(one, { ok: true, result: { outcome: 'updated' } });
  t.like(two, { ok: false, stale: true });
  // Decided again, as the leader does with a stale effect: the tag moved.
  const again = decideAndApply(c.store, second);
  t.like(again, { ok: true, result: { outcome: 'precondition-failed' } });
  t.is(
    c
      .read('alice', { type: 'dav.calendar', names: ['ab12'], data: true })
      .resources[0]?.ics?.match(/SUMMARY:(.*)/)?.[1]
      ?.trim(),
    'From the phone',
  );
});

test('a PUT goes through the calendar’s rules: a conflict is refused naming what is in the way', async (t) => {
  const c = await client();
  c.ok(
    'alice',
    {
      type: 'event.create',
      draft: {
        title: 'Standup',
        start: at('2026-03-02T09:30:00Z'),
        end: at('2026-03-02T09:45:00Z'),
      },
    },
    { ids: ['standup'] },
  );
  const refused = c.refused('alice', put('ab12', 'Dentist'));
  t.is(refused.code, 'conflict');
  t.regex(refused.message, /Standup/);
  t.like(refused, { details: { conflicts: [{ id: 'standup', title: 'Standup' }] } });
  t.false('ab12' in calendar(c, 'alice'));
  // An invalid event is refused as the API refuses it.
  const backwards = c.refused('alice', {
    ...put('cd34', 'Backwards'),
    event: { uid: 'cd34', draft: { title: 'Backwards', start: MONDAY.end, end: MONDAY.start } },
  });
  t.is(backwards.code, 'invalid');
});

test('an attendee’s PUT answers (accept, decline) and may change nothing else', async (t) => {
  const c = await client();
  c.ok(
    'alice',
    { type: 'event.create', draft: { title: 'Review', ...MONDAY }, with: ['bob'] },
    { ids: ['review'] },
  );
  const asBob = (title: string, answer: 'accepted' | 'declined' | 'pending' | null) =>
    put('review', title, { answer });
  const before = calendar(c, 'bob');
  t.true('review' in before);
  const edit = c.refused('bob', asBob('Review (my notes)', 'accepted'));
  t.is(edit.code, 'forbidden');
  t.regex(
    edit.message,
    /attendee of "Review", which alice organizes: .*only your answer .*its title/,
  );
  // The same event, answered: bob accepts through the API's rules.
  const accepted = c.ok('bob', asBob('Review', 'accepted'));
  t.like(accepted, { outcome: 'updated', name: 'review' });
  t.not(accepted.outcome === 'updated' ? accepted.etag : null, before.review);
  t.is(
    c
      .read('alice', { type: 'event.show', eventId: 'review' })
      .event.attendees.find((a) => a.username === 'bob')?.status,
    'accepted',
  );
  // The same answer again changes nothing; taking it back is refused.
  t.like(c.ok('bob', asBob('Review', 'accepted')), { outcome: 'updated' });
  t.is(c.refused('bob', asBob('Review', 'pending')).code, 'forbidden');
  // Declining takes it out of bob's calendar: no tag left.
  t.deepEqual(c.ok('bob', asBob('Review', 'declined')), {
    outcome: 'updated',
    name: 'review',
    etag: null,
  });
  t.deepEqual(calendar(c, 'bob'), {});
});

test('a DELETE cancels for the organizer, declines for an attendee, honours If-Match, and finds nothing twice', async (t) => {
  const c = await client();
  c.ok(
    'alice',
    { type: 'event.create', draft: { title: 'Review', ...MONDAY }, with: ['bob'] },
    { ids: ['review'] },
  );
  const tags = calendar(c, 'bob');
  t.deepEqual(
    c.ok('bob', { type: 'dav.delete', name: 'review', ifMatch: ['"0000000000000000"'] }),
    {
      outcome: 'precondition-failed',
      etag: tags.review ?? null,
    },
  );
  t.like(c.ok('bob', { type: 'dav.delete', name: 'review', ifMatch: [tags.review ?? ''] }), {
    outcome: 'deleted',
  });
  t.deepEqual(calendar(c, 'bob'), {});
  t.is(c.read('alice', { type: 'event.show', eventId: 'review' }).event.status, 'confirmed');
  t.is(c.refused('bob', { type: 'dav.delete', name: 'review' }).code, 'not_found');
  t.like(c.ok('alice', { type: 'dav.delete', name: 'review' }), { outcome: 'deleted' });
  t.is(c.read('alice', { type: 'event.show', eventId: 'review' }).event.status, 'cancelled');
  t.is(c.refused('alice', { type: 'dav.delete', name: 'review' }).code, 'not_found');
  // A cancelled UID does not come back by writing it again.
  const back = c.refused('alice', {
    ...put('review', 'Review'),
  });
  t.is(back.code, 'forbidden');
  t.regex(back.message, /cancelled/);
});

test('an event imported with a UID is named by it; its id stays an alias of it for old hrefs', async (t) => {
  const c = await client();
  c.ok(
    'alice',
    {
      type: 'event.import',
      events: [{ uid: 'x@y', draft: { title: 'Imported', ...MONDAY } }],
    },
    { ids: ['imp'] },
  );
  t.deepEqual(Object.keys(calendar(c, 'alice')), ['x@y']);
  const byId = c.read('alice', { type: 'dav.calendar', names: ['imp'], data: false });
  t.deepEqual(
    byId.resources.map((r) => [r.id, r.name]),
    [['imp', 'imp']],
  );
  t.is(byId.resources[0]?.etag, calendar(c, 'alice')['x@y']);
  t.like(c.ok('alice', put('imp', 'Imported (renamed)', { uid: 'x@y' })), { outcome: 'updated' });
  t.is(c.read('alice', { type: 'event.show', eventId: 'imp' }).event.title, 'Imported (renamed)');
});

test('a device’s session writes its calendar through dav.put and dav.delete, and nothing else of the API', async (t) => {
  const c = await client();
  c.ok('alice', { type: 'device.create', did: 'd1', label: 'phone', passwordHash: HASH });
  const asDevice = (body: CommandBody) =>
    decideAndApply(c.store, { ...c.command('alice', body), session: { generation: 0, did: 'd1' } });
  t.like(asDevice(put('ab12', 'Dentist')), { ok: true, result: { outcome: 'created' } });
  t.like(asDevice({ type: 'dav.delete', name: 'ab12' }), {
    ok: true,
    result: { outcome: 'deleted' },
  });
  const create = asDevice({ type: 'event.create', draft: { title: 'No', ...MONDAY } });
  t.like(create, { ok: false, error: { code: 'unauthenticated' } });
  t.regex(create.ok ? '' : create.error.message, /only opens its calendar over CalDAV/);
  const query: QueryBody = { type: 'event.list', from: MONDAY.start, to: MONDAY.end };
  t.false(
    c.store.query({
      v: 1,
      actor: 'alice',
      at: c.now,
      session: { generation: 0, did: 'd1' },
      body: query,
    }).ok,
  );
});
