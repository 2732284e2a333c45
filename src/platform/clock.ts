/** Time as objects are given it: the system clock in production, a moved one in tests. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** `base` moved `ms` later (tests move time without sleeping). */
export function laterClock(base: Clock, ms: number): Clock {
  return { now: () => base.now() + ms };
}
