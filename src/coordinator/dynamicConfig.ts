/**
 * Druid's CoordinatorDynamicConfig (server/.../coordinator/CoordinatorDynamicConfig.java), as the
 * Coordinator stores it (`druid_config` key `coordinator.config`) and serves it on
 * `GET/POST /druid/coordinator/v1/config`. Pure: no I/O, no cloudflare:* imports.
 *
 * POST is Druid's `Builder.build(current)`: every field given (and not null) replaces the current
 * value, every other field keeps it. Unknown fields are ignored, as Druid's DefaultObjectMapper
 * does (FAIL_ON_UNKNOWN_PROPERTIES off, no @JsonIgnoreProperties on the class): that is also what
 * happens to the removed `maxNonPrimaryReplicantsToLoad` and
 * `decommissioningMaxPercentOfMaxSegmentsToMove`. A bad value is a 400 `invalidInput` naming its
 * field, and nothing is changed.
 */
import { z } from "zod";
import { invalidInput } from "../shared/errors.ts";

/** `druid_config` key of the Coordinator dynamic config. */
export const DYNAMIC_CONFIG_KEY = "coordinator.config";

export interface CoordinatorDynamicConfig {
  /** Leader age before overshadowed segments are marked unused (Druid's markSegmentAsUnusedDelayMillis). */
  millisToWaitBeforeDeleting: number;
  maxSegmentsToMove: number;
  replicantLifetime: number;
  replicationThrottleLimit: number;
  balancerComputeThreads: number;
  /** Data sources the kill duty may kill in; empty = all (Druid's specificDataSourcesToKillUnusedSegmentsIn). */
  killDataSourceWhitelist: string[];
  killTaskSlotRatio: number;
  maxKillTaskSlots: number;
  /** Data sources whose stale pending segments are not killed (Druid's dataSourcesToNotKillStalePendingSegmentsIn). */
  killPendingSegmentsSkipList: string[];
  maxSegmentsInNodeLoadingQueue: number;
  decommissioningNodes: string[];
  pauseCoordination: boolean;
  replicateAfterLoadTimeout: boolean;
  useRoundRobinSegmentAssignment: boolean;
  smartSegmentLoading: boolean;
  debugDimensions: Record<string, string> | null;
  turboLoadingNodes: string[];
  /** Target Historical → source Historical it mirrors. */
  cloneServers: Record<string, string>;
  /** Virtual tier → the physical tiers it stands for. */
  historicalTierAliases: Record<string, string[]>;
}

const INT_MAX = 2_147_483_647;

/**
 * Druid's defaults (CoordinatorDynamicConfig.Defaults). balancerComputeThreads is
 * min(max(1, cores / 2), 100) in Druid; a Worker isolate has one core, so 1.
 */
