/**
 * The task-action protocol (`POST /druid/indexer/v1/action`, Druid's TaskActionClient wire
 * format), defined once: the envelope `{"task": <task JSON or id>, "action": {...}}` and every
 * action the Overlord serves, as zod schemas with their types. Task processes import only the
 * types (erased at build) and so never load zod.
 */
import { z } from "zod";
import { MAX_FILTER_INTERVALS, MAX_FILTER_VERSIONS } from "../shared/filterLimits.ts";
import { dataSegmentSchema, type DataSegment } from "../segments/dataSegment.ts";
import { LOCK_TYPES, type LockType } from "./taskLocks.ts";

export const actionEnvelopeSchema = z.object({
  task: z.union([z.string(), z.object({ id: z.string() }).passthrough()]),
  action: z.unknown(),
});

const lockType = z.enum(LOCK_TYPES as [LockType, ...LockType[]]);
const intervalText = z.string().min(1).max(200);
/** A published (or nuked) DataSegment, validated field by field (`dataSegmentSchema`: shardSpec, interval, ids, sizes). */
const segmentSchema = dataSegmentSchema;
const segmentsSchema = z.array(segmentSchema).max(10_000);

export const actionSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("lockList") }),
  z.object({ type: z.literal("lockTryAcquire"), lockType: lockType.optional(), interval: intervalText }),
  z.object({ type: z.literal("lockAcquire"), lockType: lockType.optional(), interval: intervalText, timeoutMs: z.number().int().min(0).optional() }),
  z.object({ type: z.literal("lockRelease"), interval: intervalText }),
  z.object({
    type: z.literal("segmentAllocate"),
    dataSource: z.string().min(1).max(255),
    timestamp: z.union([z.string(), z.number()]),
    queryGranularity: z.unknown().optional(),
    preferredSegmentGranularity: z.unknown().optional(),
    sequenceName: z.string().min(1).max(1024),
    previousSegmentId: z.string().max(2048).nullish(),
    skipSegmentLineageCheck: z.boolean().optional(),
    shardSpecFactory: z.object({ type: z.enum(["numbered", "linear"]) }).passthrough().nullish(),
    partialShardSpec: z.object({ type: z.enum(["numbered", "linear"]) }).passthrough().nullish(),
    lockGranularity: z.enum(["TIME_CHUNK", "timeChunk"]).optional(),
    taskLockType: lockType.nullish(),
  }),
  z.object({ type: z.literal("segmentTransactionalInsert"), segments: segmentsSchema, segmentsToBeOverwritten: segmentsSchema.nullish(), dataSource: z.string().nullish(), startMetadata: z.unknown().optional(), endMetadata: z.unknown().optional() }),
  z.object({ type: z.literal("segmentTransactionalReplace"), segments: segmentsSchema }),
  z.object({ type: z.literal("segmentTransactionalAppend"), segments: segmentsSchema, startMetadata: z.unknown().optional(), endMetadata: z.unknown().optional() }),
  z.object({ type: z.literal("markSegmentsAsUnused"), dataSource: z.string().min(1).max(255), interval: intervalText, versions: z.array(z.string()).max(MAX_FILTER_VERSIONS).nullish() }),
  z.object({ type: z.literal("segmentNuke"), segments: segmentsSchema }),
  z.object({
    type: z.literal("retrieveUsedSegments"),
    dataSource: z.string().min(1).max(255),
    interval: intervalText.nullish(),
    intervals: z.array(intervalText).max(MAX_FILTER_INTERVALS).nullish(),
    visibility: z.enum(["ONLY_VISIBLE", "INCLUDING_OVERSHADOWED"]).nullish(),
  }),
  z.object({
    type: z.literal("retrieveUnusedSegments"),
    dataSource: z.string().min(1).max(255),
    interval: intervalText,
    versions: z.array(z.string()).max(MAX_FILTER_VERSIONS).nullish(),
    limit: z.number().int().positive().nullish(),
    maxUsedStatusLastUpdatedTime: z.string().nullish(),
  }),
]);
export type TaskAction = z.infer<typeof actionSchema>;

/** Druid's SegmentPublishResult. */
export interface SegmentPublishResult {
  segments: DataSegment[];
  success: boolean;
  errorMsg: string | null;
}

