/**
 * The reminders `agenda watch --remind` announces: for each occurrence of an event the user
 * has accepted (their own events included) that is not cancelled, each of the event's
 * reminders falls due its number of minutes before the occurrence's start.
 *
 * Bounded work: the watcher reads the user's occurrences over a window — the next
 * {@link REMINDER_LOOKAHEAD_MS} of due times, so occurrences up to that plus the longest a
 * reminder may come early (`MAX_REMINDER_MINUTES`) ahead — once every
 * {@link REMINDER_REFRESH_MS}, and again shortly after each live update (a new event, a
 * changed time); between reads one timer waits for the next due reminder. The list is the
 * server's own expansion, so recurring series, exceptions and time zones come out as the
 * agenda shows them.
 *
 * Each reminder is announced once per watch. A reminder already due when the watch (re)reads
 * the list is still announced if its occurrence has not started; when several of an
 * occurrence's reminders are due at once, one line says so (the nearest to the start).
 */
import type { EventView } from '../contract/views.js';
import { MAX_REMINDER_MINUTES, TIME } from '../contract/limits.js';

/** How far ahead of now due times are looked for. */
export const REMINDER_LOOKAHEAD_MS = 24 * TIME.HOUR;
/** How often the occurrences are read again, without any live update. */
export const REMINDER_REFRESH_MS = 10 * TIME.MINUTE;
/** How long after a live update the occurrences are read again (updates come in bursts). */
export const REMINDER_SETTLE_MS = 1_000;

/** One reminder falling due: of which occurrence, how long before it, and when. */
export interface DueReminder {
  /** `eventId@start#minutes`: announced once. */
  readonly key: string;
  readonly event: EventView;
  readonly minutes: number;
  /** Epoch ms it falls due. */
  readonly due: number;
}

/**
 * The window of occurrences to read at `now` (epoch ms) to know every reminder due within
 * the lookahead, in whole seconds: the API refuses instants with milliseconds, and `watch
 * --remind` asked with `Date.now()` and so never read a reminder at all.
 */
export function reminderWindow(now: number): { from: number; to: number } {
  const from = Math.floor(now / TIME.SECOND) * TIME.SECOND;
  return { from, to: from + REMINDER_LOOKAHEAD_MS + MAX_REMINDER_MINUTES * TIME.MINUTE };
}

/**
 * The reminders of `occurrences` due no later than `now + REMINDER_LOOKAHEAD_MS`, whose
 * occurrence has not started at `now`, soonest first: only the user's accepted, not
 * cancelled occurrences.
 */
export function remindersOf(occurrences: readonly EventView[], now: number): DueReminder[] {
  const horizon = now + REMINDER_LOOKAHEAD_MS;
  const due: DueReminder[] = [];
  for (const event of occurrences) {
    if (event.myStatus !== 'accepted' || event.status === 'cancelled') continue;
    const start = Date.parse(event.start);
    if (!(start > now)) continue;
    for (const minutes of event.reminders ?? []) {
      const at = start - minutes * TIME.MINUTE;
      if (at > horizon) continue;
      due.push({ key: `${event.id}@${event.start}#${minutes}`, event, minutes, due: at });
    }
  }
  return due.sort((a, b) => a.due - b.due || a.key.localeCompare(b.key));
}

export interface ReminderClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): { cancel(): void };
}

export const SYSTEM_CLOCK: ReminderClock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    // Timers of more than about 24.8 days overflow; no wait here is longer than the lookahead.
    const timer = setTimeout(callback, Math.min(ms, 2 ** 31 - 1));
    return { cancel: () => clearTimeout(timer) };
  },
};

export interface ReminderWatchOptions {
  /** The user's occurrences over `[from, to)` (epoch ms). */
  readonly list: (from: number, to: number) => Promise<readonly EventView[]>;
  /** Announces one reminder. */
  readonly announce: (reminder: DueReminder) => void;
  /** A read of the occurrences failed; the next one comes at the usual time. */
  readonly failed?: (error: unknown) => void;
  readonly clock?: ReminderClock;
}

/** Keeps the upcoming reminders and announces each as it falls due; see the module comment. */
export class ReminderWatch {
  private readonly clock: ReminderClock;
  private readonly announced = new Set<string>();
  private pending: DueReminder[] = [];
  private nextRead: { cancel(): void } | null = null;
  private nextDue: { cancel(): void } | null = null;
  private reading: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: ReminderWatchOptions) {
    this.clock = options.clock ?? SYSTEM_CLOCK;
  }

  /** Reads the occurrences now; resolves once the first read is done (or failed). */
  start(): Promise<void> {
    return this.read();
  }

  /** A live update came: read again soon (once for a burst of them). */
  changed(): void {
    if (this.stopped) return;
    this.scheduleRead(REMINDER_SETTLE_MS);
  }

  stop(): void {
    this.stopped = true;
    this.nextRead?.cancel();
    this.nextDue?.cancel();
  }

  private scheduleRead(ms: number): void {
    this.nextRead?.cancel();
    this.nextRead = this.clock.setTimeout(() => void this.read(), ms);
  }

  private read(): Promise<void> {
    if (this.reading !== null) return this.reading;
    const reading = (async () => {
      const now = this.clock.now();
      const { from, to } = reminderWindow(now);
      try {
        const occurrences = await this.options.list(from, to);
        if (this.stopped) return;
        this.pending = remindersOf(occurrences, this.clock.now()).filter(
          (r) => !this.announced.has(r.key),
        );
        this.fire();
      } catch (error) {
        if (!this.stopped) this.options.failed?.(error);
      }
    })().finally(() => {
      this.reading = null;
      if (!this.stopped) this.scheduleRead(REMINDER_REFRESH_MS);
    });
    this.reading = reading;
    return reading;
  }

  /** Announces what is due (one line per occurrence), then waits for the next. */
  private fire(): void {
    if (this.stopped) return;
    this.nextDue?.cancel();
    this.nextDue = null;
    const now = this.clock.now();
    const due = this.pending.filter((r) => r.due <= now);
    this.pending = this.pending.filter((r) => r.due > now);
    const byOccurrence = new Map<string, DueReminder>();
    for (const reminder of due) {
      this.announced.add(reminder.key);
      const occurrence = `${reminder.event.id}@${reminder.event.start}`;
      const held = byOccurrence.get(occurrence);
      // Of several due at once, the one nearest the start says the most.
      if (held === undefined || reminder.minutes < held.minutes) {
        byOccurrence.set(occurrence, reminder);
      }
    }
    for (const reminder of byOccurrence.values()) {
      if (Date.parse(reminder.event.start) > now) this.options.announce(reminder);
    }
    const next = this.pending[0];
    if (next !== undefined) {
      this.nextDue = this.clock.setTimeout(() => this.fire(), Math.max(0, next.due - now));
    }
  }
}
