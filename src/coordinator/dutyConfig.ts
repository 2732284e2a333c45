/**
 * The Coordinator's static duty settings (Druid's DruidCoordinatorConfig: druid.coordinator.period*,
 * druid.coordinator.kill.*, druid.manager.segments.pollDuration), read from Worker variables named
 * after the Druid property (druid.coordinator.kill.pendingSegments.on →
 * DRUID_COORDINATOR_KILL_PENDING_SEGMENTS_ON). Durations are ISO-8601 (PT5M, P30D) or
 * milliseconds; periods with years or months are refused, as Joda's toStandardDuration does.
 * Defaults and checks are Druid's (CoordinatorKillConfigs, KillUnusedSegmentsConfig,
 * MetadataCleanupConfig, CoordinatorPeriodConfig). docs/configuration.md lists every variable.
 */
import { cachedPerEnv } from "../platform/settings.ts";
import { parsePeriod } from "../shared/intervals.ts";

/** One metadata cleanup duty (Druid's MetadataCleanupConfig). */
export interface CleanupConfig {
  on: boolean;
  periodMs: number;
  durationToRetainMs: number;
}

export interface CoordinatorDutyConfig {
  /** HistoricalManagementDuties (markOvershadowedUnused, rules, stats). */
  periodMs: number;
  /** IndexingServiceDuties (killUnusedSegments, killStalePendingSegments). */
  indexingPeriodMs: number;
  /** MetadataStoreManagementDuties (the cleanup duties below). */
  metadataStoreManagementPeriodMs: number;
  /** The safety-net poll of the segment view (changes arrive by nudge first). */
  segmentsPollDurationMs: number;
  /** The segment view's snapshot in the object's storage is rewritten at most this often while the view changes. */
  viewSnapshotPeriodMs: number;
  killUnusedSegments: {
    on: boolean;
    /** Defaults to indexingPeriodMs; never shorter. */
    periodMs: number;
    /** Segments whose interval ends after now - this are kept; may be negative. */
    durationToRetainMs: number;
    ignoreDurationToRetain: boolean;
    /** How long a segment must have been unused before it is killed. */
    bufferPeriodMs: number;
    /** Segments per kill task. */
    maxSegments: number;
    /** Widest interval per kill task; 0 = unlimited. */
    maxIntervalMs: number;
  };
  killPendingSegments: { on: boolean; durationToRetainMs: number };
  killAuditLog: CleanupConfig;
  killRules: CleanupConfig;
  killDatasourceMetadata: CleanupConfig;
  /** Compaction configs of data sources with no segments; Druid applies no retention to them. */
  killCompactionConfig: { on: boolean; periodMs: number };
}

type Kind = "duration" | "signedDuration" | "boolean" | "positiveInt";

export interface ConfigVar {
  /** The Worker variable (derived from the property). */
  env: string;
  property: string;
  kind: Kind;
  /** Druid's default as written in its docs; undefined = derived (see notes). */
  default: string | undefined;
  notes: string;
}

/** druid.coordinator.kill.pendingSegments.on → DRUID_COORDINATOR_KILL_PENDING_SEGMENTS_ON */
export function envNameOf(property: string): string {
  return property.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/\./g, "_").toUpperCase();
}

const v = (property: string, kind: Kind, def: string | undefined, notes = ""): ConfigVar => ({ env: envNameOf(property), property, kind, default: def, notes });

const cleanup = (key: string, what: string, retain = true): ConfigVar[] => [
  v(`druid.coordinator.kill.${key}.on`, "boolean", "true", what),
  v(`druid.coordinator.kill.${key}.period`, "duration", "P1D", "≥ metadataStoreManagementPeriod when on"),
  ...(retain ? [v(`druid.coordinator.kill.${key}.durationToRetain`, "duration", "P90D", "entries younger than this are kept")] : []),
];

