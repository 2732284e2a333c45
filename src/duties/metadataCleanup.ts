/**
 * Druid's MetadataCleanupDuty: a metadata table cleaned of entries older than durationToRetain,
 * at most once per its own period (which the config check keeps ≥ the metadata management
 * group's). The last cleanup time is kept in memory, as Druid does: a new incarnation cleans at
 * its first run, which is harmless because a cleanup is idempotent.
 */
import type { CleanupConfig } from "../coordinator/dutyConfig.ts";

export interface CleanupStats {
  skipped: "off" | "notDue" | null;
  deleted: number;
}

export class MetadataCleanup {
  private lastCleanupAt: number | null = null;

  constructor(
    readonly name: string,
    private readonly config: Pick<CleanupConfig, "on" | "periodMs"> & { durationToRetainMs?: number },
    /** Deletes the entries older than `olderThanMs` (null: no retention applies); resolves how many. */
    private readonly clean: (olderThanMs: number | null) => Promise<number>,
  ) {}

  async run(now: number): Promise<CleanupStats> {
    if (!this.config.on) return { skipped: "off", deleted: 0 };
    if (this.lastCleanupAt !== null && now - this.lastCleanupAt < this.config.periodMs) return { skipped: "notDue", deleted: 0 };
    const retain = this.config.durationToRetainMs;
    const deleted = await this.clean(retain === undefined ? null : now - retain);
    this.lastCleanupAt = now;
    return { skipped: null, deleted };
  }
}
