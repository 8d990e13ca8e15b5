/**
 * The dashboard's panels. Each renders one section of a snapshot and copes with that section
 * being absent (not observed) or empty. Every state is written as a word (`up`, `DOWN`,
 * `leader`); colour only adds emphasis, so a monochrome terminal loses nothing. Tables are
 * keyed columns over the snapshot's own records (tui/table.tsx, laid out as the CLI's are),
 * framed by tui/panel.tsx.
 */
import { Text } from 'ink';
import { formatBytes, formatClockTime, formatCount, formatDuration } from './format.js';
import { NotObserved, Panel, usePanelLayout } from './panel.js';
import type { Variant } from './layout.js';
import { gossipCellWidth, gridPerLine } from './layout.js';
import { Table } from './table.js';
import type { CellStyle, Color, Column } from './table.js';
import type {
  DbMember,
  DbMemberUp,
  Membership,
  FailoverEvent,
  FailoverKind,
  GossipMember,
  RedisInstance,
  RedisUp,
  SupervisorLease,
  VipAgent,
  VipLease,
  VipStatus,
} from '../ops/model.js';
import { dbLeader, sortGossipMembers, withoutObservers } from '../ops/model.js';

/** Whether `row` of `kind` is the selected member. */
function useSelected(kind: string): (id: string) => boolean {
  const { selected } = usePanelLayout();
  return (id) => selected === `${kind}:${id}`;
}

const BOLD: CellStyle = { bold: true };
const DOWN: CellStyle = { color: 'red', bold: true };
const UP: CellStyle = { color: 'green' };
const DIM: CellStyle = { dimColor: true };

/** The `up`/`DOWN` column. */
function stateColumn<T extends { up: boolean }>(): Column<T> {
  return {
    key: 'state',
    header: 'state',
    text: (row) => (row.up ? 'up' : 'DOWN'),
    style: (row) => (row.up ? UP : DOWN),
  };
}

/** Voter, learner with its catch-up progress, or out of the configuration. */
function membershipCell(
  membership: Membership | null | undefined,
  percent: number | null,
): { text: string; style?: CellStyle } {
  switch (membership) {
    case 'voter':
      return { text: 'voter' };
    case 'learner':
      return {
        text: percent === null ? 'learner' : `learner ${percent}%`,
        style: { color: 'yellow' },
      };
    case 'removed':
      return { text: 'removed', style: { color: 'red' } };
    default:
      return { text: '-' };
  }
}

function memberMembership(member: DbMember) {
  return membershipCell(member.membership, member.up ? (member.catchUpPercent ?? null) : null);
}

/**
 * The DB members' columns; `membership` only when the feed observes the configuration (no
 * leader, or an older feed, leaves it out).
 */
function dbMemberColumns(membership: boolean): Column<DbMember>[] {
  // A member the feed could not reach shows `-`, not made-up numbers.
  const upOnly =
    (text: (m: DbMemberUp) => string) =>
    (m: DbMember): string =>
      m.up ? text(m) : '-';
  return [
    { key: 'member', header: 'member', text: (m) => m.id, style: () => BOLD },
    { key: 'address', header: 'address', text: (m) => m.address },
    stateColumn(),
    {
      key: 'role',
      header: 'role',
      text: upOnly((m) => m.role),
      style: (m) =>
        !m.up || m.role === 'follower'
          ? undefined
          : { color: m.role === 'leader' ? 'green' : 'yellow' },
    },
    ...(membership
      ? [
          {
            key: 'membership',
            header: 'membership',
            text: (m: DbMember) => memberMembership(m).text,
            style: (m: DbMember) => memberMembership(m).style,
          },
        ]
      : []),
    { key: 'term', header: 'term', text: upOnly((m) => String(m.term)) },
    { key: 'commit', header: 'commit/applied', text: upOnly((m) => `${m.commit}/${m.applied}`) },
    {
      key: 'leader',
      header: 'leader',
      text: upOnly((m) => m.leader ?? 'none'),
      style: (m) => (m.up && m.leader === null ? { color: 'yellow' } : undefined),
    },
    {
      key: 'lag',
      header: 'lag',
      text: upOnly((m) => formatCount(m.lagEntries)),
      style: (m) =>
        m.up && m.lagEntries !== null && m.lagEntries > 0 ? { color: 'yellow' } : undefined,
    },
    {
      key: 'contact',
      header: 'last contact',
      text: (m) => (m.up && m.role === 'leader' ? 'self' : formatDuration(m.lastContactMs)),
    },
  ];
}

