/**
 * Task JSON → a validated `Task`: Druid's base fields (id, groupId, resource, dataSource,
 * context), the type-specific fields this Overlord needs (what to lock, with which lock type and
 * priority), and the payload as Druid stores it (id/groupId/resource/context filled in).
 *
 * Types: noop, index, index_parallel, kill, compact. Everything else in a payload is kept as
 * given for the agent; only what the Overlord decides on is validated here, field by field.
 */
import { z } from "zod";
import { invalidInput } from "../shared/errors.ts";
import { bucket, formatInterval, parseGranularity, parseInterval, type GranularityName, type Interval } from "../shared/intervals.ts";
import { generateTaskId, validateId } from "../shared/ids.ts";
import { taskLockType, type LockType } from "../protocol/taskLocks.ts";

export const TASK_TYPES = ["noop", "index", "index_parallel", "kill", "compact"] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export interface Task {
  id: string;
  groupId: string;
  type: string;
  dataSource: string;
  priority: number;
  resource: { availabilityGroup: string; requiredCapacity: number };
  context: Record<string, unknown>;
  /** Intervals locked before the task is ready (condensed, in order). */
  lockIntervals: Interval[];
  lockType: LockType;
  /** The task JSON as stored and sent to agents. */
  payload: Record<string, unknown>;
  /** The id was generated here (not given by the submitter). */
  generatedId?: boolean;
}

export interface ParseOptions {
  now: number;
  defaultContext?: Record<string, unknown>;
  maxPayloadBytes: number;
  random?: () => number;
  /** Druid's forceTimeChunkLock default (druid.indexer.tasklock.forceTimeChunkLock). */
  forceTimeChunkLock?: boolean;
  /** Extra task types accepted as noop-like (DRUID_TEST_TASK_TYPES; agents' test executors). */
  testTaskTypes?: readonly string[];
}

/** Druid's default priorities (Tasks.java). */
export function defaultPriority(type: string): number {
  switch (type) {
    case "noop":
    case "index":
    case "index_parallel":
      return 50;
    case "compact":
      return 25;
    default:
      return 0;
  }
}

const object = z.record(z.string(), z.unknown());
const baseSchema = z.object({
  type: z.enum(TASK_TYPES, { error: (i) => (i.input === undefined ? "is required" : `unknown task type [${String(i.input)}]; supported: ${TASK_TYPES.join(", ")}`) }),
  id: z.string().optional(),
  groupId: z.string().optional(),
  dataSource: z.string().optional(),
  context: object.nullish(),
  resource: z
    .object({ availabilityGroup: z.string().min(1).max(255).optional(), requiredCapacity: z.number().int().min(1).max(100_000).optional() })
    .nullish(),
});

const noopSchema = z.object({
  runTime: z.number().int().min(0).max(7 * 24 * 3600 * 1000).optional(),
  isReadyTime: z.number().int().min(0).optional(),
  isReadyResult: z.enum(["YES", "NO", "EXCEPTION"]).optional(),
});

const indexSchema = z.object({
  spec: z.object({
    dataSchema: z.object({
      dataSource: z.string(),
      granularitySpec: z
        .object({ segmentGranularity: z.unknown().optional(), intervals: z.array(z.string()).max(10_000).nullish() })
        .nullish(),
    }),
    ioConfig: z.object({ appendToExisting: z.boolean().optional() }).nullish(),
  }),
});

const killSchema = z.object({ dataSource: z.string(), interval: z.string() });

const compactSchema = z.object({
  dataSource: z.string(),
  interval: z.string().optional(),
  ioConfig: z.object({ inputSpec: z.object({ type: z.string().optional(), interval: z.string() }) }).optional(),
});

const contextSchema = z.object({
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  taskLockType: z.enum(["EXCLUSIVE", "SHARED", "REPLACE", "APPEND"]).optional(),
  useSharedLock: z.boolean().optional(),
  useConcurrentLocks: z.boolean().optional(),
});

/** zod → Druid's invalidInput naming the field. */
function check<T>(schema: z.ZodType<T>, value: unknown, prefix = ""): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
  throw invalidInput(`Invalid task field [${path || "task"}]: ${issue.message}`);
}

