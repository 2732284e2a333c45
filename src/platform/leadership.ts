/**
 * Leadership by construction, fenced by a term: a Durable Object is the only one of its name,
 * but it has incarnations (evicted, restarted, redeployed). Each start takes the next term from
 * the object's own storage before anything else; everything it hands out carries the term, so
 * whatever comes back from an older incarnation is recognised and resynced, never applied.
 */
export interface TermStorage {
  get<T>(key: string): Promise<T | undefined>;
  put<T>(key: string, value: T): Promise<void>;
}

/** Bumps and returns the persisted term (call inside blockConcurrencyWhile, before serving). */
export async function nextTerm(storage: TermStorage): Promise<number> {
  const term = ((await storage.get<number>("term")) ?? 0) + 1;
  await storage.put("term", term);
  return term;
}
