/**
 * Operators changing the DB's membership on five real DB member processes: the members
 * list and the changes answer the operator's certificate only, refuse bad requests with
 * clear 4xx answers, refuse a removal that would cost the quorum, hand leadership over when
 * the leader itself is removed, and `agenda cluster member replace` replaces a member whose
 * disk is lost while clients keep writing — nothing acknowledged lost, no error seen.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { ensureCertificate, ensureCertificateAuthority } from '../../base/pki.js';
import type { NodeConfigFile } from '../../raft/cmd/config.js';
import { ProcessCluster, type StatusProbe } from '../../raft/cluster/process-cluster.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import { DbClient } from '../../server/db/client.js';
import type { MembershipView } from '../../server/db/membership.js';
import { MembershipClient } from '../../ops/membership-client.js';
import MemberList from '../../cli/commands/cluster/member/list.js';
import MemberRemove from '../../cli/commands/cluster/member/remove.js';
import MemberReplace from '../../cli/commands/cluster/member/replace.js';
import type { ReplaceResult } from '../../cli/cluster/replace-member.js';
import { RecordedTerminal, parseJsonLine, runCommand } from '../../cli/test/support/harness.js';

const BASE_PORT = 27_400;
const ENTRY = resolve(fileURLToPath(new URL('../../server/db/main.ts', import.meta.url)));

async function until<T>(
  what: string,
  check: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const voters = (view: MembershipView) =>
  view.members.filter((m) => m.role === 'voter').map((m) => m.id);

test.serial('operators list, refuse, remove, re-add and replace DB members', async (t) => {
  t.timeout(240_000);
  const dir = mkdtempSync(join(tmpdir(), 'agenda-db-membership-'));
  const cluster = await ProcessCluster.start({
    dir,
    size: 5,
    basePort: BASE_PORT,
    entry: ENTRY,
    clusterId: 'agenda-db',
    roles: { members: 'db', client: 'users' },
  });
  const pkiDir = join(dir, 'pki');
  const ca = await ensureCertificateAuthority(pkiDir);
  const operatorCert = await ensureCertificate(pkiDir, 'operator', {
    ca,
    usages: 'client',
    days: 1,
    role: 'operator',
  });
  const operatorTls: MutualTlsMaterial = {
    ca: ca.certPem,
    cert: operatorCert.certPem,
    key: operatorCert.keyPem,
  };
  const apis = new Map([...cluster.members].map(([id, m]) => [id, m.client]));
  const operator = new MembershipClient({ members: apis, tls: operatorTls });
  const db = new DbClient({ members: apis, tls: cluster.tls, deadlineMs: 15_000 });
  // Members' status is the operator's to read.
  const statusReader = new DbClient({ members: apis, tls: operatorTls, deadlineMs: 15_000 });
  const raw = new Agent({
    connect: { ca: operatorTls.ca, cert: operatorTls.cert, key: operatorTls.key },
  });
  const probe: StatusProbe = (m) =>
    statusReader
      .status(m.client, 1_000)
      .then((s) => s.member)
      .catch(() => null);
  const description = join(dir, 'observer.json');
  writeFileSync(
    description,
    JSON.stringify({
      name: 'test',
      tls: {
        ca: join(pkiDir, 'ca.pem'),
        cert: join(pkiDir, 'operator.pem'),
        key: join(pkiDir, 'operator-key.pem'),
      },
      db: {
        members: [...apis].map(([id, a]) => ({
          id,
          name: `db-${id}`,
          api: `${a.host}:${a.port}`,
        })),
      },
    }),
  );
  try {
    const leader = await cluster.waitForLeader(probe);
    const followers = [1, 2, 3, 4, 5].filter((id) => id !== leader);
    const [a, b, c, target] = followers as [number, number, number, number];
    const api = (id: number) => {
      const address = apis.get(id);
      if (!address) throw new Error(`no member ${id}`);
      return `https://${address.host}:${address.port}`;
    };

    // Only the operator's certificate may look: the services' certificates are refused.
    const service = new MembershipClient({ members: apis, tls: cluster.tls });
    await t.throwsAsync(service.list(), { message: /only the operator certificate/ });
    await service.close();

    // A follower forwards the list to the leader.
    const viaFollower = new MembershipClient({
      members: new Map([[a, apis.get(a)!]]),
      tls: operatorTls,
    });
    const view = await until('every follower replicating', async () => {
      const v = await viaFollower.list();
      return v.members.every((m) => m.match > 0) ? v : null;
    });
    await viaFollower.close();
    t.is(view.leader, leader);
    t.deepEqual(voters(view), [1, 2, 3, 4, 5]);
    t.true(view.members.every((m) => m.reachable && m.caughtUp && m.address !== null));

    // Malformed or impossible requests get a reason and a 4xx; the service keeps serving.
    const ask = async (method: 'GET' | 'POST' | 'DELETE' | 'PUT', path: string, body?: unknown) => {
      const res = await request(`${api(leader)}${path}`, {
        method,
        dispatcher: raw,
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      const answer = (await res.body.json()) as { error?: { code: string; message: string } };
      return { status: res.statusCode, code: answer.error?.code, message: answer.error?.message };
    };
    t.like(await ask('POST', '/v1/cluster/members', { id: 'six' }), {
      status: 400,
      message: 'id must be an integer from 1 to 999999999',
    });
    t.like(await ask('POST', '/v1/cluster/members', { id: 9 }), { status: 400, code: 'invalid' });
    t.like(await ask('POST', '/v1/cluster/members', { id: 2, address: 'nowhere' }), {
      status: 400,
    });
    t.like(await ask('POST', '/v1/cluster/members', { id: a }), {
      status: 409,
      message: `member ${a} is already a voter`,
    });
    t.like(await ask('POST', '/v1/cluster/members/9/promote', {}), {
      status: 404,
      message: 'member 9 is not in the cluster',
    });
    t.like(await ask('DELETE', '/v1/cluster/members/9'), { status: 404 });
    t.like(await ask('DELETE', '/v1/cluster/members/abc'), { status: 400 });
    t.like(await ask('PUT', `/v1/cluster/members/${a}`), { status: 405 });
    t.like(await ask('PUT', '/v1/cluster/members'), { status: 405 });
    t.like(await ask('POST', `/v1/cluster/members/${a}/promote`, {}), { status: 200 });

    // Two followers down: removing a third live one would leave 2 reachable of 4. Refused,
    // through the CLI too (exit 4), and nothing changed.
    await cluster.kill(a);
    await cluster.kill(b);
    await until('the leader to miss two followers', async () => {
      const v = await operator.list();
      return v.members.filter((m) => !m.reachable).length === 2;
    });
    await t.throwsAsync(operator.remove(c), { message: /would leave 4 voters of which 2/ });
    const refused = await runCommand(MemberRemove, [String(c), '--topology', description]);
    t.is(refused.exitCode, 4);
    t.regex(refused.stderr, /fewer than a quorum \(3\)/);
    t.deepEqual(voters(await operator.list()), [1, 2, 3, 4, 5]);
    await cluster.startMember(a);
    await cluster.startMember(b);

    // Removing the leader hands leadership over first (503, retry), then its successor
    // removes it; it comes back as a learner (it kept its log), catches up, is promoted.
    await until('every member reachable again', async () => {
      const v = await operator.list();
      return v.members.every((m) => m.reachable && m.caughtUp);
    });
    const handedOver = await runCommand(MemberRemove, [
      String(leader),
      '--topology',
      description,
      '--json',
    ]);
    t.is(handedOver.exitCode, 0, handedOver.stderr);
    const afterRemoval = (parseJsonLine(handedOver.stdout) as { members: MembershipView }).members;
    t.not(afterRemoval.leader, leader);
    t.false(afterRemoval.members.some((m) => m.id === leader));
    t.like(await operator.addLearner(leader), { changed: true });
    t.like(await operator.addLearner(leader), { changed: false });
    await until('the old leader to catch up as a learner', async () => {
      const v = await operator.list();
      return v.members.find((m) => m.id === leader)?.caughtUp === true;
    });
    t.like(await operator.promote(leader), { changed: true });
    t.like(await operator.promote(leader), { changed: false });
    t.deepEqual(voters(await operator.list()), [1, 2, 3, 4, 5]);

    // A lost disk, replaced with the CLI while 8 clients write. The operator's part (wipe,
    // restart joining) is done here when the command asks for it.
    const acked: string[] = [];
    const failures: string[] = [];
    let writing = true;
    const writers = Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; writing; i++) {
          const username = `u${w}-${i}`;
          try {
            const r = await db.command({
              v: 1,
              requestId: `reg-${username}`,
              actor: null,
              ids: [],
              body: { type: 'user.register', username, passwordHash: `scrypt$t$${username}` },
            });
            if (r.ok) acked.push(username);
            else failures.push(`${username}: ${r.error.code}`);
          } catch (err) {
            failures.push(`${username}: ${(err as Error).message}`);
          }
        }
      }),
    );
    const terminal = new RecordedTerminal();
    const operatorHands = (async () => {
      await until(
        'the command to ask for the member to be wiped',
        () => terminal.stderr.text.includes('Waiting for it to answer with an empty log'),
        60_000,
      );
      const member = cluster.members.get(target)!;
      const config = JSON.parse(readFileSync(member.configPath, 'utf8')) as NodeConfigFile;
      await cluster.kill(target);
      rmSync(resolve(dirname(member.configPath), config.dataDir), { recursive: true });
      writeFileSync(member.configPath, JSON.stringify({ ...config, join: true }));
      await cluster.startMember(target);
    })();
    const replaced = await runCommand(
      MemberReplace,
      [`db-${target}`, '--topology', description, '--force', '--json', '--timeout', '120'],
      terminal,
    );
    await operatorHands;
    writing = false;
    await writers;
    t.is(replaced.exitCode, 0, replaced.stderr);
    const result = parseJsonLine(replaced.stdout) as ReplaceResult;
    t.true(result.replaced);
    t.deepEqual(
      result.steps.map((s) => s.step),
      ['removed', 'rejoin-requested', 'back-empty', 'learner', 'caught-up', 'voter'],
    );
    t.deepEqual(voters(result.members), [1, 2, 3, 4, 5]);
    t.regex(terminal.stderr.text, /catching up|caught up/);
    t.deepEqual(failures, [], 'every write was acknowledged');
    t.true(acked.length > 0);
    t.log(`replaced db-${target} in ${result.durationMs} ms under ${acked.length} writes`);

    // The replaced member holds every acknowledged write: it answers them itself.
    const replacedApi = apis.get(target)!;
    await until('the replaced member to apply everything', async () => {
      const own = await operator.memberStatus(replacedApi);
      const v = await operator.list();
      return own !== null && own.applied >= v.commit - 5;
    });
    const onlyTarget = new DbClient({
      members: new Map([[target, replacedApi]]),
      tls: cluster.tls,
    });
    for (const username of acked.slice(-20)) {
      const seen = await onlyTarget.query(
        null,
        { type: 'user.lookup', username },
        { consistency: 'local' },
      );
      t.true(seen.ok, `${username} is on the replaced member`);
    }
    await onlyTarget.close();

    // Running it again finds a healthy voter: nothing to do, exit 0.
    const again = await runCommand(MemberReplace, [
      `db-${target}`,
      '--topology',
      description,
      '--json',
    ]);
    t.is(again.exitCode, 0, again.stderr);
    t.like(parseJsonLine(again.stdout), { replaced: false });

    // The list, as an operator reads it.
    const listed = await runCommand(MemberList, ['--topology', description]);
    t.is(listed.exitCode, 0, listed.stderr);
    t.regex(listed.stdout, /5 voters/);
    t.regex(listed.stdout, new RegExp(`db-${target}\\s+voter`));

    // The same member loses its disk again and comes back on its own, not joining: it answers
    // heartbeats and the leader still counts what it once stored, so the list looks healthy.
    // Without --force, replace asks the member itself, sees the log it lost and replaces it
    // (here only as far as the removal: nobody wipes it again, so the command times out).
    {
      const member = cluster.members.get(target)!;
      const config = JSON.parse(readFileSync(member.configPath, 'utf8')) as NodeConfigFile;
      await cluster.kill(target);
      rmSync(resolve(dirname(member.configPath), config.dataDir), { recursive: true });
      writeFileSync(member.configPath, JSON.stringify({ ...config, join: false }));
      await cluster.startMember(target);
      await until('the leader to hear the emptied member again', async () => {
        const m = (await operator.list()).members.find((x) => x.id === target);
        return m?.reachable === true && m.caughtUp;
      });
      const flagged = await runCommand(MemberList, ['--topology', description]);
      t.regex(flagged.stdout, new RegExp(`db-${target}\\s+voter.*lost its log`));
      t.regex(flagged.stdout, /holds fewer entries than it acknowledged/);
      const lost = await runCommand(MemberReplace, [
        `db-${target}`,
        '--topology',
        description,
        '--json',
        '--timeout',
        '5',
      ]);
      t.regex(lost.stderr, /lost its log; replacing it/);
      t.regex(lost.stderr, /removed from the cluster/);
      t.false(voters(await operator.list()).includes(target), 'it is no longer a voter');
    }
  } finally {
    await operator.close();
    await db.close();
    await raw.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
