/**
 * The Coordinator's dynamic config (POST merge, Druid's validation) and its static duty settings
 * from Worker variables (src/coordinator/dynamicConfig.ts, src/coordinator/dutyConfig.ts).
 */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_DYNAMIC_CONFIG,
  dynamicConfigFromStored,
  mergeDynamicConfig,
  type CoordinatorDynamicConfig,
} from "../../src/coordinator/dynamicConfig.ts";
import {
  COORDINATOR_CONFIG_VARS,
  coordinatorConfigFromEnv,
  coordinatorConfigOf,
  DEFAULT_COORDINATOR_CONFIG,
  envNameOf,
} from "../../src/coordinator/dutyConfig.ts";
import { DruidError } from "../../src/shared/errors.ts";

function caught(f: () => unknown): DruidError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DruidError);
    return e as DruidError;
  }
  throw new Error("expected a refusal");
}

const DAY = 86_400_000;

describe("the Coordinator dynamic config", () => {
  it("has Druid's fields and defaults (CoordinatorDynamicConfig.Defaults)", () => {
    expect(DEFAULT_DYNAMIC_CONFIG).toEqual({
      millisToWaitBeforeDeleting: 900_000,
      maxSegmentsToMove: 100,
      replicantLifetime: 15,
      replicationThrottleLimit: 500,
      balancerComputeThreads: 1,
      killDataSourceWhitelist: [],
      killTaskSlotRatio: 0.1,
      maxKillTaskSlots: 2_147_483_647,
      killPendingSegmentsSkipList: [],
      maxSegmentsInNodeLoadingQueue: 500,
      decommissioningNodes: [],
      pauseCoordination: false,
      replicateAfterLoadTimeout: false,
      useRoundRobinSegmentAssignment: true,
      smartSegmentLoading: true,
      debugDimensions: null,
      turboLoadingNodes: [],
      cloneServers: {},
      historicalTierAliases: {},
    });
    expect(Object.isFrozen(DEFAULT_DYNAMIC_CONFIG)).toBe(true);
  });

  it("merges a POST over the current value, keeping every field it does not give (null = not given)", () => {
    const first = mergeDynamicConfig(DEFAULT_DYNAMIC_CONFIG, { maxSegmentsToMove: 5, pauseCoordination: true, killDataSourceWhitelist: ["wiki"] });
    const second = mergeDynamicConfig(first, { killTaskSlotRatio: 0.5, maxSegmentsToMove: null, debugDimensions: { dataSource: "wiki" } });
    expect(second).toEqual({
      ...DEFAULT_DYNAMIC_CONFIG,
      maxSegmentsToMove: 5,
      pauseCoordination: true,
      killDataSourceWhitelist: ["wiki"],
      killTaskSlotRatio: 0.5,
      debugDimensions: { dataSource: "wiki" },
    });
    expect(mergeDynamicConfig(second, {})).toEqual(second);
    // A list given replaces the current one (Druid's Builder.build(current)); "" or [] clears it.
    expect(mergeDynamicConfig(second, { killDataSourceWhitelist: "" }).killDataSourceWhitelist).toEqual([]);
    expect(mergeDynamicConfig(second, { killDataSourceWhitelist: ["a", "b"] }).killDataSourceWhitelist).toEqual(["a", "b"]);
  });

  it("never modifies the current value, not even its lists and maps", () => {
    const current = mergeDynamicConfig(DEFAULT_DYNAMIC_CONFIG, { decommissioningNodes: ["h1:8083"], cloneServers: { "h2:8083": "h1:8083" } });
    const before = structuredClone(current);
    const next = mergeDynamicConfig(current, { decommissioningNodes: ["h3:8083"], cloneServers: {} });
    next.turboLoadingNodes.push("x");
    expect(current).toEqual(before);
    expect(DEFAULT_DYNAMIC_CONFIG.turboLoadingNodes).toEqual([]);
  });

  it("takes killDataSourceWhitelist, killPendingSegmentsSkipList and decommissioningNodes as an array or a comma-separated string, as Druid does", () => {
    const c = mergeDynamicConfig(DEFAULT_DYNAMIC_CONFIG, {
      killDataSourceWhitelist: " wiki, edits ,,wiki ",
      killPendingSegmentsSkipList: ["a", "b", "a"],
      decommissioningNodes: "h1:8083",
    });
    expect(c.killDataSourceWhitelist).toEqual(["wiki", "edits"]);
    expect(c.killPendingSegmentsSkipList).toEqual(["a", "b"]);
    expect(c.decommissioningNodes).toEqual(["h1:8083"]);
    // turboLoadingNodes is a Set<String> in Druid: an array only.
    expect(caught(() => mergeDynamicConfig(DEFAULT_DYNAMIC_CONFIG, { turboLoadingNodes: "h1:8083" })).message).toContain("[turboLoadingNodes]");
  });

  it("ignores unknown fields, as Druid's Jackson mapper does (removed fields such as maxNonPrimaryReplicantsToLoad included)", () => {
    const c = mergeDynamicConfig(DEFAULT_DYNAMIC_CONFIG, { maxNonPrimaryReplicantsToLoad: 7, decommissioningMaxPercentOfMaxSegmentsToMove: 70, nonsense: { a: 1 }, replicantLifetime: 30 });
    expect(c).toEqual({ ...DEFAULT_DYNAMIC_CONFIG, replicantLifetime: 30 });
    expect(Object.keys(c).sort()).toEqual(Object.keys(DEFAULT_DYNAMIC_CONFIG).sort());
  });

  it("raises balancerComputeThreads below 1 to 1, as Druid does", () => {
    expect(mergeDynamicConfig(DEFAULT_DYNAMIC_CONFIG, { balancerComputeThreads: 0 }).balancerComputeThreads).toBe(1);
    expect(mergeDynamicConfig(DEFAULT_DYNAMIC_CONFIG, { balancerComputeThreads: 8 }).balancerComputeThreads).toBe(8);
  });

  it("refuses every bad value with a 400 naming its field, and leaves the config unchanged", () => {
    const current: CoordinatorDynamicConfig = mergeDynamicConfig(DEFAULT_DYNAMIC_CONFIG, { maxSegmentsToMove: 7 });
    const before = structuredClone(current);
    const bad: [string, unknown][] = [
      ["killTaskSlotRatio", 1.5],
      ["killTaskSlotRatio", -0.1],
      ["killTaskSlotRatio", "0.5"],
      ["maxKillTaskSlots", -1],
      ["maxSegmentsToMove", -1],
      ["maxSegmentsToMove", 2.5],
      ["maxSegmentsToMove", 2_147_483_648],
      ["replicantLifetime", "15"],
      ["replicationThrottleLimit", true],
      ["balancerComputeThreads", -2],
      ["maxSegmentsInNodeLoadingQueue", -5],
      ["millisToWaitBeforeDeleting", -1],
      ["millisToWaitBeforeDeleting", 1e300],
      ["killDataSourceWhitelist", 5],
      ["killDataSourceWhitelist", ["ok", 3]],
      ["killPendingSegmentsSkipList", { a: 1 }],
      ["decommissioningNodes", [null]],
      ["pauseCoordination", "true"],
      ["replicateAfterLoadTimeout", 1],
      ["useRoundRobinSegmentAssignment", "yes"],
      ["smartSegmentLoading", 0],
      ["debugDimensions", { tier: 1 }],
      ["turboLoadingNodes", [1]],
      ["cloneServers", ["h1"]],
      ["historicalTierAliases", { hot: "hot_1" }],
    ];
    for (const [field, value] of bad) {
      const err = caught(() => mergeDynamicConfig(current, { maxSegmentsToMove: 1, [field]: value }));
      expect(err.status, `${field}=${JSON.stringify(value)}`).toBe(400);
      expect(err.errorCode).toBe("invalidInput");
      expect(err.message, `${field}=${JSON.stringify(value)}`).toContain(`[${field}`);
    }
    expect(caught(() => mergeDynamicConfig(current, { killTaskSlotRatio: 2 })).message).toContain("It must be >= 0 and <= 1");
    for (const body of [null, [], "x", 3]) expect(caught(() => mergeDynamicConfig(current, body)).status).toBe(400);
    expect(current).toEqual(before);
  });

  it("checks historicalTierAliases as Druid does: an alias is not a physical tier, a tier has one alias", () => {
    const ok = mergeDynamicConfig(DEFAULT_DYNAMIC_CONFIG, { historicalTierAliases: { hot: ["hot_1", "hot_2", "hot_1"], cold: ["cold_1"] } });
    expect(ok.historicalTierAliases).toEqual({ hot: ["hot_1", "hot_2"], cold: ["cold_1"] });
    const loop = caught(() => mergeDynamicConfig(ok, { historicalTierAliases: { hot: ["cold"], cold: ["cold_1"] } }));
    expect(loop.message).toContain("[historicalTierAliases]");
    expect(loop.message).toContain("cannot be a physical tier");
    const twice = caught(() => mergeDynamicConfig(ok, { historicalTierAliases: { hot: ["t1"], warm: ["t1"] } }));
    expect(twice.message).toContain("cannot belong to more than one alias");
    expect(ok.historicalTierAliases).toEqual({ hot: ["hot_1", "hot_2"], cold: ["cold_1"] });
  });

  it("reads a stored payload over the defaults, so a payload older than a field gets its default", () => {
    expect(dynamicConfigFromStored({ maxSegmentsToMove: 3, cloneServers: { a: "b" } })).toEqual({ ...DEFAULT_DYNAMIC_CONFIG, maxSegmentsToMove: 3, cloneServers: { a: "b" } });
    expect(dynamicConfigFromStored(null)).toEqual(DEFAULT_DYNAMIC_CONFIG);
    const stored = mergeDynamicConfig(DEFAULT_DYNAMIC_CONFIG, { killDataSourceWhitelist: "a,b", debugDimensions: { x: "y" } });
    expect(dynamicConfigFromStored(JSON.parse(JSON.stringify(stored)))).toEqual(stored);
  });
});

