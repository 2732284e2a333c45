/**
 * The audit-history query of Druid's config endpoints (`interval` or `count`; a week by default,
 * `druid.audit.manager.auditHistoryMillis`): a bad count answers Druid's `{"error": ...}` 400.
 */
import { invalidInput } from "../../shared/errors.ts";
import { parseInterval } from "../../shared/intervals.ts";
import { json, query, type Req } from "./http.ts";

const WEEK_MS = 7 * 86_400_000;
const MAX_COUNT = 100_000;

/** The filter of a history request, or the 400 to answer with. */
export function historyFilter(req: Req, now = Date.now()): { sinceMs?: number; count?: number } | Response {
  const countText = query(req, "count");
  const intervalText = query(req, "interval");
  let count: number | undefined;
  if (countText !== undefined) {
    if (!/^\d+$/.test(countText) || Number(countText) <= 0) return json({ error: "Limit must be greater than zero!" }, 400);
    count = Number(countText);
    if (count > MAX_COUNT) throw invalidInput("Invalid [count]: too large");
  }
  let sinceMs: number | undefined;
  if (intervalText !== undefined) sinceMs = parseInterval(intervalText, "interval", { allowUnderscore: true, allowEmpty: true }).start;
  else if (count === undefined) sinceMs = now - WEEK_MS;
  return { sinceMs, count };
}
