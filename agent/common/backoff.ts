/** Jittered exponential backoff (full range 50–150% of the step): 100 ms doubling to a 5 s cap. */
export class Backoff {
  private step: number;

  constructor(
    private readonly initialMs = 100,
    private readonly maxMs = 5000,
    private readonly random: () => number = Math.random,
  ) {
    this.step = initialMs;
  }

  /** The next delay; each call doubles the step up to the cap. */
  next(): number {
    const delay = Math.round(this.step * (0.5 + this.random()));
    this.step = Math.min(this.step * 2, this.maxMs);
    return delay;
  }

  reset(): void {
    this.step = this.initialMs;
  }
}