/** DB columns left out first on a narrow terminal. */
const DB_DROP = ['address', 'membership', 'leader', 'lag'];

export function DbMembersPanel({
  members,
  variant = 'full',
}: {
  members: DbMember[] | undefined;
  variant?: Variant;
}) {
  const title = 'DB members';
  const isSelected = useSelected('db');
  const { width } = usePanelLayout();
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
      {variant === 'line' && up < members.length ? (
        <Text color="red">{`; DOWN ${downIds(members)}`}</Text>
      ) : null}
    </Text>
  );
  if (variant === 'line') return <Panel title={title} summary={summary} />;
  return (
    <Panel title={title} summary={summary}>
      <Table
        rows={members}
        columns={dbMemberColumns(observed)}
        width={width}
        dropFirst={DB_DROP}
        selected={(m) => isSelected(m.id)}
      />
    </Panel>
  );
}

function downIds(members: readonly { id: string; up: boolean }[]): string {
  return members
    .filter((m) => !m.up)
    .map((m) => m.id)
    .join(' ');
}

/** The Raft columns: each member's log and what its `/metrics` last said. */
const RAFT_COLUMNS: Column<DbMemberUp>[] = [
  { key: 'member', header: 'member', text: (m) => m.id, style: () => BOLD },
  { key: 'term', header: 'term', text: (m) => String(m.term), align: 'right' },
  {
    key: 'last',
    header: 'last index',
    text: (m) => formatCount(m.raft?.lastIndex),
    align: 'right',
  },
  { key: 'commit', header: 'commit', text: (m) => String(m.commit), align: 'right' },
  { key: 'applied', header: 'applied', text: (m) => String(m.applied), align: 'right' },
  {
    key: 'backlog',
    header: 'backlog',
    text: (m) => formatCount(m.raft?.applyBacklog),
    align: 'right',
    style: (m) => ((m.raft?.applyBacklog ?? 0) > 0 ? { color: 'yellow' } : undefined),
  },
  {
    key: 'fsync',
    header: 'fsync avg',
    text: (m) => formatMs(m.metrics?.fsyncMeanMs),
    align: 'right',
  },
  {
    key: 'apply',
    header: 'apply avg',
    text: (m) => formatMs(m.metrics?.applyMeanMs),
    align: 'right',
  },
  {
    key: 'snapshots',
    header: 'snaps',
    text: (m) => formatCount(m.raft?.snapshots),
    align: 'right',
  },
  { key: 'rss', header: 'RSS', text: (m) => formatBytes(m.metrics?.rssBytes), align: 'right' },
  {
    key: 'heap',
    header: 'heap',
    text: (m) => formatBytes(m.metrics?.heapUsedBytes),
    align: 'right',
  },
];

