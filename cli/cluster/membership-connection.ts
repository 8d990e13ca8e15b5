/**
 * What the `agenda cluster member` commands share: the flags that choose the system (as
 * `agenda cluster status` has them), the operator client built from its description, and how
 * a member is named on the command line (`3` or `db-3`).
 */
import { readFileSync } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import type { NodeId } from '../../raft/core/types.js';
import type { NetAddress } from '../../base/host-port.js';
import { InvalidInput } from '../../contract/errors.js';
import { MembershipClient } from '../../ops/membership-client.js';
import { chooseTopology, describeChosenTopology, type TopologyChoice } from '../../ops/open.js';

export const topologyFlags = {
  lab: Flags.boolean({
    description: 'Act on the three-namespace lab (data in AGENDA_LAB_DIR or ./.agenda-lab).',
    default: false,
  }),
  topology: Flags.string({
    description:
      'Act on the system this description file names (e.g. .agenda-multipass/agenda/observer.json).',
  }),
  'data-dir': Flags.string({
    description:
      'Where the system keeps its data (default: AGENDA_DATA_DIR or ./.agenda; with --lab, AGENDA_LAB_DIR or ./.agenda-lab).',
  }),
};

export const memberArg = Args.string({
  description: 'The DB member: its id (3) or its name (db-3).',
  required: true,
});

/** The DB members of the chosen system and an operator client to them. */
export interface MembershipConnection {
  readonly choice: TopologyChoice;
  readonly client: MembershipClient;
  /** Each described member's own API address, by id. */
  readonly apis: ReadonlyMap<NodeId, NetAddress>;
  /** How each described member is named (`db-3`). */
  nameOf(id: NodeId): string;
}

export function openMembership(flags: {
  lab: boolean;
  topology?: string | undefined;
  'data-dir'?: string | undefined;
}): MembershipConnection {
  const choice = chooseTopology({
    lab: flags.lab,
    topology: flags.topology,
    dataDir: flags['data-dir'],
  });
  const description = describeChosenTopology(choice);
  const members = description.db?.members ?? [];
  if (members.length === 0) {
    throw new InvalidInput('the chosen topology describes no DB member');
  }
  const apis = new Map<NodeId, NetAddress>(members.map((m) => [m.id, splitHostPort(m.api)]));
  const names = new Map(members.map((m) => [m.id, m.name ?? `db-${m.id}`]));
  const client = new MembershipClient({
    members: apis,
    tls: {
      ca: readFileSync(description.tls.ca),
      cert: readFileSync(description.tls.cert),
      key: readFileSync(description.tls.key),
    },
  });
  return { choice, client, apis, nameOf: (id) => names.get(id) ?? `db-${id}` };
}

/** `3` or `db-3` (any `<letters>-3`) as a member id. @throws InvalidInput */
export function parseMemberArg(text: string): NodeId {
  const match = /^(?:[a-z]+-)?([1-9][0-9]{0,8})$/i.exec(text.trim());
  if (!match?.[1]) {
    throw new InvalidInput(`${JSON.stringify(text)} is not a DB member (give 3 or db-3)`, {
      field: 'member',
    });
  }
  return Number(match[1]);
}

function splitHostPort(address: string): NetAddress {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}
