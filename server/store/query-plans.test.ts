/**
 * The loads use the indexes: no load scans a table, and the agenda's time-range load reads
 * only the two attendee time indexes plus primary-key lookups. The store never runs
 * ANALYZE, so the plans checked on a fresh schema are the plans it runs with.
 */
import test from 'ava';
import { loadSqlJs } from '../../raft/kv/sql.js';
import { LOADS } from './calendar-rows.js';
import { configureConnection, createSchema } from './schema.js';

async function plans(): Promise<Map<string, string[]>> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  configureConnection(db);
  createSchema(db);
  const result = new Map<string, string[]>();
  for (const [name, sql] of Object.entries(LOADS)) {
    const statement = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
    const steps: string[] = [];
    while (statement.step()) steps.push(String(statement.get()[3]));
    statement.free();
    result.set(name, steps);
  }
  db.close();
  return result;
}

// Scanning these is scanning a list the load was handed or built, not a table; or a partial
// index that holds exactly the rows asked for, read up to the load's limit (the deleted
// accounts whose data is still being removed).
const HARMLESS_SCANS =
  /^SCAN (json_each|who|hits|wanted)\b|^SCAN deleted_users USING INDEX deleted_users_being_purged$/;

test('no load scans a table', async (t) => {
  for (const [name, steps] of await plans()) {
    const scans = steps.filter((s) => s.startsWith('SCAN') && !HARMLESS_SCANS.test(s));
    t.deepEqual(scans, [], `${name}: ${steps.join(' | ')}`);
  }
});

test('the agenda load reads the attendee time indexes and looks events up by key', async (t) => {
  const steps = (await plans()).get('eventsInWindow') ?? [];
  const uses = (pattern: RegExp) => steps.some((s) => pattern.test(s));
  t.true(
    uses(
      /^SEARCH a USING COVERING INDEX attendees_short_by_start \(username=\? AND span_class=\? AND start_at>\? AND start_at<\?\)/,
    ),
    steps.join('\n'),
  );
  t.true(
    uses(
      /^SEARCH a USING COVERING INDEX attendees_long_by_end \(username=\? AND span_class=\? AND series_end>\?\)/,
    ),
    steps.join('\n'),
  );
  t.true(uses(/^SEARCH e USING PRIMARY KEY \(id=\?\)/), steps.join('\n'));
  t.true(uses(/^SEARCH x USING PRIMARY KEY \(event_id=\?\)/), steps.join('\n'));
});

test("the agenda's and the event list's own loads read the attendee time indexes and look events up by key", async (t) => {
  const all = await plans();
  for (const name of ['agendaCommitments', 'attendingInWindow', 'listingInWindow']) {
    const steps = all.get(name) ?? [];
    const uses = (pattern: RegExp) => steps.some((s) => pattern.test(s));
    t.true(
      uses(
        /^SEARCH a USING COVERING INDEX attendees_short_by_start \(username=\? AND span_class=\? AND start_at>\? AND start_at<\?\)/,
      ),
      `${name}: ${steps.join(' | ')}`,
    );
    t.true(
      uses(
        /^SEARCH a USING COVERING INDEX attendees_long_by_end \(username=\? AND span_class=\? AND series_end>\?\)/,
      ),
      `${name}: ${steps.join(' | ')}`,
    );
  }
  for (const name of ['agendaCommitments', 'listingInWindow']) {
    const steps = all.get(name) ?? [];
    t.true(
      steps.some((s) => /^SEARCH e USING PRIMARY KEY \(id=\?\)/.test(s)),
      `${name}: ${steps.join(' | ')}`,
    );
  }
  const byIds = all.get('eventsByIds') ?? [];
  t.true(
    byIds.some((s) => /^SEARCH e USING PRIMARY KEY \(id=\?\)/.test(s)),
    byIds.join(' | '),
  );
});

test('invitations, group events and memberships have their own indexes', async (t) => {
  const all = await plans();
  t.true(
    (all.get('invitationsPageOfUser') ?? []).some((s) => s.includes('attendees_pending_by_end')),
  );
  t.true((all.get('eventsOfGroup') ?? []).some((s) => s.includes('events_by_group')));
  t.true((all.get('groupsOfUser') ?? []).some((s) => s.includes('members_by_user')));
});

test("cancelling a series finds the occurrences changed on their own by the series' index, in its order", async (t) => {
  const steps = (await plans()).get('liveEventsDetachedFrom') ?? [];
  t.true(
    steps.some((s) => /^SEARCH e USING INDEX events_by_detached_series \(<expr>=\?\)/.test(s)),
    steps.join('\n'),
  );
  // The index holds the events by id within a series: no sort before the limit.
  t.false(
    steps.some((s) => s.includes('TEMP B-TREE')),
    steps.join('\n'),
  );
});

test("changing one occurrence counts the series' occurrences changed on their own, and finds the one it names, by the series' index", async (t) => {
  const all = await plans();
  for (const name of ['liveDetachedCount', 'liveEventDetachedAt']) {
    const steps = all.get(name) ?? [];
    t.true(
      steps.some((s) => /^SEARCH e USING INDEX events_by_detached_series \(<expr>=\?\)/.test(s)),
      `${name}: ${steps.join(' | ')}`,
    );
    t.false(
      steps.some((s) => s.includes('TEMP B-TREE')),
      `${name}: ${steps.join(' | ')}`,
    );
  }
});

test("an answer to a series finds the occurrences changed on their own by the series' index, the answerer's row by key", async (t) => {
  const steps = (await plans()).get('liveEventsDetachedAnsweredWith') ?? [];
  t.true(
    steps.some((s) => /^SEARCH e USING INDEX events_by_detached_series \(<expr>=\?\)/.test(s)),
    steps.join('\n'),
  );
  t.true(
    steps.some((s) =>
      /^SEARCH a (EXISTS )?USING PRIMARY KEY \(event_id=\? AND username=\?\)/.test(s),
    ),
    steps.join('\n'),
  );
  t.false(
    steps.some((s) => s.includes('TEMP B-TREE')),
    steps.join('\n'),
  );
});

test('an import loads commitments window by window with the time indexes, and finds UIDs by index', async (t) => {
  const all = await plans();
  const commitments = all.get('commitmentsInWindows') ?? [];
  const uses = (steps: string[], pattern: RegExp) => steps.some((s) => pattern.test(s));
  t.true(
    uses(
      commitments,
      /^SEARCH a USING COVERING INDEX attendees_short_by_start \(username=\? AND span_class=\? AND start_at>\? AND start_at<\?\)/,
    ),
    commitments.join('\n'),
  );
  t.true(
    uses(commitments, /^SEARCH a USING COVERING INDEX attendees_long_by_end/),
    commitments.join('\n'),
  );
  const byUid = all.get('eventsByUid') ?? [];
  t.true(
    uses(byUid, /^SEARCH e USING INDEX events_by_organizer_uid \(organizer=\? AND uid=\?\)/),
    byUid.join('\n'),
  );
  const byId = all.get('eventsByIdWithoutUid') ?? [];
  t.true(uses(byId, /^SEARCH e USING PRIMARY KEY \(id=\?\)/), byId.join('\n'));
});

test('an export pages through its own index by id, with no sort and no event read', async (t) => {
  const steps = (await plans()).get('exportEntries') ?? [];
  t.deepEqual(
    steps,
    ['SEARCH a USING COVERING INDEX attendees_by_user_event (username=? AND event_id>?)'],
    steps.join('\n'),
  );
});
