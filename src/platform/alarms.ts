/**
 * One alarm, many duties. A Durable Object has a single alarm; each duty
 * says when it next needs to run, the alarm runs whatever is due and is set again to the
 * earliest next time. Alarms are at-least-once, so duties must be idempotent.
 */
export interface Duty {
  name: string;
  /** Epoch ms when the duty next has work, or null for none. */
  nextRunAt(): number | null;
  run(now: number): void | Promise<void>;
}

export interface AlarmStorage {
  getAlarm(): Promise<number | null>;
  setAlarm(at: number): Promise<void>;
  deleteAlarm(): Promise<void>;
}

export class AlarmScheduler {
  private readonly duties: Duty[] = [];
  /** The alarm time we last set (avoids a storage call per request when nothing changed). */
  private setAt: number | null | undefined = undefined;
  readonly lastRun = new Map<string, { start: number; end: number }>();

  constructor(
    private readonly storage: AlarmStorage,
    private readonly now: () => number,
  ) {}

  register(d: Duty): void {
    this.duties.push(d);
  }

  private earliest(): number | null {
    let next: number | null = null;
    for (const d of this.duties) {
      const at = d.nextRunAt();
      if (at !== null && (next === null || at < next)) next = at;
    }
    return next;
  }

  /** Makes the alarm fire at the earliest duty time (or never). */
  async reschedule(): Promise<void> {
    const next = this.earliest();
    if (next === this.setAt) return;
    // Only move the alarm earlier eagerly; a later time is picked up when the alarm fires.
    if (next !== null && this.setAt !== undefined && this.setAt !== null && next > this.setAt) return;
    this.setAt = next;
    if (next === null) await this.storage.deleteAlarm();
    else {
      // `now` may be offset from the wall clock (tests move time); the alarm runs on the wall clock.
      const skew = this.now() - Date.now();
      await this.storage.setAlarm(Math.max(next - skew, Date.now()));
    }
  }

  /** Alarm handler body: run what is due, then set the next alarm. */
  async runDue(): Promise<void> {
    this.setAt = null;
    const now = this.now();
    for (const d of this.duties) {
      const at = d.nextRunAt();
      if (at !== null && at <= now) {
        await d.run(now);
        this.lastRun.set(d.name, { start: now, end: this.now() });
      }
    }
    this.setAt = undefined;
    await this.reschedule();
  }
}