/** `0.42 ms`, `12 ms`; `-` when unknown. */
function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${Math.round(ms)} ms`;
}

/**
 * The members' Raft logs and costs: last/commit/applied index, the apply backlog, the mean
 * fsync and apply time since the previous scrape of `/metrics`, snapshots and memory.
 */
export function RaftPanel({ members }: { members: DbMember[] | undefined }) {
  const { width } = usePanelLayout();
  const isSelected = useSelected('db');
  const up = (members ?? []).filter((m): m is DbMemberUp => m.up && m.raft !== undefined);
  if (up.length === 0) return null;
  const leader = dbLeader(up);
  return (
    <Panel
      title="Raft"
      summary={
        leader === null
          ? 'no leader'
          : `term ${leader.term}, commit ${leader.commit}; latency: mean since the last scrape`
      }
    >
      <Table
        rows={up}
        columns={RAFT_COLUMNS}
        width={width}
        dropFirst={['snapshots', 'heap', 'last', 'rss']}
        selected={(m) => isSelected(m.id)}
      />
    </Panel>
  );
}

const REDIS_COLUMNS: Column<RedisInstance>[] = (() => {
  const upOnly =
    (text: (r: RedisUp) => string) =>
    (r: RedisInstance): string =>
      r.up ? text(r) : '-';
  return [
    { key: 'instance', header: 'instance', text: (r) => r.name, style: () => BOLD },
    { key: 'address', header: 'address', text: (r) => r.address },
    stateColumn(),
    {
      key: 'role',
      header: 'role',
      text: upOnly((r) => r.role),
      style: (r) => (r.up && r.role === 'primary' ? { color: 'green' } : undefined),
    },
    { key: 'offset', header: 'offset', text: upOnly((r) => String(r.offset)) },
    {
      // A primary has no link to a primary.
      key: 'link',
      header: 'link',
      text: upOnly((r) => (r.role === 'primary' ? '-' : r.linkUp ? 'up' : 'DOWN')),
      style: (r) => (!r.up || r.role === 'primary' ? undefined : r.linkUp ? UP : DOWN),
    },
    { key: 'epoch', header: 'epoch', text: upOnly((r) => formatCount(r.epoch)) },
  ];
})();

export function RedisPanel({
  instances,
  variant = 'full',
}: {
  instances: RedisInstance[] | undefined;
  variant?: Variant;
}) {
  const title = 'Redis';
  const { width } = usePanelLayout();
  const isSelected = useSelected('redis');
  if (instances === undefined) return <NotObserved title={title} />;
  if (variant === 'line') {
    const summary = instances.map((r, i) => (
      <Text key={r.name} inverse={isSelected(r.name)}>
        {i === 0 ? '' : ' · '}
        <Text bold>{r.name}</Text>{' '}
        {!r.up ? (
          <Text color="red" bold>
            DOWN
          </Text>
        ) : r.role === 'primary' ? (
          <Text color="green">{`primary${r.epoch === undefined ? '' : ` e${r.epoch}`} ${r.offset}`}</Text>
        ) : (
          <Text>
            {`replica ${r.offset} link `}
            <Text color={r.linkUp ? 'green' : 'red'}>{r.linkUp ? 'up' : 'DOWN'}</Text>
          </Text>
        )}
      </Text>
    ));
    return <Panel title={title} summary={<Text>{summary}</Text>} />;
  }
  return (
    <Panel title={title}>
      <Table
        rows={instances}
        columns={REDIS_COLUMNS}
        width={width}
        dropFirst={['address']}
        selected={(r) => isSelected(r.name)}
      />
    </Panel>
  );
}

const AGENT_STYLES: Record<VipAgent['state'], CellStyle | undefined> = {
  active: { color: 'green' },
  passive: undefined,
  down: DOWN,
};

/** What the lease says, in words: who holds it, its epoch, how long it has left. */
function LeaseSummary({ lease, short }: { lease: VipLease | undefined; short?: boolean }) {
  if (lease === undefined) return <Text color="yellow">lease unknown (DB not read)</Text>;
  const epoch = short === true ? `e${lease.epoch}` : `epoch ${lease.epoch}`;
  if (lease.holder === null || lease.remainingMs === null) {
    return <Text>{`lease free (${epoch})`}</Text>;
  }
  const left =
    lease.remainingMs < 0 ? (
      <Text color="red">{`EXPIRED ${formatDuration(-lease.remainingMs)} ago`}</Text>
    ) : (
      <Text>{`${formatDuration(lease.remainingMs)}${short === true ? '' : ' left'}`}</Text>
    );
  return (
    <Text>
      {`lease ${lease.holder} ${epoch}${short === true ? ' ' : ', '}`}
      {left}
    </Text>
  );
}

/** The VIP agents' columns; `at` is the snapshot's time, which action ages count from. */
function vipAgentColumns(at: number): Column<VipAgent>[] {
  const ifAnswered =
    (text: (agent: VipAgent) => string) =>
    (agent: VipAgent): string =>
      agent.state === 'down' ? '-' : text(agent);
  return [
    { key: 'agent', header: 'agent', text: (a) => a.id, style: () => BOLD },
    { key: 'host', header: 'host', text: (a) => a.host },
    {
      key: 'state',
      header: 'state',
      text: (a) => (a.state === 'down' ? 'DOWN' : a.state),
      style: (a) => AGENT_STYLES[a.state],
    },
    {
      key: 'vip',
      header: 'VIP here',
      text: ifAnswered((a) => (a.vipConfigured === null ? '-' : a.vipConfigured ? 'yes' : 'no')),
      style: (a) =>
        a.state !== 'down' && a.vipConfigured === true ? { color: 'green', bold: true } : undefined,
    },
    { key: 'heartbeat', header: 'heartbeat age', text: (a) => formatDuration(a.lastHeartbeatMs) },
    {
      key: 'failures',
      header: 'gw failures',
      text: ifAnswered((a) => formatCount(a.gatewayFailures)),
      style: (a) =>
        a.state !== 'down' && a.gatewayFailures !== null && a.gatewayFailures > 0
          ? { color: 'yellow' }
          : undefined,
    },
    {
      // Why a down agent is down; else its last action and how long ago it finished.
      key: 'detail',
      header: 'detail',
      text: (a) =>
        a.state === 'down'
          ? (a.error ?? 'no answer')
          : a.lastAction === null
            ? '-'
            : a.lastActionAt === null
              ? a.lastAction
              : `${a.lastAction}, ${formatDuration(Math.max(0, at - a.lastActionAt))} ago`,
      style: (a) => (a.state === 'down' ? { color: 'gray' } : undefined),
      truncate: true,
    },
  ];
}

/** The VIP, its lease and its agents; `at` is the snapshot's time. */
export function VipPanel({
  vip,
  at,
  variant = 'full',
}: {
  vip: VipStatus | undefined;
  at: number;
  variant?: Variant;
}) {
  const title = 'VIP';
  const { width } = usePanelLayout();
  const isSelected = useSelected('vip');
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
      <LeaseSummary lease={vip.lease} short={variant === 'line'} />
      {variant === 'line'
        ? vip.agents.map((a) => (
            <Text key={a.id} inverse={isSelected(a.id)}>
              {' · '}
              {`${a.id} `}
              <Text color={AGENT_STYLES[a.state]?.color}>
                {a.state === 'down' ? 'DOWN' : a.state}
              </Text>
            </Text>
          ))
        : null}
    </Text>
  );
  if (variant === 'line') return <Panel title={title} summary={summary} />;
  return (
    <Panel title={title} summary={summary}>
      <Table
        rows={vip.agents}
        columns={vipAgentColumns(at)}
        width={width}
        dropFirst={['heartbeat', 'failures']}
        selected={(a) => isSelected(a.id)}
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
  absent: 'red',
};

/** The gossip members' columns; `at` is the snapshot's time, which states' ages count from. */
function gossipColumns(at: number): Column<GossipMember>[] {
  return [
    { key: 'member', header: 'member', text: (m) => m.id, style: () => BOLD },
    { key: 'role', header: 'role', text: (m) => m.role },
    { key: 'address', header: 'address', text: (m) => m.address },
    {
      key: 'state',
      header: 'state',
      text: (m) => (m.state === 'dead' ? 'DEAD' : m.state),
      style: (m) => ({ color: GOSSIP_COLORS[m.state], bold: m.state === 'dead' }),
    },
    { key: 'incarnation', header: 'inc', text: (m) => String(m.incarnation) },
    { key: 'for', header: 'for', text: (m) => formatDuration(Math.max(0, at - m.since)) },
  ];
}

/**
 * The observer's gossip view, request path first; `at` is the snapshot's time. Observers
 * (dashboards, this one's own previous run) are not the system: neither shown nor counted.
 * The DB members are not in gossip; the header's alive count has them.
 */
export function GossipPanel({
  members: all,
  at,
  variant = 'full',
}: {
  members: GossipMember[] | undefined;
  at: number;
  variant?: Variant;
}) {
  const title = 'Gossip';
  const { width } = usePanelLayout();
  const isSelected = useSelected('gossip');
  if (all === undefined) return <NotObserved title={title} />;
  const members = sortGossipMembers(withoutObservers(all));
  const count = (state: GossipMember['state']) => members.filter((m) => m.state === state).length;
  const others = (['suspect', 'dead', 'left', 'absent'] as const)
    .filter((state) => count(state) > 0)
    .map((state) => `, ${count(state)} ${state}`)
    .join('');
  const unwell = members.filter((m) => m.state !== 'alive');
  const summary = (
    <Text>
      {`${count('alive')}/${members.length} alive${others}`}
      {variant === 'line' && unwell.length > 0
        ? `: ${unwell.map((m) => `${m.id} ${m.state === 'dead' ? 'DEAD' : m.state}`).join(', ')}`
        : ''}
      {members.length === 0 ? <Text dimColor>{'  no other member seen'}</Text> : null}
    </Text>
  );
  if (variant === 'line' || members.length === 0) return <Panel title={title} summary={summary} />;
  if (variant === 'grid') {
    const cell = gossipCellWidth({ at, gossip: members });
    const perLine = gridPerLine(width, cell);
    const lines: GossipMember[][] = [];
    for (let i = 0; i < members.length; i += perLine) lines.push(members.slice(i, i + perLine));
    return (
      <Panel title={title} summary={summary}>
        {lines.map((line, index) => (
          <Text key={index} wrap="truncate-end">
            {line.map((m, i) => (
              <Text key={m.id} inverse={isSelected(m.id)}>
                {i === 0 ? '' : '  '}
                <Text bold>{m.id}</Text>{' '}
                <Text color={GOSSIP_COLORS[m.state]} bold={m.state === 'dead'}>
                  {i === line.length - 1
                    ? m.state === 'dead'
                      ? 'DEAD'
                      : m.state
                    : (m.state === 'dead' ? 'DEAD' : m.state).padEnd(cell - m.id.length - 1)}
                </Text>
              </Text>
            ))}
          </Text>
        ))}
      </Panel>
    );
  }
  return (
    <Panel title={title} summary={summary}>
      <Table
        rows={members}
        columns={gossipColumns(at)}
        width={width}
        dropFirst={['incarnation', 'address']}
        selected={(m) => isSelected(m.id)}
      />
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

/** The log's lines: no header, the kind as wide as the longest (`redis-primary`) always. */
const FAILOVER_COLUMNS: Column<FailoverEvent>[] = [
  {
    key: 'at',
    header: '',
    text: (event) => `${formatClockTime(event.at)}${event.recorded === true ? '*' : ' '}`,
    style: () => DIM,
  },
  {
    key: 'kind',
    header: '',
    text: (event) => event.kind,
    style: (event) => ({ color: FAILOVER_COLORS[event.kind] }),
    minWidth: 'redis-primary'.length,
  },
  { key: 'message', header: '', text: (event) => event.message, truncate: true },
];

/**
 * `lines` failovers, newest last, as a log scrolls: `scroll` entries up from the newest.
 * Entries read from the cluster's records (before the dashboard started) are marked `*`.
 */
export function FailoverLog({
  failovers,
  lines,
  scroll = 0,
  note,
}: {
  failovers: readonly FailoverEvent[];
  lines: number;
  scroll?: number;
  /** Said after the title: what the log covers (e.g. the DB term when the dashboard started). */
  note?: string;
}) {
  const { width } = usePanelLayout();
  const end = Math.max(0, failovers.length - scroll);
  const shown = lines <= 0 ? [] : failovers.slice(Math.max(0, end - lines), end);
  const earlier = end - shown.length;
  const later = failovers.length - end;
  const recorded = failovers.filter((f) => f.recorded === true).length;
  const parts = [
    earlier > 0 ? `${earlier} earlier ↑` : '',
    later > 0 ? `${later} newer ↓` : '',
    recorded > 0 ? `* ${recorded} recorded before start` : '',
    note ?? '',
  ].filter((part) => part !== '');
  return (
    <Panel
      title="Failovers"
      summary={parts.length > 0 ? <Text dimColor>{parts.join(' · ')}</Text> : undefined}
    >
      {lines <= 0 ? null : shown.length === 0 ? (
        <Text dimColor>none seen</Text>
      ) : (
        <Table rows={shown} columns={FAILOVER_COLUMNS} header={false} width={width} />
      )}
    </Panel>
  );
}
