/**
 * D1 plumbing the stores share: D1 binds at most 100 parameters per statement, so lists of ids
 * go into `IN (...)` clauses in chunks, with room left for a statement's other parameters. Also: instants as the ISO text the date columns compare with.
 */

import { toIso } from "../shared/intervals.ts";

/**
 * An instant as the ISO text the date columns hold, for comparing with them: that text orders as
 * time only with four-digit years, so instants outside 0000–9999 are clamped into them.
 */
const ISO_TEXT_MIN_MS = Date.parse("0000-01-01T00:00:00.000Z");
const ISO_TEXT_MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
export const isoText = (ms: number) => toIso(Math.min(Math.max(ms, ISO_TEXT_MIN_MS), ISO_TEXT_MAX_MS));

/** Ids per `IN (...)` chunk: leaves 20 of D1's 100 bound parameters for the rest of a statement. */
export const IN_CHUNK = 80;

/** `?,?,?` for `n` parameters. */
export const placeholders = (n: number): string => Array.from({ length: n }, () => "?").join(",");

/** `items` in consecutive chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size = IN_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs one statement per chunk of `ids` (sequentially) and concatenates their rows. */
export async function selectInChunks<R>(db: D1Database, ids: readonly string[], sql: (inList: string) => string): Promise<R[]> {
  const out: R[] = [];
  for (const part of chunks(ids)) out.push(...(await db.prepare(sql(placeholders(part.length))).bind(...part).all<R>()).results);
  return out;
}

/**
 * Runs one write per chunk of `ids`, after `before`, as one batch (one transaction: all of it or
 * none); returns the rows the chunk writes changed.
 */
export async function changeInChunks(db: D1Database, ids: readonly string[], sql: (inList: string) => string, params: unknown[] = [], before: D1PreparedStatement[] = []): Promise<number> {
  const writes = chunks(ids).map((part) => db.prepare(sql(placeholders(part.length))).bind(...params, ...part));
  if (writes.length === 0) return 0;
  const results = await db.batch([...before, ...writes]);
  return results.slice(before.length).reduce((n, r) => n + (r.meta.changes ?? 0), 0);
}
