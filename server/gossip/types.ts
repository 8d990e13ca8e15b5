/**
 * The vocabulary of SWIM membership: who a member is, what the others believe about it, and
 * the messages members exchange. Everything is plain data so it can cross the wire and be
 * compared in tests.
 */

/** A member's stable name, unique in the cluster (for example `gateway-vm1`). */
export type MemberId = string;

/** What a member does in Agenda; gateways look replicas of a service up by role. */
export type MemberRole = 'gateway' | 'users' | 'groups' | 'supervisor' | 'observer' | (string & {});

/**
 * Role of a passive member that only watches, such as the operator dashboard: it takes part
 * in the protocol (it must, to receive the view) but never counts as a replica of anything.
 */
export const OBSERVER_ROLE = 'observer';

/**
 * What a member believes about another one. `left` is a `dead` the member announced itself
 * (graceful leave), so operators can tell a clean shutdown from a failure.
 */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/** How a member describes itself to the cluster. */
export interface MemberIdentity {
  readonly id: MemberId;
  readonly role: MemberRole;
  /** `host:port` of the member's gossip UDP socket. */
  readonly address: string;
  readonly meta: Readonly<Record<string, string>>;
}

/**
 * A member's word for its identity at one incarnation: its cluster certificate (DER, base64)
 * and its signature over both (see `proof.ts`). News about a member travels with the proof
 * of the incarnation it is about, so nobody else can invent an incarnation or an address.
 */
export interface MemberProof {
  readonly cert: string;
  readonly sig: string;
}

/**
 * One piece of membership news. The pair (incarnation, state) orders news about the same
 * member: see `supersedes` in `swim.ts`.
 */
export interface MemberUpdate extends MemberIdentity {
  /** Raised only by the member itself, to refute a suspicion or announce new metadata. */
  readonly incarnation: number;
  readonly state: MemberState;
  /** The member's proof of its identity and incarnation; absent only where none is needed. */
  readonly proof?: MemberProof;
}

/** A member as the local view holds it. */
export interface MemberView extends MemberUpdate {
  /** When (local clock, ms) the local view last changed this member's state. */
  readonly since: number;
}

/** Fields every message carries: the sender and the news it piggybacks. */
interface MessageBase {
  readonly from: MemberId;
  /** Recent membership news, bounded per message (SWIM's infection-style dissemination). */
  readonly updates: readonly MemberUpdate[];
}

/** Probe: `target` must answer with an {@link AckMessage} carrying the same `seq`. */
export interface PingMessage extends MessageBase {
  readonly type: 'ping';
  readonly seq: number;
  /** The member the sender means to reach; someone else now at that address does not ack. */
  readonly target: MemberId;
}

/** Answer to a ping, or a relayed answer to a ping-req (then `seq` is the requester's). */
export interface AckMessage extends MessageBase {
  readonly type: 'ack';
  readonly seq: number;
}

/** Indirect probe: ping `target` on the sender's behalf and relay its ack with `seq`. */
export interface PingReqMessage extends MessageBase {
  readonly type: 'pingReq';
  readonly seq: number;
  readonly target: MemberId;
  readonly targetAddress: string;
}

/**
 * Push-pull state exchange: the whole local view. Sent to seeds on join and now and then to
 * a random member so that partitions heal even after piggybacked news ran out.
 */
export interface SyncMessage extends MessageBase {
  readonly type: 'sync';
  /** True on the answer, which must not be answered again. */
  readonly reply: boolean;
  readonly members: readonly MemberUpdate[];
}

/**
 * News alone, sent to a few members every gossip interval while there is news to spread, so
 * a refutation or a death travels faster than one probe per period would carry it.
 */
export interface GossipOnlyMessage extends MessageBase {
  readonly type: 'gossip';
}

/** Every message of the gossip protocol. */
export type GossipMessage =
  PingMessage | AckMessage | PingReqMessage | SyncMessage | GossipOnlyMessage;

/** A message the runtime must send, addressed by `host:port`. */
export interface OutgoingMessage {
  readonly to: string;
  readonly message: GossipMessage;
}

/**
 * A change in the local view. `joined` is a member newly (or again, after being dead or
 * having left) alive; `alive` is a suspect that refuted; `updated` is new metadata.
 */
export interface MembershipEvent {
  readonly kind: 'joined' | 'alive' | 'suspect' | 'dead' | 'left' | 'updated' | 'removed';
  readonly member: MemberView;
}
