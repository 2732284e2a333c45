/**
 * Druid's KillRules: retention rules of data sources that have no segments at all (used or
 * unused) and were last set more than druid.coordinator.kill.rule.durationToRetain ago. The
 * default rules are never removed.
 */
import type { CleanupConfig } from "../coordinator/dutyConfig.ts";
import { MetadataCleanup } from "./metadataCleanup.ts";

export interface KillRulesHost {
  /** Removes the rules of segment-less data sources set before `ms`; resolves the data sources. */
  deleteRulesOfEmptyDataSourcesBefore(ms: number): Promise<string[]>;
}

export function killRules(config: CleanupConfig, host: KillRulesHost): MetadataCleanup {
  return new MetadataCleanup("KillRules", config, async (before) => (await host.deleteRulesOfEmptyDataSourcesBefore(before!)).length);
}
