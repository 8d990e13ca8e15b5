/**
 * The dashboard's panels. Each renders one section of a snapshot and copes with that section
 * being absent (not observed) or empty. Every state is written as a word (`up`, `DOWN`,
 * `leader`); colour only adds emphasis, so a monochrome terminal loses nothing.
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { formatClockTime, formatCount, formatDuration } from './format.js';
import type {
  DbMember,
  Membership,
  FailoverEvent,
  FailoverKind,
  GossipMember,
  RedisInstance,
  SupervisorLease,
  VipAgent,
  VipLease,
  VipStatus,
} from '../ops/model.js';
import { dbLeader, sortGossipMembers } from '../ops/model.js';

type Color = 'green' | 'red' | 'yellow' | 'cyan' | 'gray';

interface Cell {
  text: string;
  color?: Color;
  bold?: boolean;
}

const DOWN: Cell = { text: 'DOWN', color: 'red', bold: true };
const UP: Cell = { text: 'up', color: 'green' };

/** Columns padded to their widest cell, two spaces apart. */
function Table({ header, rows }: { header: readonly string[]; rows: readonly Cell[][] }) {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.text.length ?? 0)),
  );
  const line = (cells: readonly Cell[], key: string, heading = false) => (
    <Text key={key}>
      {cells.map((cell, column) => (
        <Text key={column} color={cell.color} bold={cell.bold ?? heading} dimColor={heading}>
          {column === cells.length - 1 ? cell.text : `${cell.text.padEnd(widths[column] ?? 0)}  `}
        </Text>
      ))}
    </Text>
  );
  return (
    <Box flexDirection="column">
      {line(
        header.map((text) => ({ text })),
        'header',
        true,
      )}
      {rows.map((row, index) => line(row, String(index)))}
    </Box>
  );
}

/** A titled section; `summary` follows the title on its line. */
function Panel({
  title,
  summary,
  children,
}: {
  title: string;
  summary?: ReactNode;
  children?: ReactNode;
}) {
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text>
        <Text bold color="cyan">
          {title}
        </Text>
        {summary === undefined ? null : (
          <Text>
            {'  '}
            {summary}
          </Text>
        )}
      </Text>
      {children}
    </Box>
  );
}

function NotObserved({ title }: { title: string }) {
  return <Panel title={title} summary={<Text color="yellow">not observed</Text>} />;
}

export function DbMembersPanel({ members }: { members: DbMember[] | undefined }) {
  const title = 'DB members';
  if (members === undefined) return <NotObserved title={title} />;
  const leader = dbLeader(members);
  const up = members.filter((member) => member.up).length;
  // Feeds that do not observe the configuration (no leader, older ones) get no column for it.
  const observed = members.some((member) => member.membership != null);
  const voters = members.filter((member) => member.membership === 'voter').length;
  const others = members.filter((member) => member.membership === 'learner').length;
  const summary = (
    <Text>
      {`${up}/${members.length} up, leader `}
      <Text color={leader === null ? 'red' : 'green'} bold>
        {leader === null ? 'none' : `${leader.id} (term ${leader.term})`}
      </Text>
      {!observed
        ? ''
        : `, ${voters} voters${others > 0 ? `, ${others} learner${others > 1 ? 's' : ''}` : ''}`}
    </Text>
  );
  const rows = members.map((member): Cell[] => {
    if (!member.up) {
      const unknown = { text: '-' };
      return [
        { text: member.id, bold: true },
        { text: member.address },
        DOWN,
        unknown,
        ...(observed ? [membershipCell(member.membership, null)] : []),
        unknown,
        unknown,
        unknown,
        unknown,
        { text: formatDuration(member.lastContactMs) },
      ];
    }
    const isLeader = member.role === 'leader';
    return [
      { text: member.id, bold: true },
      { text: member.address },
      UP,
      {
        text: member.role,
        color: isLeader ? 'green' : member.role === 'follower' ? undefined : 'yellow',
      },
      ...(observed ? [membershipCell(member.membership, member.catchUpPercent ?? null)] : []),
      { text: String(member.term) },
      { text: `${member.commit}/${member.applied}` },
      { text: member.leader ?? 'none', color: member.leader === null ? 'yellow' : undefined },
      {
        text: formatCount(member.lagEntries),
        color: member.lagEntries !== null && member.lagEntries > 0 ? 'yellow' : undefined,
      },
      { text: isLeader ? 'self' : formatDuration(member.lastContactMs) },
    ];
  });
  return (
    <Panel title={title} summary={summary}>
      <Table
        header={[
          'member',
          'address',
          'state',
          'role',
          ...(observed ? ['membership'] : []),
          'term',
          'commit/applied',
          'leader',
          'lag',
          'last contact',
        ]}
        rows={rows}
      />
    </Panel>
  );
}

