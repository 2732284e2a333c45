/**
 * Druid's MarkOvershadowedSegmentsAsUnused, on the Coordinator's alarm: every used segment the
 * view sees overshadowed is marked unused, through the Overlord (the one writer of `segments`)
 * with the Coordinator's term. Only once this incarnation has led for millisToWaitBeforeDeleting
 * (so a new leader first sees the whole cluster), never while coordination is paused. Idempotent:
 * a segment already unused is not counted again, and a retried run converges.
 */
import type { SegmentView } from "../coordinator/segmentView.ts";
import type { CoordinatorDynamicConfig } from "../coordinator/dynamicConfig.ts";

export interface MarkOvershadowedHost {
  view: SegmentView;
  config(): Readonly<CoordinatorDynamicConfig>;
  now(): number;
  /** When this incarnation began to lead. */
  leaderSince(): number;
  /** Marks these segments of `dataSource` unused at the Overlord; resolves how many changed. */
  markUnused(dataSource: string, ids: string[]): Promise<number>;
}

export interface MarkOvershadowedStats {
  skipped: "paused" | "leaderTooYoung" | null;
  overshadowed: number;
  marked: number;
}

/** Ids per Overlord call: the Overlord chunks them for D1 again, this bounds one request. */
const IDS_PER_CALL = 1_000;

export async function markOvershadowedUnused(host: MarkOvershadowedHost): Promise<MarkOvershadowedStats> {
  const cfg = host.config();
  if (cfg.pauseCoordination) return { skipped: "paused", overshadowed: 0, marked: 0 };
  if (host.now() - host.leaderSince() < cfg.millisToWaitBeforeDeleting) return { skipped: "leaderTooYoung", overshadowed: 0, marked: 0 };
  let overshadowed = 0;
  let marked = 0;
  // slots, not ids, until a call's worth is needed: at most IDS_PER_CALL id strings at a time
  for (const [ds, slots] of host.view.overshadowedByDataSource()) {
    overshadowed += slots.length;
    for (let i = 0; i < slots.length; i += IDS_PER_CALL) marked += await host.markUnused(ds, slots.slice(i, i + IDS_PER_CALL).map((s) => host.view.idOf(s)));
  }
  return { skipped: null, overshadowed, marked };
}
