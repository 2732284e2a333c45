/**
 * Druid's worker select strategies (WorkerBehaviorConfig.selectStrategy), as named steps:
 * filter (eligibility: capacity, availability group, enabled, version, category/affinity,
 * task limits) then score (most free slots, or most used slots) then pick.
 */
import { z } from "zod";


const affinityConfig = z.object({
  affinity: z.record(z.string(), z.array(z.string())).default({}),
  strong: z.boolean().default(false),
});
const categoryConfig = z.object({
  defaultCategory: z.string().nullish(),
  categoryAffinity: z.record(z.string(), z.string()).default({}),
  supervisorIdCategoryAffinity: z.record(z.string(), z.string()).default({}),
});
const taskLimits = z.object({
  maxSlotCountByType: z.record(z.string(), z.number().int().nonnegative()).default({}),
  maxSlotRatioByType: z.record(z.string(), z.number().min(0).max(1)).default({}),
});
const strategyBase = {
  affinityConfig: affinityConfig.nullish(),
  taskLimits: taskLimits.nullish(),
};
const categorySpec = z.object({
  strong: z.boolean().default(false),
  categoryMap: z.record(z.string(), categoryConfig).default({}),
});

export const selectStrategySchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("equalDistribution"), ...strategyBase }).strict(),
  z.object({ type: z.literal("fillCapacity"), ...strategyBase }).strict(),
  z.object({ type: z.literal("equalDistributionWithAffinity"), ...strategyBase }).strict(),
  z.object({ type: z.literal("fillCapacityWithAffinity"), ...strategyBase }).strict(),
  z.object({ type: z.literal("equalDistributionWithCategorySpec"), workerCategorySpec: categorySpec.nullish(), ...strategyBase }).strict(),
  z.object({ type: z.literal("fillCapacityWithCategorySpec"), workerCategorySpec: categorySpec.nullish(), ...strategyBase }).strict(),
]);

export const workerBehaviorConfigSchema = z
  .object({
    type: z.literal("default").default("default"),
    selectStrategy: selectStrategySchema.default({ type: "equalDistribution" }),
    autoScaler: z.null().nullish(),
  })
  .strict();

export type SelectStrategy = z.infer<typeof selectStrategySchema>;
export type WorkerBehaviorConfig = z.infer<typeof workerBehaviorConfigSchema>;
export const DEFAULT_WORKER_CONFIG: WorkerBehaviorConfig = {
  type: "default",
  selectStrategy: { type: "equalDistribution" },
  autoScaler: null,
};

/** What a strategy needs to know about a worker. */
export interface WorkerView {
  host: string;
  capacity: number;
  category: string;
  version: string;
  usedCapacity: number;
  availabilityGroups: ReadonlySet<string>;
  usedByType: ReadonlyMap<string, number>;
  /** Its poll is held open: it can be told in the next commit, not one round trip later. */
  waiting?: boolean;
}

/** What a strategy needs to know about a task. */
export interface TaskView {
  type: string;
  dataSource: string;
  requiredCapacity: number;
  availabilityGroup: string;
  supervisorId?: string;
}

function canRun(w: WorkerView, t: TaskView, limits: z.infer<typeof taskLimits> | null | undefined): boolean {
  if (w.capacity - w.usedCapacity < t.requiredCapacity) return false;
  if (w.availabilityGroups.has(t.availabilityGroup)) return false;
  if (limits) {
    const used = (w.usedByType.get(t.type) ?? 0) + t.requiredCapacity;
    const maxCount = limits.maxSlotCountByType[t.type];
    if (maxCount !== undefined && used > maxCount) return false;
    const maxRatio = limits.maxSlotRatioByType[t.type];
    if (maxRatio !== undefined && used > Math.floor(maxRatio * w.capacity)) return false;
  }
  return true;
}

/** Affinity: workers listed for a datasource serve only their datasources (semantics.md §4). */
function applyAffinity(ws: WorkerView[], t: TaskView, cfg: z.infer<typeof affinityConfig> | null | undefined): WorkerView[] {
  if (!cfg || Object.keys(cfg.affinity).length === 0) return ws;
  const affinityHosts = new Set(Object.values(cfg.affinity).flat());
  const preferred = new Set(cfg.affinity[t.dataSource] ?? []);
  if (preferred.size > 0) {
    const mine = ws.filter((w) => preferred.has(w.host));
    if (mine.length > 0 || cfg.strong) return mine;
  }
  return ws.filter((w) => !affinityHosts.has(w.host));
}

function applyCategory(ws: WorkerView[], t: TaskView, spec: z.infer<typeof categorySpec> | null | undefined): WorkerView[] {
  const byType = spec?.categoryMap[t.type];
  let category: string | null | undefined;
  if (byType) {
    category =
      (t.supervisorId ? byType.supervisorIdCategoryAffinity[t.supervisorId] : undefined) ??
      byType.categoryAffinity[t.dataSource] ??
      byType.defaultCategory;
  }
  if (!category) {
    // No category configured for this task: Druid falls back to any worker unless strong.
    return spec?.strong && byType ? [] : ws;
  }
  const inCategory = ws.filter((w) => w.category === category);
  if (inCategory.length > 0 || spec?.strong) return inCategory;
  return ws;
}

/** Picks a worker for the task, or null when none is eligible. */
export function selectWorker(strategy: SelectStrategy, task: TaskView, workers: WorkerView[]): WorkerView | null {
  let candidates = workers.filter((w) => canRun(w, task, strategy.taskLimits));
  if (candidates.length === 0) return null;
  if (strategy.type === "equalDistributionWithCategorySpec" || strategy.type === "fillCapacityWithCategorySpec") {
    candidates = applyCategory(candidates, task, strategy.workerCategorySpec);
  }
  candidates = applyAffinity(candidates, task, strategy.affinityConfig);
  const fill = strategy.type.startsWith("fillCapacity");
  let best: WorkerView | null = null;
  for (const w of candidates) {
    if (!best) {
      best = w;
      continue;
    }
    const score = fill ? w.usedCapacity : w.capacity - w.usedCapacity;
    const bestScore = fill ? best.usedCapacity : best.capacity - best.usedCapacity;
    // Ties (Druid leaves their order open) go to a worker whose poll is held, then by host.
    const wait = w.waiting ? 1 : 0;
    const bestWait = best.waiting ? 1 : 0;
    if (score > bestScore || (score === bestScore && (wait > bestWait || (wait === bestWait && w.host < best.host)))) best = w;
  }
  return best;
}