export function parseTask(input: unknown, opts: ParseOptions): Task {
  if (input === null || typeof input !== "object" || Array.isArray(input)) throw invalidInput("Invalid task: expected a JSON object");
  const raw = input as Record<string, unknown>;
  const testType = typeof raw["type"] === "string" && opts.testTaskTypes?.includes(raw["type"]) ? raw["type"] : null;
  const base = check(baseSchema, testType === null ? raw : { ...raw, type: "noop" });
  const type: string = testType ?? base.type;

  let dataSource: string;
  let lockIntervals: Interval[] = [];
  let idInterval: string | undefined;
  switch (testType === null ? base.type : "noop") {
    case "noop": {
      check(noopSchema, raw);
      dataSource = base.dataSource ?? "none";
      break;
    }
    case "index":
    case "index_parallel": {
      const spec = check(indexSchema, raw).spec;
      dataSource = spec.dataSchema.dataSource;
      if (base.dataSource !== undefined && base.dataSource !== dataSource) {
        throw invalidInput(`Invalid task field [dataSource]: [${base.dataSource}] differs from spec.dataSchema.dataSource [${dataSource}]`);
      }
      const g = spec.dataSchema.granularitySpec;
      const granularity = parseGranularity(g?.segmentGranularity ?? "DAY", "spec.dataSchema.granularitySpec.segmentGranularity");
      // an empty interval would ask the lockbox for an empty lock, which it refuses (the task would wait forever)
      const intervals = (g?.intervals ?? []).map((i) => parseInterval(i, "spec.dataSchema.granularitySpec.intervals"));
      lockIntervals = condense(intervals.map((i) => widenToBuckets(granularity, i)));
      break;
    }
    case "kill": {
      const k = check(killSchema, raw);
      dataSource = k.dataSource;
      const interval = parseInterval(k.interval, "interval"); // empty refused (AbstractFixedIntervalTask: "interval empty")
      lockIntervals = [interval];
      idInterval = formatInterval(interval);
      break;
    }
    case "compact": {
      const c = check(compactSchema, raw);
      dataSource = c.dataSource;
      const text = c.ioConfig?.inputSpec.interval ?? c.interval;
      if (text === undefined) throw invalidInput("Invalid task field [ioConfig.inputSpec.interval]: is required");
      // empty intervals are refused (CompactionIntervalSpec: "Interval[..] is empty, must specify a nonempty interval")
      lockIntervals = [parseInterval(text, c.ioConfig ? "ioConfig.inputSpec.interval" : "interval")];
      break;
    }
  }
  validateId(dataSource, "dataSource");

  const context: Record<string, unknown> = { ...(base.context ?? {}) };
  const ctx = check(contextSchema, context, "context");
  if (!("forceTimeChunkLock" in context)) context["forceTimeChunkLock"] = opts.forceTimeChunkLock ?? true;
  for (const [k, v] of Object.entries(opts.defaultContext ?? {})) if (!(k in context)) context[k] = v;
  if (!("useLineageBasedSegmentAllocation" in context)) context["useLineageBasedSegmentAllocation"] = true;

  const id = base.id === undefined ? generateTaskId(type, type === "noop" ? null : dataSource, opts.now, opts.random, idInterval) : validateId(base.id, "Task id");
  const groupId = base.groupId === undefined ? id : validateId(base.groupId, "groupId");
  const resource = { availabilityGroup: base.resource?.availabilityGroup ?? id, requiredCapacity: base.resource?.requiredCapacity ?? 1 };
  const priority = ctx.priority ?? defaultPriority(type);

  const payload: Record<string, unknown> = { ...raw, type, id, groupId, dataSource, resource, context };
  const size = utf8Length(JSON.stringify(payload));
  if (size > opts.maxPayloadBytes) {
    throw invalidInput(`Task payload of [${size}] bytes exceeds the maximum [${opts.maxPayloadBytes}] (druid.indexer.queue.maxTaskPayloadSize)`);
  }
  return { id, groupId, type, dataSource, priority, resource, context, lockIntervals, lockType: taskLockType(type, ctx, raw), payload, generatedId: base.id === undefined };
}

/** The interval grown to whole segment-granularity buckets (what a time-chunk lock must cover). */
function widenToBuckets(g: GranularityName, i: Interval): Interval {
  if (g === "none") return i;
  return { start: bucket(g, i.start).start, end: bucket(g, i.end - 1).end };
}

/** Sorted, with overlapping or abutting intervals merged (JodaUtils.condenseIntervals). */
export function condense(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a.start - b.start || a.end - b.end);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.start <= last.end) out[out.length - 1] = { start: last.start, end: Math.max(last.end, i.end) };
    else out.push(i);
  }
  return out;
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}
