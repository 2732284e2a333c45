/**
 * Overlord settings (Druid's druid.indexer.queue.* and druid.indexer.runner.*), read from
 * Worker variables. Durations are ISO-8601 (PT5M) or milliseconds. docs/configuration.md
 * lists every variable.
 */
import { parseBoundedJson } from "../shared/boundedJson.ts";
import { cachedPerEnv } from "../platform/settings.ts";
import { parsePeriod } from "../shared/intervals.ts";

export interface OverlordConfig {
  queueMaxSize: number;
  maxBodyBytes: number;
  maxBulkTasks: number;
  maxTaskPayloadBytes: number;
  defaultContext: Record<string, unknown>;
  taskAssignmentTimeoutMs: number;
  taskCleanupTimeoutMs: number;
  maxRetriesBeforeBlacklist: number;
  workerBlackListBackoffTimeMs: number;
  workerBlackListCleanupPeriodMs: number;
  maxPercentageBlacklistWorkers: number;
  /** How long a poll keeps a worker alive; also the grace given to workers after an Overlord restart. */
  workerLeaseMs: number;
  maxPollTimeoutMs: number;
  minWorkerVersion: string;
  recentlyFinishedThresholdMs: number;
  /** Group commit: wait this long before a flush when `commitSiblings` callers already wait (0 = never). */
  commitDelayMs: number;
  commitSiblings: number;
  /** Task types accepted as noop-like (no locks) for agents' test executors; empty in production. */
  testTaskTypes: string[];
}

export const DEFAULT_CONFIG: OverlordConfig = {
  queueMaxSize: 2_147_483_647,
  maxBodyBytes: 1024 * 1024,
  maxBulkTasks: 10_000,
  maxTaskPayloadBytes: 512 * 1024,
  defaultContext: {},
  taskAssignmentTimeoutMs: 5 * 60_000,
  taskCleanupTimeoutMs: 15 * 60_000,
  maxRetriesBeforeBlacklist: 5,
  workerBlackListBackoffTimeMs: 15 * 60_000,
  workerBlackListCleanupPeriodMs: 5 * 60_000,
  maxPercentageBlacklistWorkers: 20,
  workerLeaseMs: 45_000,
  maxPollTimeoutMs: 25_000,
  minWorkerVersion: "0",
  recentlyFinishedThresholdMs: 24 * 3_600_000,
  commitDelayMs: 2,
  commitSiblings: 2,
  testTaskTypes: [],
};

/** Environment variable → setting. */
export const CONFIG_VARS: Record<string, keyof OverlordConfig> = {
  DRUID_QUEUE_MAX_SIZE: "queueMaxSize",
  DRUID_MAX_BODY_BYTES: "maxBodyBytes",
  DRUID_MAX_BULK_TASKS: "maxBulkTasks",
  DRUID_MAX_TASK_PAYLOAD_BYTES: "maxTaskPayloadBytes",
  DRUID_DEFAULT_TASK_CONTEXT: "defaultContext",
  DRUID_TASK_ASSIGNMENT_TIMEOUT: "taskAssignmentTimeoutMs",
  DRUID_TASK_CLEANUP_TIMEOUT: "taskCleanupTimeoutMs",
  DRUID_MAX_RETRIES_BEFORE_BLACKLIST: "maxRetriesBeforeBlacklist",
  DRUID_WORKER_BLACKLIST_BACKOFF_TIME: "workerBlackListBackoffTimeMs",
  DRUID_WORKER_BLACKLIST_CLEANUP_PERIOD: "workerBlackListCleanupPeriodMs",
  DRUID_MAX_PERCENTAGE_BLACKLIST_WORKERS: "maxPercentageBlacklistWorkers",
  DRUID_WORKER_LEASE: "workerLeaseMs",
  DRUID_MAX_POLL_TIMEOUT: "maxPollTimeoutMs",
  DRUID_MIN_WORKER_VERSION: "minWorkerVersion",
  DRUID_RECENTLY_FINISHED_THRESHOLD: "recentlyFinishedThresholdMs",
  DRUID_COMMIT_DELAY: "commitDelayMs",
  DRUID_COMMIT_SIBLINGS: "commitSiblings",
  DRUID_TEST_TASK_TYPES: "testTaskTypes",
};

/** `DRUID_TEST_TASK_TYPES`: a comma-separated list of task type names. */
export function parseTestTaskTypes(text: string): string[] {
  return text.split(",").map((t) => t.trim()).filter((t) => /^[A-Za-z0-9_]{1,64}$/.test(t));
}

function durationMs(text: string, name: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const d = parsePeriod(text, name);
  return d.as("milliseconds");
}

/** The Overlord's settings of this environment, parsed once (platform/settings.ts). */
export const configOf = cachedPerEnv(configFromEnv);

export function configFromEnv(env: Record<string, unknown>): OverlordConfig {
  const cfg: OverlordConfig = { ...DEFAULT_CONFIG };
  for (const [name, key] of Object.entries(CONFIG_VARS)) {
    const raw = env[name];
    if (raw === undefined || raw === null || raw === "") continue;
    const text = String(raw);
    const current = cfg[key];
    if (key === "defaultContext") {
      const parsed = parseBoundedJson(text, name);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(`${name} must be a JSON object`);
      cfg.defaultContext = parsed as Record<string, unknown>;
    } else if (key === "testTaskTypes") {
      cfg.testTaskTypes = parseTestTaskTypes(text);
    } else if (key === "minWorkerVersion") {
      cfg.minWorkerVersion = text;
    } else if (key.endsWith("Ms")) {
      (cfg as unknown as Record<string, number>)[key] = durationMs(text, name);
    } else if (typeof current === "number") {
      const n = Number(text);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number`);
      (cfg as unknown as Record<string, number>)[key] = n;
    }
  }
  return cfg;
}
