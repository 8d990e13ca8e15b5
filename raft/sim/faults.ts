/**
 * The faults of a run, drawn from their own stream of the seed each step while the run is
 * in chaos: members killed (losing what they had not synced), power cut in the middle of a
 * write, paused, restarted within a few steps, or their WAL rotten by a flipped bit; the
 * network partitioned; the leader's clock stalled; leadership handed over; and the
 * membership churn's episodes set going (churn.ts does the changes themselves).
 */
import { crc32 } from 'node:zlib';
import type { Rng } from '../../base/rng.js';
import { SimPowerCutError } from '../storage/sim-fs.js';
import type { MembershipChurn } from './churn.js';
import type { SimCluster } from './cluster.js';
import { isUp, stopMember, type SimHost, type SimNode } from './members.js';
import type { SimNetwork } from './network.js';
import type { Workload } from './workload.js';

export class Faults {
  constructor(
    private readonly cluster: SimCluster,
    /** The fault stream, shared with the churn. */
    private readonly rng: Rng,
    private readonly network: SimNetwork,
    private readonly churn: MembershipChurn,
    private readonly workload: Workload,
  ) {}

  /** Draws this step's faults. */
  inject(): void {
    const r = this.rng;
    const p = this.cluster.profile;
    const live = this.cluster.nodes.filter((n) => isUp(n));
    if (r.chance(p.crashChance) && live.length > 0) this.crash(r.pick(live), 'killed');
    if (r.chance(p.transferChance)) {
      const leader = live.find((n) => n.host?.status().role === 'leader');
      const target = r.pick(this.cluster.nodes);
      if (leader?.host && target !== leader) {
        this.cluster.log(`n${leader.id} asked to hand leadership to n${target.id}`);
        try {
          leader.host.transferLeadership(target.id);
        } catch (err) {
          this.cluster.log(`transfer refused: ${(err as Error).message}`);
        }
      }
    }
    if (r.chance(p.churnChance)) this.churn.advance(false);
    if (r.chance(p.powerCutChance)) {
      const node = r.pick(this.cluster.nodes);
      if (node.host) {
        // The power goes out a few writes from now, possibly mid-record.
        node.fs.cutPowerAfter(r.int(0, 6));
        this.cluster.log(`n${node.id} will lose power soon`);
      }
    }
    if (r.chance(p.partitionChance) && this.network.partitionHealAt < 0) this.partition();
    if (r.chance(p.pauseChance)) {
      const node = r.pick(this.cluster.nodes);
      node.pausedUntil = this.cluster.now + r.int(10, 120);
      this.cluster.log(`n${node.id} paused until step ${node.pausedUntil}`);
    }
    // The knobs below are 0 for some seeds; those draw nothing, so the faults above meet
    // those seeds' runs exactly as before.
    if (p.earlyReplaceAt === this.cluster.now || (p.replaceChance > 0 && r.chance(p.replaceChance)))
      this.churn.startEpisode('replace');
    if (p.singleVoterChance > 0 && r.chance(p.singleVoterChance)) this.churn.startEpisode('single');
    // Replacements and single-voter phases move on by themselves, not only on churn's draws.
    if (this.churn.episode?.kind === 'replace' || this.churn.episode?.kind === 'single')
      this.churn.advance(false);
    if (this.churn.killAfterChange) {
      this.churn.killAfterChange = false;
      const live = this.cluster.nodes.filter((n) => isUp(n));
      if (live.length > 0)
        this.crash(r.pick(live), 'killed after a membership change', r.int(5, 120));
    }
    if (p.quickRestartChance > 0 && r.chance(p.quickRestartChance)) this.quickRestart();
    if (p.bitFlipChance > 0 && r.chance(p.bitFlipChance)) this.rot();
    if (p.stallChance > 0 && r.chance(p.stallChance)) this.stallLeader();
  }

