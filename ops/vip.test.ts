import test from 'ava';
import { agentStatus } from './testing.js';
import type { AgentAnswer, AgentTarget } from './vip.js';
import { AgentStatusSchema, vipStatus } from './vip.js';

const TARGETS: AgentTarget[] = [
  { id: 'vip-1', host: 'vm1', status: '10.77.0.11:7502' },
  { id: 'vip-2', host: 'vm2', status: '10.77.0.12:7502' },
];
const VIP = '10.77.0.10';

function up(id: string, peer: string, state: 'active' | 'passive', heartbeatAgeMs = 80) {
  const status = agentStatus(id, peer, state);
  return {
    ok: true,
    status: AgentStatusSchema.parse({ ...status, peer: { ...status.peer, heartbeatAgeMs } }),
  } satisfies AgentAnswer;
}
const down = (error = 'connect ECONNREFUSED'): AgentAnswer => ({ ok: false, error });
const held = (holder: string, remainingMs = 900) => ({ holder, epoch: 5, remainingMs });

test('the agent with the VIP configured owns it; each agent hears the other', (t) => {
  const status = vipStatus(
    VIP,
    TARGETS,
    [up('vip-1', 'vip-2', 'active', 70), up('vip-2', 'vip-1', 'passive', 110)],
    held('vip-1'),
  );
  t.like(status, { address: VIP, owner: 'vm1', ownerFromLease: false, claimants: ['vm1'] });
  t.deepEqual(status.lease, held('vip-1'));
  t.deepEqual(
    status.agents.map((a) => [a.id, a.state, a.vipConfigured, a.lastHeartbeatMs]),
    [
      ['vip-1', 'active', true, 110],
      ['vip-2', 'passive', false, 70],
    ],
  );
});

test('a silent holder still owns the VIP while its lease runs, then nobody does', (t) => {
  const answers = [down(), up('vip-2', 'vip-1', 'passive', 1500)];
  const running = vipStatus(VIP, TARGETS, answers, held('vip-1', 400));
  t.like(running, { owner: 'vm1', ownerFromLease: true, claimants: [] });
  t.like(running.agents[0], {
    state: 'down',
    error: 'connect ECONNREFUSED',
    lastHeartbeatMs: 1500,
  });
  t.like(vipStatus(VIP, TARGETS, answers, held('vip-1', -200)), { owner: null });
  t.like(
    vipStatus(VIP, TARGETS, answers, undefined),
    { owner: null },
    'without the lease, no guess',
  );
  t.like(vipStatus(VIP, TARGETS, answers, { holder: null, epoch: 5, remainingMs: null }), {
    owner: null,
  });
});

test('a passive holder (between acquiring and claiming) does not make its host the owner', (t) => {
  const status = vipStatus(
    VIP,
    TARGETS,
    [up('vip-1', 'vip-2', 'passive'), up('vip-2', 'vip-1', 'passive')],
    held('vip-2'),
  );
  t.like(status, { owner: null, ownerFromLease: false, claimants: [] });
});

test('two hosts with the VIP: both are claimants, the lease holder is named owner', (t) => {
  const answers = [up('vip-1', 'vip-2', 'active'), up('vip-2', 'vip-1', 'active')];
  t.like(vipStatus(VIP, TARGETS, answers, held('vip-2')), {
    owner: 'vm2',
    claimants: ['vm1', 'vm2'],
  });
  t.like(vipStatus(VIP, TARGETS, answers, undefined), { owner: 'vm1', claimants: ['vm1', 'vm2'] });
});

test('an older or newer status document: only what is used must fit', (t) => {
  const minimal = AgentStatusSchema.parse({ id: 'vip-1', state: 'active' });
  const status = vipStatus(
    VIP,
    TARGETS,
    [
      { ok: true, status: minimal },
      {
        ok: true,
        status: AgentStatusSchema.parse({
          id: 'vip-2',
          state: 'passive',
          vipConfigured: 'maybe',
          peer: { heartbeatAgeMs: 'soon' },
          gatewayFailures: 4,
          lastAction: { type: 'release-vip', reason: 'gateway unhealthy', outcome: 'failed' },
        }),
      },
    ],
    undefined,
  );
  t.like(status.agents[0], {
    state: 'active',
    vipConfigured: true,
    gatewayFailures: null,
    lastAction: null,
    lastHeartbeatMs: null,
  });
  t.like(status.agents[1], {
    state: 'passive',
    vipConfigured: false,
    gatewayFailures: 4,
    lastAction: 'release-vip: gateway unhealthy (failed)',
  });
  t.is(status.owner, 'vm1');
});