/** Voter, learner with its catch-up progress, or out of the configuration. */
function membershipCell(membership: Membership | null | undefined, percent: number | null): Cell {
  switch (membership) {
    case 'voter':
      return { text: 'voter' };
    case 'learner':
      return {
        text: percent === null ? 'learner' : `learner ${percent}%`,
        color: 'yellow',
      };
    case 'removed':
      return { text: 'removed', color: 'red' };
    default:
      return { text: '-' };
  }
}

export function RedisPanel({ instances }: { instances: RedisInstance[] | undefined }) {
  const title = 'Redis';
  if (instances === undefined) return <NotObserved title={title} />;
  const rows = instances.map((instance): Cell[] => {
    if (!instance.up) {
      return [
        { text: instance.name, bold: true },
        { text: instance.address },
        DOWN,
        { text: '-' },
        { text: '-' },
        { text: '-' },
        { text: '-' },
      ];
    }
    const primary = instance.role === 'primary';
    return [
      { text: instance.name, bold: true },
      { text: instance.address },
      UP,
      { text: instance.role, color: primary ? 'green' : undefined },
      { text: String(instance.offset) },
      primary ? { text: '-' } : instance.linkUp ? { text: 'up', color: 'green' } : DOWN,
      { text: formatCount(instance.epoch) },
    ];
  });
  return (
    <Panel title={title}>
      <Table
        header={['instance', 'address', 'state', 'role', 'offset', 'link', 'epoch']}
        rows={rows}
      />
    </Panel>
  );
}

const AGENT_COLORS: Record<VipAgent['state'], Color | undefined> = {
  active: 'green',
  passive: undefined,
  down: 'red',
};

/** What the lease says, in words: who holds it, its epoch, how long it has left. */
function LeaseSummary({ lease }: { lease: VipLease | undefined }) {
  if (lease === undefined) return <Text color="yellow">lease unknown (DB not read)</Text>;
  if (lease.holder === null || lease.remainingMs === null) {
    return <Text>{`lease free (epoch ${lease.epoch})`}</Text>;
  }
  const left =
    lease.remainingMs < 0 ? (
      <Text color="red">{`EXPIRED ${formatDuration(-lease.remainingMs)} ago`}</Text>
    ) : (
      <Text>{`${formatDuration(lease.remainingMs)} left`}</Text>
    );
  return (
    <Text>
      {`lease ${lease.holder} epoch ${lease.epoch}, `}
      {left}
    </Text>
  );
}

/** The VIP, its lease and its agents; `at` is the snapshot's time. */
export function VipPanel({ vip, at }: { vip: VipStatus | undefined; at: number }) {
  const title = 'VIP';
  if (vip === undefined) return <NotObserved title={title} />;
  const split = vip.claimants.length > 1;
  const summary = (
    <Text>
      {`${vip.address} owner `}
      <Text color={vip.owner === null || split ? 'red' : 'green'} bold>
        {vip.owner ?? 'NONE'}
      </Text>
      {vip.ownerFromLease ? <Text color="yellow">{' (by the lease; agent silent)'}</Text> : null}
      {split ? (
        <Text color="red" bold>{`  SPLIT: configured on ${vip.claimants.join(', ')}`}</Text>
      ) : null}
      {'  '}
      <LeaseSummary lease={vip.lease} />
    </Text>
  );
  const rows = vip.agents.map((agent): Cell[] => {
    const head: Cell[] = [{ text: agent.id, bold: true }, { text: agent.host }];
    if (agent.state === 'down') {
      return [
        ...head,
        DOWN,
        { text: '-' },
        { text: formatDuration(agent.lastHeartbeatMs) },
        { text: '-' },
        { text: agent.error ?? 'no answer', color: 'gray' },
      ];
    }
    const failures = agent.gatewayFailures;
    return [
      ...head,
      { text: agent.state, color: AGENT_COLORS[agent.state] },
      agent.vipConfigured === null
        ? { text: '-' }
        : agent.vipConfigured
          ? { text: 'yes', color: 'green', bold: true }
          : { text: 'no' },
      { text: formatDuration(agent.lastHeartbeatMs) },
      {
        text: formatCount(failures),
        color: failures !== null && failures > 0 ? 'yellow' : undefined,
      },
      {
        text:
          agent.lastAction === null
            ? '-'
            : agent.lastActionAt === null
              ? agent.lastAction
              : `${agent.lastAction}, ${formatDuration(Math.max(0, at - agent.lastActionAt))} ago`,
      },
    ];
  });
  return (
    <Panel title={title} summary={summary}>
      <Table
        header={['agent', 'host', 'state', 'VIP here', 'heartbeat age', 'gw failures', 'detail']}
        rows={rows}
      />
    </Panel>
  );
}