/** Every variable, in the order of docs/configuration.md. */
export const COORDINATOR_CONFIG_VARS: readonly ConfigVar[] = [
  v("druid.coordinator.period", "duration", "PT60S", "HistoricalManagementDuties"),
  v("druid.coordinator.period.indexingPeriod", "duration", "PT1800S", "kill and pending-segment duties"),
  v("druid.coordinator.period.metadataStoreManagementPeriod", "duration", "PT1H", "metadata cleanup duties"),
  v("druid.manager.segments.pollDuration", "duration", "PT1M", "safety net only: publishes nudge the view at once"),
  v("druid.coordinator.viewSnapshot.period", "duration", "PT5M", "druid-edge's own: how often, at most, the segment view's snapshot is rewritten while the view changes"),
  v("druid.coordinator.kill.on", "boolean", "false", "submit kill tasks for unused segments"),
  v("druid.coordinator.kill.period", "duration", undefined, "default = indexingPeriod; must be ≥ it"),
  v("druid.coordinator.kill.durationToRetain", "signedDuration", "P90D", "may be negative (-P1D) to kill future intervals"),
  v("druid.coordinator.kill.ignoreDurationToRetain", "boolean", "false", ""),
  v("druid.coordinator.kill.bufferPeriod", "duration", "P30D", "time a segment must have been unused"),
  v("druid.coordinator.kill.maxSegments", "positiveInt", "100", "segments per kill task, > 0"),
  v("druid.coordinator.kill.maxInterval", "duration", "P30D", "widest interval per kill task; PT0S = unlimited"),
  v("druid.coordinator.kill.pendingSegments.on", "boolean", "true", "killStalePendingSegments"),
  v("druid.coordinator.kill.pendingSegments.durationToRetain", "duration", "P1D", "Druid hard-codes P1D (ignores the property)"),
  ...cleanup("audit", "killAuditLog"),
  ...cleanup("rule", "killRules: data sources with no segments"),
  ...cleanup("datasource", "killDatasourceMetadata"),
  ...cleanup("compaction", "killCompactionConfig: data sources with no segments", false),
];

const POSITIVE_PERIODS = [
  "druid.coordinator.period",
  "druid.coordinator.period.indexingPeriod",
  "druid.coordinator.period.metadataStoreManagementPeriod",
  "druid.manager.segments.pollDuration",
  "druid.coordinator.viewSnapshot.period",
];

function durationMs(text: string, name: string, signed: boolean): number {
  const negative = signed && text.startsWith("-");
  const body = negative ? text.slice(1) : text;
  let ms: number;
  if (/^\d+$/.test(body)) {
    ms = Number(body);
  } else {
    let d;
    try {
      d = parsePeriod(body, name);
    } catch {
      throw new Error(`${name} [${text}] is not an ISO-8601 duration or a number of milliseconds`);
    }
    if (d.years !== 0 || d.months !== 0) throw new Error(`${name} [${text}] has years or months, which are not a fixed duration`);
    ms = d.as("milliseconds");
  }
  if (!Number.isSafeInteger(ms)) throw new Error(`${name} [${text}] is too large`);
  return negative ? -ms : ms;
}

function parseValue(c: ConfigVar, raw: unknown): number | boolean {
  const text = String(raw).trim();
  switch (c.kind) {
    case "boolean": {
      const t = text.toLowerCase();
      if (t === "true" || t === "false") return t === "true";
      throw new Error(`${c.env} [${text}] must be true or false`);
    }
    case "positiveInt": {
      const n = /^\d+$/.test(text) ? Number(text) : NaN;
      if (!Number.isSafeInteger(n) || n < 1 || n > 2_147_483_647) throw new Error(`${c.env} [${text}] must be a positive integer`);
      return n;
    }
    case "duration":
    case "signedDuration":
      return durationMs(text, c.env, c.kind === "signedDuration");
  }
}

