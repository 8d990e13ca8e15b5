/**
 * What the chaos load and the scenario runner tell each other. The load runs inside the
 * lab's client namespace as a child process (`load-main.ts`), so everything crosses a pipe
 * as one JSON object per line: the runner sends commands on the child's stdin, the load
 * streams one record per finished operation on its stdout. Both ends validate what they
 * read with the schemas below; the in-process load (tests) produces the same records.
 *
 * Times are milliseconds of {@link monotonicNow}: CLOCK_MONOTONIC, which every process on
 * one machine shares (network namespaces do not change it), so the runner's fault instants
 * and the load's call and return times are readings of one clock.
 */
import { z } from 'zod';

/** Milliseconds of the machine-wide monotonic clock, with microsecond resolution. */
export function monotonicNow(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

/** Usernames the load registers start with this, then `-u<index>`; lowercase, as usernames are. */
const USER_PREFIX = /^[a-z0-9][a-z0-9._-]{0,24}$/;

/** How the load runs: where, how many clients, how fast, how patient. */
export const LoadSpec = z.strictObject({
  /** The gateway (the VIP), e.g. `https://10.77.0.100:8443`. */
  url: z.url({ protocol: /^https$/ }),
  /** PEM file of the CA the gateway's certificate chains to. */
  caPath: z.string().min(1),
  /** Concurrent clients, each a closed loop of operations. */
  clients: z.number().int().min(1).max(64),
  /** Users the clients share (client `c` acts as user `c mod users`). */
  users: z.number().int().min(1).max(64),
  userPrefix: z.string().regex(USER_PREFIX),
  /** One HTTP attempt gives up after this long (a timeout is retried like a 503). */
  attemptTimeoutMs: z.number().int().min(50).max(60_000),
  /** Pause between two attempts of one create. */
  retryDelayMs: z.number().int().min(0).max(10_000),
  /** Each client starts at most one operation per `paceMs`, so the history stays checkable. */
  paceMs: z.number().int().min(0).max(10_000),
  /** Probability that a client's next operation is a create (else an agenda read). */
  createShare: z.number().min(0).max(1),
  /** Seeds the clients' choices, for reproducible load shapes. */
  seed: z.number().int().min(0).max(0xffffffff),
  /** Events are one minute long, one slot after another from here (ISO instant). */
  windowStart: z.iso.datetime(),
  /** How long the read-back retries before giving up, per user. */
  readBackTimeoutMs: z.number().int().min(100).max(600_000),
});
export type LoadSpec = z.infer<typeof LoadSpec>;

const time = z.number().nonnegative();
const base = { client: z.number().int().min(0), user: z.string(), call: time };

/**
 * One finished client operation.
 * - create `acked`: the system answered 2xx (possibly after several attempts with the same
 *   idempotency key); `return` is when the answer arrived.
 * - create `unknown`: the run ended before any attempt was answered; it may or may not apply.
 * - create `refused`: a definitive 4xx refusal (the load's own bug or the system's).
 * - read `ok`: the titles the user's agenda listed, duplicates kept; read `failed`: no answer.
 */
export const OpRecord = z.union([
  z.strictObject({
    ...base,
    kind: z.literal('create'),
    title: z.string(),
    outcome: z.literal('acked'),
    return: time,
    attempts: z.number().int().min(1),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('create'),
    title: z.string(),
    outcome: z.literal('unknown'),
    attempts: z.number().int().min(0),
    error: z.string(),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('create'),
    title: z.string(),
    outcome: z.literal('refused'),
    return: time,
    attempts: z.number().int().min(1),
    error: z.string(),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('read'),
    outcome: z.literal('ok'),
    return: time,
    titles: z.array(z.string()),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('read'),
    outcome: z.literal('failed'),
    return: time,
    error: z.string(),
  }),
]);
export type OpRecord = z.infer<typeof OpRecord>;

/** One user's agenda as read after the scenario, when the system was healthy again. */
export const UserReadBack = z.strictObject({
  user: z.string(),
  call: time,
  return: time,
  titles: z.array(z.string()),
});
export type UserReadBack = z.infer<typeof UserReadBack>;

/** A line of the load's stdout. */
export const LoadLine = z.discriminatedUnion('type', [
  /** Users exist and logged in; operations start now. */
  z.strictObject({ type: z.literal('ready'), at: time, users: z.array(z.string()) }),
  z.strictObject({ type: z.literal('op'), op: OpRecord }),
  /** No operation is in flight any more; every one was reported. */
  z.strictObject({ type: z.literal('stopped'), at: time }),
  z.strictObject({ type: z.literal('readback'), agendas: z.array(UserReadBack) }),
  /** The load cannot go on (setup failed, read-back gave up); it exits after this line. */
  z.strictObject({ type: z.literal('error'), message: z.string() }),
]);
export type LoadLine = z.infer<typeof LoadLine>;

/** A line of the load's stdin: stop issuing operations; read every user's agenda back. */
export const LoadCommand = z.strictObject({ cmd: z.enum(['stop', 'readback']) });
export type LoadCommand = z.infer<typeof LoadCommand>;

/** A line that is not valid JSON of the expected shape; says what was wrong with it. */
export class MalformedLoadLine extends Error {
  readonly code = 'malformed_load_line' as const;

  constructor(line: string, problem: string) {
    super(`malformed line from the chaos load (${problem}): ${line.slice(0, 200)}`);
    this.name = 'MalformedLoadLine';
  }
}

/** Parses one line with `schema`. @throws MalformedLoadLine */
export function parseLine<T>(schema: z.ZodType<T>, line: string): T {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new MalformedLoadLine(line, 'not JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MalformedLoadLine(
      line,
      `${issue?.path.join('.') || 'line'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}
