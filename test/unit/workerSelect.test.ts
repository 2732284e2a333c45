import { describe, expect, it } from "vitest";
import { selectWorker, workerBehaviorConfigSchema, type WorkerView } from "../../src/overlord/workerSelect.ts";

const w = (host: string, capacity: number, used: number, extra: Partial<WorkerView> = {}): WorkerView => ({
  host,
  capacity,
  usedCapacity: used,
  category: "_default_worker_category",
  version: "0",
  availabilityGroups: new Set(),
  usedByType: new Map(),
  ...extra,
});
const task = { type: "noop", dataSource: "wiki", requiredCapacity: 1, availabilityGroup: "g1" };

describe("worker select strategies", () => {
  it("equalDistribution picks the worker with the most free slots", () => {
    expect(selectWorker({ type: "equalDistribution" }, task, [w("a", 4, 3), w("b", 4, 1), w("c", 2, 0)])!.host).toBe("b");
  });

  it("fillCapacity picks the worker with the most used slots that still fits", () => {
    expect(selectWorker({ type: "fillCapacity" }, task, [w("a", 4, 3), w("b", 4, 1), w("c", 4, 4)])!.host).toBe("a");
  });

  it("breaks a tie in favour of a worker whose poll is held (told in this commit), then by host", () => {
    expect(selectWorker({ type: "equalDistribution" }, task, [w("a", 4, 1), w("b", 4, 1, { waiting: true }), w("c", 4, 1)])!.host).toBe("b");
    expect(selectWorker({ type: "equalDistribution" }, task, [w("a", 4, 1), w("b", 4, 2, { waiting: true })])!.host).toBe("a");
    expect(selectWorker({ type: "fillCapacity" }, task, [w("a", 4, 2), w("b", 4, 2, { waiting: true })])!.host).toBe("b");
    expect(selectWorker({ type: "equalDistribution" }, task, [w("b", 4, 1), w("a", 4, 1)])!.host).toBe("a");
  });

  it("honours requiredCapacity and availabilityGroup", () => {
    const big = { ...task, requiredCapacity: 3 };
    expect(selectWorker({ type: "equalDistribution" }, big, [w("a", 4, 2), w("b", 2, 0)])).toBeNull();
    const grouped = [w("a", 4, 0, { availabilityGroups: new Set(["g1"]) }), w("b", 4, 3)];
    expect(selectWorker({ type: "equalDistribution" }, task, grouped)!.host).toBe("b");
  });

  it("category spec sends a task to its category and falls back unless strong", () => {
    const ws = [w("a", 4, 0, { category: "hot" }), w("b", 4, 0, { category: "cold" })];
    const spec = { strong: false, categoryMap: { noop: { defaultCategory: "cold", categoryAffinity: { wiki: "hot" }, supervisorIdCategoryAffinity: {} } } };
    expect(selectWorker({ type: "equalDistributionWithCategorySpec", workerCategorySpec: spec }, task, ws)!.host).toBe("a");
    expect(selectWorker({ type: "fillCapacityWithCategorySpec", workerCategorySpec: spec }, { ...task, dataSource: "other" }, ws)!.host).toBe("b");
    const strong = { ...spec, strong: true, categoryMap: { noop: { defaultCategory: "gpu", categoryAffinity: {}, supervisorIdCategoryAffinity: {} } } };
    expect(selectWorker({ type: "equalDistributionWithCategorySpec", workerCategorySpec: strong }, task, ws)).toBeNull();
    const weak = { ...strong, strong: false };
    expect(selectWorker({ type: "equalDistributionWithCategorySpec", workerCategorySpec: weak }, task, ws)).not.toBeNull();
  });

  it("affinity keeps listed workers for their datasources", () => {
    const ws = [w("a", 4, 0), w("b", 4, 0)];
    const affinityConfig = { affinity: { other: ["a"] }, strong: false };
    expect(selectWorker({ type: "equalDistribution", affinityConfig }, task, ws)!.host).toBe("b");
    expect(selectWorker({ type: "equalDistribution", affinityConfig }, { ...task, dataSource: "other" }, ws)!.host).toBe("a");
  });

  it("taskLimits cap the slots a task type may take on a worker", () => {
    const ws = [w("a", 4, 2, { usedByType: new Map([["noop", 2]]) })];
    expect(selectWorker({ type: "equalDistribution", taskLimits: { maxSlotCountByType: { noop: 2 }, maxSlotRatioByType: {} } }, task, ws)).toBeNull();
  });

  it("parses Druid's WorkerBehaviorConfig and rejects unknown strategies", () => {
    expect(workerBehaviorConfigSchema.parse({ selectStrategy: { type: "fillCapacity" } })).toMatchObject({ type: "default", selectStrategy: { type: "fillCapacity" } });
    expect(workerBehaviorConfigSchema.safeParse({ selectStrategy: { type: "javascript", function: "x" } }).success).toBe(false);
  });
});
