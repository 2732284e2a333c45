/**
 * Druid's KillAuditLog: audit entries older than druid.coordinator.kill.audit.durationToRetain
 * go, from both audit tables — the Coordinator's own, and the Overlord's through the Overlord
 * (each table keeps its one writer).
 */
import type { CleanupConfig } from "../coordinator/dutyConfig.ts";
import { MetadataCleanup } from "./metadataCleanup.ts";

export interface KillAuditLogHost {
  deleteOwnAuditBefore(ms: number): Promise<number>;
  deleteOverlordAuditBefore(ms: number): Promise<number>;
}

export function killAuditLog(config: CleanupConfig, host: KillAuditLogHost): MetadataCleanup {
  return new MetadataCleanup("KillAuditLog", config, async (before) => (await host.deleteOwnAuditBefore(before!)) + (await host.deleteOverlordAuditBefore(before!)));
}