export function SupervisorPanel({ lease }: { lease: SupervisorLease | undefined }) {
  const title = 'Supervisor';
  if (lease === undefined) return <NotObserved title={title} />;
  const expiry = lease.leaseExpiresInMs;
  const remaining =
    lease.holder === null || expiry === null ? (
      <Text color="red">no holder</Text>
    ) : expiry < 0 ? (
      <Text color="red">{`lease EXPIRED ${formatDuration(-expiry)} ago`}</Text>
    ) : (
      <Text>{`lease ${formatDuration(expiry)} left`}</Text>
    );
  return (
    <Panel
      title={title}
      summary={
        <Text>
          {'holder '}
          <Text bold color={lease.holder === null ? 'red' : 'green'}>
            {lease.holder ?? 'none'}
          </Text>
          {`  epoch ${lease.epoch}  `}
          {remaining}
        </Text>
      }
    />
  );
}

const GOSSIP_COLORS: Record<GossipMember['state'], Color> = {
  alive: 'green',
  suspect: 'yellow',
  dead: 'red',
  left: 'gray',
};

/** The observer's gossip view, request path first; `at` is the snapshot's time. */
export function GossipPanel({ members, at }: { members: GossipMember[] | undefined; at: number }) {
  const title = 'Gossip';
  if (members === undefined) return <NotObserved title={title} />;
  const rows = sortGossipMembers(members).map((member): Cell[] => [
    { text: member.id, bold: true },
    { text: member.role },
    { text: member.address },
    {
      text: member.state === 'dead' ? 'DEAD' : member.state,
      color: GOSSIP_COLORS[member.state],
      bold: member.state === 'dead',
    },
    { text: String(member.incarnation) },
    { text: formatDuration(Math.max(0, at - member.since)) },
  ]);
  const count = (state: GossipMember['state']) => members.filter((m) => m.state === state).length;
  const others = (['suspect', 'dead', 'left'] as const)
    .filter((state) => count(state) > 0)
    .map((state) => `, ${count(state)} ${state}`)
    .join('');
  return (
    <Panel title={title} summary={`${count('alive')}/${members.length} alive${others}`}>
      {members.length === 0 ? (
        <Text dimColor>no other member seen</Text>
      ) : (
        <Table header={['member', 'role', 'address', 'state', 'inc', 'for']} rows={rows} />
      )}
    </Panel>
  );
}

const FAILOVER_COLORS: Record<FailoverKind, Color> = {
  'db-leader': 'yellow',
  'redis-primary': 'yellow',
  vip: 'yellow',
  supervisor: 'yellow',
  'member-down': 'red',
  'member-up': 'green',
};

/** The newest `lines` failovers, newest last, as a log scrolls. */
export function FailoverLog({
  failovers,
  lines,
}: {
  failovers: readonly FailoverEvent[];
  lines: number;
}) {
  const shown = failovers.slice(Math.max(0, failovers.length - lines));
  const hidden = failovers.length - shown.length;
  return (
    <Panel
      title="Failovers"
      summary={hidden > 0 ? <Text dimColor>{`(${hidden} earlier)`}</Text> : undefined}
    >
      {shown.length === 0 ? (
        <Text dimColor>none seen</Text>
      ) : (
        shown.map((event, index) => (
          <Text key={index}>
            <Text dimColor>{formatClockTime(event.at)}</Text>
            {'  '}
            <Text color={FAILOVER_COLORS[event.kind]}>{event.kind.padEnd(13)}</Text>
            {'  '}
            {event.message}
          </Text>
        ))
      )}
    </Panel>
  );
}