  /** See stallChance: the leader is cut off and its clock stops for a while. */
  private stallLeader(): void {
    const leader = this.cluster.nodes.find((n) => n.host?.status().role === 'leader');
    if (!leader || this.network.partitionHealAt >= 0) return;
    const r = this.rng;
    this.cluster.stats.partitions++;
    for (const n of this.cluster.nodes) {
      if (n !== leader)
        this.network.blocked.add(`${leader.id}>${n.id}`).add(`${n.id}>${leader.id}`);
    }
    // The network heals when the clock resumes, not before: the new leader's messages would
    // depose it at once, and the window in which only a quorum round can tell is the point.
    leader.tickStalledUntil = this.cluster.now + r.int(150, 400);
    this.cluster.stalledUntil = Math.max(this.cluster.stalledUntil, leader.tickStalledUntil);
    this.network.partitionHealAt = leader.tickStalledUntil;
    this.cluster.log(
      `n${leader.id} isolated, its clock stalled until step ${leader.tickStalledUntil}`,
    );
  }

  private partition(): void {
    const r = this.rng;
    this.cluster.stats.partitions++;
    const ids = this.cluster.nodes.map((n) => n.id);
    const kind = r.int(0, 2);
    if (kind === 0) {
      // Two sides.
      const side = new Set(ids.filter(() => r.chance(0.5)));
      for (const a of ids)
        for (const b of ids) if (side.has(a) !== side.has(b)) this.network.blocked.add(`${a}>${b}`);
      this.cluster.log(
        `partition {${[...side].join(',')}} | {${ids.filter((i) => !side.has(i)).join(',')}}`,
      );
    } else if (kind === 1) {
      // One member isolated, most often the leader: the case leases and ReadIndex exist for.
      const leader = this.cluster.nodes.find((n) => n.host?.status().role === 'leader')?.id;
      const x = leader !== undefined && r.chance(0.7) ? leader : r.pick(ids);
      for (const b of ids) if (b !== x) this.network.blocked.add(`${x}>${b}`).add(`${b}>${x}`);
      this.cluster.log(`n${x} isolated`);
    } else {
      // Some one-way links broken.
      for (const a of ids)
        for (const b of ids) if (a !== b && r.chance(0.25)) this.network.blocked.add(`${a}>${b}`);
      this.cluster.log(`one-way link failures: ${[...this.network.blocked].join(' ')}`);
    }
    this.network.partitionHealAt = this.cluster.now + r.int(50, 600);
  }

  /** Runs host work; a simulated power cut inside storage crashes the member right there. */
  guard(node: SimNode, f: (h: SimHost) => void): void {
    const host = node.host;
    if (!host) return;
    try {
      f(host);
    } catch (err) {
      if (err instanceof SimPowerCutError) {
        this.crash(node, 'power cut in the middle of a write');
        return;
      }
      throw err;
    }
  }

  /**
   * Kills a member: its disk loses what was not synced (a write under way may be torn), it
   * stays down for `downFor` steps (drawn when not given), and most of its peers notice.
   */
  crash(node: SimNode, why: string, downFor?: number): void {
    this.cluster.stats.crashes++;
    this.cluster.readLosses++;
    this.cluster.log(`n${node.id} crashes (${why})`);
    stopMember(node);
    node.fs.crash(() => this.rng.float());
    node.downUntil = this.cluster.now + (downFor ?? this.rng.int(20, 400));
    // The members connected to it see their connections reset, as the transport reports
    // (`RaftCore.peerUnreachable`); some only later, by their timers.
    for (const other of this.cluster.nodes) {
      if (other === node || !isUp(other) || this.network.blocked.has(`${node.id}>${other.id}`))
        continue;
      if (this.rng.chance(0.8)) this.guard(other, (h) => h.peerUnreachable(node.id));
    }
  }