/** Parses every variable of `env`; throws an Error naming the variable on a bad value. */
export function coordinatorConfigFromEnv(env: Record<string, unknown>): CoordinatorDutyConfig {
  const values = new Map<string, number | boolean>();
  for (const c of COORDINATOR_CONFIG_VARS) {
    const raw = env[c.env];
    const given = raw !== undefined && raw !== null && raw !== "";
    if (given) values.set(c.property, parseValue(c, raw));
    else if (c.default !== undefined) values.set(c.property, parseValue(c, c.default));
  }
  const num = (p: string) => values.get(p) as number;
  const bool = (p: string) => values.get(p) as boolean;
  const indexingPeriodMs = num("druid.coordinator.period.indexingPeriod");
  const metadataPeriodMs = num("druid.coordinator.period.metadataStoreManagementPeriod");

  const killPeriodMs = values.has("druid.coordinator.kill.period") ? num("druid.coordinator.kill.period") : indexingPeriodMs;
  // DruidCoordinatorConfig.validateKillConfigs: checked whether or not kill is on.
  if (killPeriodMs < indexingPeriodMs) {
    throw new Error(`DRUID_COORDINATOR_KILL_PERIOD [${killPeriodMs} ms] must be >= DRUID_COORDINATOR_PERIOD_INDEXING_PERIOD [${indexingPeriodMs} ms]`);
  }
  // A duty group (or the poll) every 0 ms would spin the alarm.
  for (const p of POSITIVE_PERIODS) {
    if (num(p) <= 0) throw new Error(`${envNameOf(p)} must be longer than 0 ms`);
  }

  const scheduleOf = (key: string) => {
    const p = `druid.coordinator.kill.${key}`;
    const out = { on: bool(`${p}.on`), periodMs: num(`${p}.period`) };
    // Only checked when the duty is on, as Druid does.
    if (out.on && out.periodMs < metadataPeriodMs) {
      throw new Error(`${envNameOf(`${p}.period`)} [${out.periodMs} ms] must be >= DRUID_COORDINATOR_PERIOD_METADATA_STORE_MANAGEMENT_PERIOD [${metadataPeriodMs} ms]`);
    }
    return out;
  };
  const cleanupOf = (key: string): CleanupConfig => ({ ...scheduleOf(key), durationToRetainMs: num(`druid.coordinator.kill.${key}.durationToRetain`) });

  return {
    periodMs: num("druid.coordinator.period"),
    indexingPeriodMs,
    metadataStoreManagementPeriodMs: metadataPeriodMs,
    segmentsPollDurationMs: num("druid.manager.segments.pollDuration"),
    viewSnapshotPeriodMs: num("druid.coordinator.viewSnapshot.period"),
    killUnusedSegments: {
      on: bool("druid.coordinator.kill.on"),
      periodMs: killPeriodMs,
      durationToRetainMs: num("druid.coordinator.kill.durationToRetain"),
      ignoreDurationToRetain: bool("druid.coordinator.kill.ignoreDurationToRetain"),
      bufferPeriodMs: num("druid.coordinator.kill.bufferPeriod"),
      maxSegments: num("druid.coordinator.kill.maxSegments"),
      maxIntervalMs: num("druid.coordinator.kill.maxInterval"),
    },
    killPendingSegments: {
      on: bool("druid.coordinator.kill.pendingSegments.on"),
      durationToRetainMs: num("druid.coordinator.kill.pendingSegments.durationToRetain"),
    },
    killAuditLog: cleanupOf("audit"),
    killRules: cleanupOf("rule"),
    killDatasourceMetadata: cleanupOf("datasource"),
    killCompactionConfig: scheduleOf("compaction"),
  };
}

/** Druid's defaults (the settings of an empty environment). */
export const DEFAULT_COORDINATOR_CONFIG: Readonly<CoordinatorDutyConfig> = coordinatorConfigFromEnv({});

/** The Coordinator's duty settings of this environment, parsed once (platform/settings.ts). */
export const coordinatorConfigOf = cachedPerEnv(coordinatorConfigFromEnv);