export const DEFAULT_DYNAMIC_CONFIG: Readonly<CoordinatorDynamicConfig> = Object.freeze({
  millisToWaitBeforeDeleting: 15 * 60_000,
  maxSegmentsToMove: 100,
  replicantLifetime: 15,
  replicationThrottleLimit: 500,
  balancerComputeThreads: 1,
  killDataSourceWhitelist: [],
  killTaskSlotRatio: 0.1,
  maxKillTaskSlots: INT_MAX,
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

/** Distinct, in first-seen order (Druid keeps these as Sets). */
const distinct = (xs: string[]): string[] => [...new Set(xs)];

/** A Java int that must not be negative (Druid declares them `int`; negatives are refused here). */
const count = z.number().int("must be an integer").min(0, "must be >= 0").max(INT_MAX, `must be <= ${INT_MAX}`);

/**
 * Druid's parseJsonStringOrArray: a JSON array of names, or one string of comma-separated names
 * (the old console could not send arrays, apache/druid#3055), items trimmed, empty ones dropped.
 * Druid turns any other JSON type into an empty set; here it is refused.
 */
const stringOrArray = z
  .union([z.string(), z.array(z.string())], { error: "must be a JSON array of strings or a comma-separated string" })
  .transform((v) => distinct(typeof v === "string" ? v.split(",").map((s) => s.trim()).filter((s) => s !== "") : v));

const nameMap = z.record(z.string(), z.string());

/** The body of `POST /druid/coordinator/v1/config`: every field optional; null = not given. */
export const dynamicConfigPatchSchema = z.object({
  millisToWaitBeforeDeleting: z.number().int("must be an integer").min(0, "must be >= 0").max(Number.MAX_SAFE_INTEGER).nullish(),
  maxSegmentsToMove: count.nullish(),
  replicantLifetime: count.nullish(),
  replicationThrottleLimit: count.nullish(),
  /** Druid raises anything below 1 to 1. */
  balancerComputeThreads: count.transform((n) => Math.max(n, 1)).nullish(),
  killDataSourceWhitelist: stringOrArray.nullish(),
  killTaskSlotRatio: z
    .number({ error: "must be a number" })
    .refine((r) => r >= 0 && r <= 1, { error: (i) => `[${String(i.input)}] is invalid. It must be >= 0 and <= 1.` })
    .nullish(),
  maxKillTaskSlots: count.nullish(),
  killPendingSegmentsSkipList: stringOrArray.nullish(),
  maxSegmentsInNodeLoadingQueue: count.nullish(),
  decommissioningNodes: stringOrArray.nullish(),
  pauseCoordination: z.boolean().nullish(),
  replicateAfterLoadTimeout: z.boolean().nullish(),
  useRoundRobinSegmentAssignment: z.boolean().nullish(),
  smartSegmentLoading: z.boolean().nullish(),
  debugDimensions: nameMap.nullish(),
  /** A Set<String> in Druid: an array only, no comma-separated form. */
  turboLoadingNodes: z.array(z.string()).transform(distinct).nullish(),
  cloneServers: nameMap.nullish(),
  historicalTierAliases: z.record(z.string(), z.array(z.string()).transform(distinct)).nullish(),
});

export type DynamicConfigPatch = z.output<typeof dynamicConfigPatchSchema>;

function refuse(field: string, message: string): never {
  throw invalidInput(`Invalid coordinator dynamic config field [${field}]: ${message}`);
}

/** Validates a POST body; unknown fields are dropped. Throws 400 `invalidInput` naming the first bad field. */
export function parseDynamicConfigPatch(body: unknown): DynamicConfigPatch {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw invalidInput("Invalid coordinator dynamic config: expected a JSON object");
  }
  const r = dynamicConfigPatchSchema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  refuse(issue.path.map(String).join(".") || "config", issue.message);
}

/** Druid's constructor check: an alias is not also a physical tier, and a tier has at most one alias. */
function checkTierAliases(aliases: Record<string, string[]>): void {
  const seen = new Set<string>();
  for (const [alias, tiers] of Object.entries(aliases)) {
    const physical = tiers.find((t) => Object.hasOwn(aliases, t));
    if (physical !== undefined) {
      refuse("historicalTierAliases", `alias [${alias}] maps to [${physical}], which is itself an alias. A virtual tier alias cannot be a physical tier.`);
    }
    const twice = tiers.filter((t) => seen.has(t));
    if (twice.length > 0) {
      refuse("historicalTierAliases", `physical tier(s) [${twice.join(", ")}] cannot belong to more than one alias.`);
    }
    for (const t of tiers) seen.add(t);
  }
}

const FIELDS = Object.keys(DEFAULT_DYNAMIC_CONFIG) as (keyof CoordinatorDynamicConfig)[];

function copy(c: Readonly<CoordinatorDynamicConfig>): CoordinatorDynamicConfig {
  return {
    ...c,
    killDataSourceWhitelist: [...c.killDataSourceWhitelist],
    killPendingSegmentsSkipList: [...c.killPendingSegmentsSkipList],
    decommissioningNodes: [...c.decommissioningNodes],
    debugDimensions: c.debugDimensions === null ? null : { ...c.debugDimensions },
    turboLoadingNodes: [...c.turboLoadingNodes],
    cloneServers: { ...c.cloneServers },
    historicalTierAliases: Object.fromEntries(Object.entries(c.historicalTierAliases).map(([k, v]) => [k, [...v]])),
  };
}

/**
 * `POST /config`: the fields of `patch` (raw JSON) merged over `current`, validated as Druid does.
 * Returns a new config; `current` is never modified, and a refusal (400) leaves it as it was.
 */
export function mergeDynamicConfig(current: Readonly<CoordinatorDynamicConfig>, patch: unknown): CoordinatorDynamicConfig {
  const p = parseDynamicConfigPatch(patch);
  const next = copy(current);
  const target = next as unknown as Record<string, unknown>;
  for (const f of FIELDS) {
    const v = p[f];
    if (v !== undefined && v !== null) target[f] = v;
  }
  checkTierAliases(next.historicalTierAliases);
  return next;
}

/**
 * The stored payload read back: merged over the defaults, so a payload written before a field
 * existed gets Druid's default for it. A stored payload that no longer validates is refused (400).
 */
export function dynamicConfigFromStored(payload: unknown): CoordinatorDynamicConfig {
  return mergeDynamicConfig(DEFAULT_DYNAMIC_CONFIG, payload ?? {});
}