  /**
   * Bit rot in a stopped member's WAL: one bit of a synced record that has a valid record
   * after it (so recovery cannot take it for a torn write). Returns what was flipped, or null
   * when the log holds fewer than two whole records. The record framing is read here
   * independently of wal.ts: length (u32 LE), CRC32 (u32 LE) of the bytes from offset 8 to
   * the end, then 9 header bytes in all.
   */
  private flipWalBit(node: SimNode): string | null {
    const r = this.rng;
    const dir = '/data/wal';
    if (!node.fs.exists(dir)) return null;
    const names = node.fs.list(dir).filter((n) => n.endsWith('.wal'));
    const candidates: { path: string; start: number; end: number }[] = [];
    for (const name of names) {
      const path = `${dir}/${name}`;
      const bytes = node.fs.readFile(path);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const records: { start: number; end: number }[] = [];
      for (let at = 0; at + 9 <= bytes.length;) {
        const end = at + 9 + view.getUint32(at, true);
        if (
          end > bytes.length ||
          crc32(bytes.subarray(at + 8, end)) !== view.getUint32(at + 4, true)
        )
          break;
        records.push({ start: at, end });
        at = end;
      }
      // The last whole record of the file has nothing valid after it: damage there is
      // indistinguishable from a torn write, and the WAL rightly cuts it.
      for (const rec of records.slice(0, -1)) candidates.push({ path, ...rec });
    }
    if (candidates.length === 0) return null;
    const rec = r.pick(candidates);
    const offset = r.int(rec.start, rec.end - 1);
    const mask = 1 << r.int(0, 7);
    node.fs.flipBits(rec.path, offset, mask);
    return `bit ${mask} of byte ${offset} of ${rec.path} flipped (record ${rec.start}..${rec.end})`;
  }

  /** Bit rot in a member that can be spared (see bitFlipChance); it is killed first. */
  private rot(): void {
    if (this.churn.episode || this.churn.membershipPendingSince >= 0) return;
    // One rotten member at a time: the next waits until this one is replaced.
    if (this.churn.rotting()) return;
    const leader = this.cluster.nodes.find((n) => n.host?.status().role === 'leader');
    const conf = leader?.host?.status().conf;
    // From a full membership only, as for any replacement (see startEpisode).
    if (!conf || conf.voters.length !== this.cluster.nodes.length || !this.churn.allCaughtUp())
      return;
    // A voter only while two others remain, so the survivors can still remove it.
    const spare = this.cluster.nodes.filter(
      (n) =>
        n.host &&
        (conf.learners.includes(n.id) || (conf.voters.includes(n.id) && conf.voters.length >= 3)),
    );
    if (spare.length === 0) return;
    const node = this.rng.pick(spare);
    this.crash(node, 'killed for bit rot');
    const what = this.flipWalBit(node);
    if (what === null) return;
    this.cluster.faultStats.bitFlips++;
    node.corruptedAt = what;
    this.cluster.log(`n${node.id}: ${what}`);
  }

  /**
   * Restarts a member within a few steps: one with a client's read in flight (the leader may
   * answer the earlier run's read after the restart), or a voter while an election runs (its
   * vote must survive).
   */
  private quickRestart(): void {
    const r = this.rng;
    const reading = this.workload.clients
      .filter((c) => c.current && !c.current.done && c.current.op.input.kind === 'get')
      .map((c) => this.cluster.nodes[(c.current?.target ?? 0) - 1])
      .filter((n): n is SimNode => n !== undefined && isUp(n));
    const electing = this.cluster.nodes.some((n) => {
      const role = n.host?.status().role;
      return role === 'candidate' || role === 'preCandidate';
    });
    const voters = electing
      ? this.cluster.nodes.filter((n) => isUp(n) && n.host?.status().role === 'follower')
      : [];
    const pool = [...reading, ...voters];
    if (pool.length === 0) return;
    const node = r.pick(pool);
    this.cluster.faultStats.quickRestarts++;
    this.crash(
      node,
      reading.includes(node)
        ? 'quick restart with a read in flight'
        : 'quick restart during an election',
      r.int(1, 4),
    );
  }
}
