/**
 * An object's start as named stages (Druid's Lifecycle: INIT → NORMAL → SERVER → ANNOUNCEMENTS),
 * so an operator can see how far an incarnation got (`GET /status`) and code can refuse work
 * that needs a later stage. Stages only move forward within an incarnation; a restart begins
 * again at the first.
 */
export class Lifecycle<S extends string> {
  private index = 0;
  private readonly since: number[];

  constructor(
    private readonly stages: readonly S[],
    private readonly now: () => number,
  ) {
    this.since = [now()];
  }

  get stage(): S {
    return this.stages[this.index]!;
  }

  /** Moves to `stage` (a later one; moving back or staying is a no-op). */
  reach(stage: S): void {
    const i = this.stages.indexOf(stage);
    if (i <= this.index) return;
    const at = this.now();
    for (let j = this.index + 1; j <= i; j++) this.since[j] = at; // a skipped stage is passed now too
    this.index = i;
  }

  /** Whether `stage` has been reached. */
  reached(stage: S): boolean {
    return this.stages.indexOf(stage) <= this.index;
  }

  /** The stage and each stage reached so far, as `/status` shows them. */
  toJSON(toIso: (ms: number) => string): { stage: S; stages: Array<{ stage: S; at: string }> } {
    return { stage: this.stage, stages: this.history().map((h) => ({ stage: h.stage, at: toIso(h.at) })) };
  }

  /** Each stage reached so far with the time it was reached (ms). */
  history(): Array<{ stage: S; at: number }> {
    return this.stages.slice(0, this.index + 1).map((stage, i) => ({ stage, at: this.since[i]! }));
  }
}
