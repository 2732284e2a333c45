/**
 * Waiting without polling: for a condition on an owner's state (`Waiters`: the owner calls
 * `notify()` whenever that state changes, each waiter re-checks its condition), or for a time
 * that an abort cuts short (`waitOrAbort`).
 */

export class Waiters {
  private readonly pending = new Set<() => void>();

  /** The state changed: every waiter re-checks its condition. */
  notify(): void {
    for (const check of [...this.pending]) check();
  }

  /** Resolves true once `cond` holds (checked now and on each notify), false if `timeoutMs` passes first. */
  waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const check = () => {
        if (cond()) finish(true);
      };
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.pending.delete(check);
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.pending.add(check);
    });
  }

  /** Conditions waited on now (for tests). */
  get size(): number {
    return this.pending.size;
  }
}

/** A wait of `ms` that ends early once `signal` aborts (waitOrAbort; tests inject one that moves a fake clock). */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<unknown>;

/** Resolves true when `signal` aborts before `ms` pass (at once if it already has), false otherwise. */
export function waitOrAbort(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    if (signal.aborted) return resolve(true);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(false);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