describe("the Coordinator's duty settings", () => {
  it("have Druid's defaults for an empty environment", () => {
    expect(DEFAULT_COORDINATOR_CONFIG).toEqual({
      periodMs: 60_000,
      indexingPeriodMs: 1_800_000,
      metadataStoreManagementPeriodMs: 3_600_000,
      segmentsPollDurationMs: 60_000,
      viewSnapshotPeriodMs: 300_000,
      killUnusedSegments: { on: false, periodMs: 1_800_000, durationToRetainMs: 90 * DAY, ignoreDurationToRetain: false, bufferPeriodMs: 30 * DAY, maxSegments: 100, maxIntervalMs: 30 * DAY },
      killPendingSegments: { on: true, durationToRetainMs: DAY },
      killAuditLog: { on: true, periodMs: DAY, durationToRetainMs: 90 * DAY },
      killRules: { on: true, periodMs: DAY, durationToRetainMs: 90 * DAY },
      killDatasourceMetadata: { on: true, periodMs: DAY, durationToRetainMs: 90 * DAY },
      killCompactionConfig: { on: true, periodMs: DAY },
    });
  });

  it("names each variable after its Druid property", () => {
    expect(envNameOf("druid.coordinator.kill.pendingSegments.on")).toBe("DRUID_COORDINATOR_KILL_PENDING_SEGMENTS_ON");
    expect(envNameOf("druid.coordinator.period.indexingPeriod")).toBe("DRUID_COORDINATOR_PERIOD_INDEXING_PERIOD");
    expect(envNameOf("druid.manager.segments.pollDuration")).toBe("DRUID_MANAGER_SEGMENTS_POLL_DURATION");
    const names = COORDINATOR_CONFIG_VARS.map((c) => c.env);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain("DRUID_COORDINATOR_KILL_ON");
    expect(names).toContain("DRUID_COORDINATOR_KILL_RULE_DURATION_TO_RETAIN");
  });

  it("parses every duty setting from Worker variables, durations as ISO-8601 or milliseconds", () => {
    const cfg = coordinatorConfigFromEnv({
      DRUID_COORDINATOR_PERIOD: "PT30S",
      DRUID_COORDINATOR_PERIOD_INDEXING_PERIOD: "600000",
      DRUID_COORDINATOR_PERIOD_METADATA_STORE_MANAGEMENT_PERIOD: "PT30M",
      DRUID_MANAGER_SEGMENTS_POLL_DURATION: "PT2M",
      DRUID_COORDINATOR_KILL_ON: "TRUE",
      DRUID_COORDINATOR_KILL_PERIOD: "PT1H",
      DRUID_COORDINATOR_KILL_DURATION_TO_RETAIN: "-P1D",
      DRUID_COORDINATOR_KILL_IGNORE_DURATION_TO_RETAIN: true,
      DRUID_COORDINATOR_KILL_BUFFER_PERIOD: "P1W",
      DRUID_COORDINATOR_KILL_MAX_SEGMENTS: "1000",
      DRUID_COORDINATOR_KILL_MAX_INTERVAL: "PT0S",
      DRUID_COORDINATOR_KILL_PENDING_SEGMENTS_ON: "false",
      DRUID_COORDINATOR_KILL_PENDING_SEGMENTS_DURATION_TO_RETAIN: "PT12H",
      DRUID_COORDINATOR_KILL_AUDIT_ON: "false",
      DRUID_COORDINATOR_KILL_AUDIT_PERIOD: "PT1M",
      DRUID_COORDINATOR_KILL_AUDIT_DURATION_TO_RETAIN: "P7D",
      DRUID_COORDINATOR_KILL_RULE_PERIOD: "PT2H",
      DRUID_COORDINATOR_KILL_RULE_DURATION_TO_RETAIN: "0",
      DRUID_COORDINATOR_KILL_DATASOURCE_ON: "false",
      DRUID_COORDINATOR_KILL_COMPACTION_PERIOD: "PT12H",
    });
    expect(cfg.periodMs).toBe(30_000);
    expect(cfg.indexingPeriodMs).toBe(600_000);
    expect(cfg.metadataStoreManagementPeriodMs).toBe(1_800_000);
    expect(cfg.segmentsPollDurationMs).toBe(120_000);
    expect(cfg.killUnusedSegments).toEqual({ on: true, periodMs: 3_600_000, durationToRetainMs: -DAY, ignoreDurationToRetain: true, bufferPeriodMs: 7 * DAY, maxSegments: 1000, maxIntervalMs: 0 });
    expect(cfg.killPendingSegments).toEqual({ on: false, durationToRetainMs: 12 * 3_600_000 });
    // The audit period is below the metadata period, but the duty is off: Druid checks only duties that are on.
    expect(cfg.killAuditLog).toEqual({ on: false, periodMs: 60_000, durationToRetainMs: 7 * DAY });
    expect(cfg.killRules).toEqual({ on: true, periodMs: 2 * 3_600_000, durationToRetainMs: 0 });
    expect(cfg.killDatasourceMetadata.on).toBe(false);
    expect(cfg.killCompactionConfig).toEqual({ on: true, periodMs: 12 * 3_600_000 });
  });

  it("defaults the kill period to the indexing period", () => {
    expect(coordinatorConfigFromEnv({ DRUID_COORDINATOR_PERIOD_INDEXING_PERIOD: "PT1H" }).killUnusedSegments.periodMs).toBe(3_600_000);
  });

  it("parses an environment once and hands every caller the same settings", () => {
    const env = { DRUID_COORDINATOR_KILL_ON: "true" };
    expect(coordinatorConfigOf(env)).toBe(coordinatorConfigOf(env));
    expect(coordinatorConfigOf(env).killUnusedSegments.on).toBe(true);
    expect(coordinatorConfigOf({})).toEqual(DEFAULT_COORDINATOR_CONFIG);
  });

  it("answers a bad setting as a configuration error naming the variable (503 misconfigured)", () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ DRUID_COORDINATOR_KILL_ON: "yes" }, "DRUID_COORDINATOR_KILL_ON"],
      [{ DRUID_COORDINATOR_KILL_PENDING_SEGMENTS_ON: "1" }, "DRUID_COORDINATOR_KILL_PENDING_SEGMENTS_ON"],
      [{ DRUID_COORDINATOR_PERIOD: "60s" }, "DRUID_COORDINATOR_PERIOD"],
      [{ DRUID_COORDINATOR_PERIOD: "PT0S" }, "DRUID_COORDINATOR_PERIOD"],
      [{ DRUID_MANAGER_SEGMENTS_POLL_DURATION: "-PT1M" }, "DRUID_MANAGER_SEGMENTS_POLL_DURATION"],
      [{ DRUID_COORDINATOR_KILL_BUFFER_PERIOD: "P1M" }, "DRUID_COORDINATOR_KILL_BUFFER_PERIOD"],
      [{ DRUID_COORDINATOR_KILL_DURATION_TO_RETAIN: "P1Y" }, "DRUID_COORDINATOR_KILL_DURATION_TO_RETAIN"],
      [{ DRUID_COORDINATOR_KILL_MAX_SEGMENTS: "0" }, "DRUID_COORDINATOR_KILL_MAX_SEGMENTS"],
      [{ DRUID_COORDINATOR_KILL_MAX_SEGMENTS: "-5" }, "DRUID_COORDINATOR_KILL_MAX_SEGMENTS"],
      [{ DRUID_COORDINATOR_KILL_MAX_SEGMENTS: "1.5" }, "DRUID_COORDINATOR_KILL_MAX_SEGMENTS"],
      [{ DRUID_COORDINATOR_KILL_PERIOD: "PT1M" }, "DRUID_COORDINATOR_KILL_PERIOD"],
      [{ DRUID_COORDINATOR_KILL_AUDIT_PERIOD: "PT30M" }, "DRUID_COORDINATOR_KILL_AUDIT_PERIOD"],
      [{ DRUID_COORDINATOR_KILL_RULE_PERIOD: "PT59M" }, "DRUID_COORDINATOR_KILL_RULE_PERIOD"],
      [{ DRUID_COORDINATOR_KILL_DATASOURCE_DURATION_TO_RETAIN: "-P1D" }, "DRUID_COORDINATOR_KILL_DATASOURCE_DURATION_TO_RETAIN"],
      [{ DRUID_COORDINATOR_KILL_COMPACTION_PERIOD: "PT1S" }, "DRUID_COORDINATOR_KILL_COMPACTION_PERIOD"],
      [{ DRUID_COORDINATOR_KILL_AUDIT_DURATION_TO_RETAIN: "99999999999999999999" }, "DRUID_COORDINATOR_KILL_AUDIT_DURATION_TO_RETAIN"],
    ];
    for (const [env, name] of bad) {
      const err = caught(() => coordinatorConfigOf(env));
      expect(err.status, name).toBe(503);
      expect(err.errorCode).toBe("misconfigured");
      expect(err.message, JSON.stringify(env)).toMatch(new RegExp(`^Configuration error: ${name}\\b`));
    }
  });
});
