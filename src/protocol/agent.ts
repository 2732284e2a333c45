/**
 * The worker poll protocol (docs/agent-protocol.md), defined once: the request as zod schemas
 * (the Worker validates with them), the types every side uses derived from them, and the answer.
 * Agents import only types from here (erased at build), so they do not load zod.
 */
import { z } from "zod";
import { wellFormed } from "../shared/text.ts";
import { DEFAULT_WORKER_CATEGORY, WORKER_HOST_PATTERN } from "./headers.ts";

/** A log keeps its last this many UTF-16 units (and is refused above 4×). */
export const MAX_LOG_CHARS = 1024 * 1024;
/** Reports (inline or uploaded) are one JSON value of at most this many characters. */
export const MAX_REPORTS_CHARS = 1024 * 1024;
/** What a poll may carry, and how long it may ask to be held. */
export const MAX_POLL_TASKS = 100_000;
export const MAX_POLL_TIMEOUT_MS = 600_000;


/** The last `max` UTF-16 units of a log, well-formed (and so never starting inside a pair). */
export function logTail(log: string, max = MAX_LOG_CHARS): string {
  return wellFormed(log.length <= max ? log : log.slice(log.length - max));
}

export const workerHostSchema = z
  .string()
  .regex(WORKER_HOST_PATTERN, "must be host:port, 1-255 characters of letters, digits, '.', '-', '_', '~', ':', '[', ']'");

export const reportsSchema = z
  .record(z.string(), z.unknown())
  .refine((r) => JSON.stringify(r).length <= MAX_REPORTS_CHARS, `reports are larger than the limit of [${MAX_REPORTS_CHARS}] characters`);

export const counterSchema = z.object({ counter: z.number().int().min(0), hash: z.number() });
export const taskLocationSchema = z.object({ host: z.string().max(255).nullable(), port: z.number().int(), tlsPort: z.number().int() });
export const taskStateSchema = z.enum(["RUNNING", "SUCCESS", "FAILED"]);

export const workerIdentitySchema = z.object({
  host: workerHostSchema,
  ip: z.string().max(255).default(""),
  capacity: z.number().int().min(0).max(100_000),
  category: z.string().min(1).max(255).default(DEFAULT_WORKER_CATEGORY),
  version: z.string().max(255).default("0"),
  /**
   * druid-edge: how many tasks beyond `capacity` the agent will queue locally (it still runs at
   * most `capacity` at once). Lets one poll answer carry the next tasks before slots free up.
   */
  prefetch: z.number().int().min(0).max(100_000).default(0),
});

export const taskReportSchema = z.object({
  id: z.string().min(1).max(255),
  status: taskStateSchema,
  /** ms; -1 while running. */
  duration: z.number().int().optional(),
  errorMsg: z.string().max(100_000).transform(wellFormed).nullish(),
  location: taskLocationSchema.optional(),
  /** The task's log, inline with a final status (stored in the same commit). */
  log: z.string().max(MAX_LOG_CHARS * 4).transform((l) => logTail(l)).optional(),
  /** The task's reports, inline with a final status. */
  reports: reportsSchema.optional(),
});

export const pollRequestSchema = z.object({
  worker: workerIdentitySchema,
  term: z.number().int().nullable().default(null),
  counter: counterSchema.nullable().default(null),
  timeoutMs: z.number().int().positive().max(MAX_POLL_TIMEOUT_MS).default(20_000),
  full: z.boolean().default(false),
  tasks: z.array(taskReportSchema).max(MAX_POLL_TASKS).default([]),
});

export type Counter = z.infer<typeof counterSchema>;
export type TaskState = z.infer<typeof taskStateSchema>;
export type TaskLocation = z.infer<typeof taskLocationSchema>;
export type WorkerIdentity = z.infer<typeof workerIdentitySchema>;
/** A task status as the Overlord applies it (after validation). */
export type TaskReport = z.infer<typeof taskReportSchema>;
/** A poll as the Overlord sees it (after validation and defaults). */
export type PollRequest = z.infer<typeof pollRequestSchema>;
/** A task status as an agent sends it (every field given). */
export type TaskStatusReport = z.input<typeof taskReportSchema> & { duration: number; errorMsg: string | null; location: TaskLocation };
/** A poll as an agent sends it (every field given). */
export interface PollBody {
  worker: Required<z.input<typeof workerIdentitySchema>>;
  term: number | null;
  counter: Counter | null;
  timeoutMs: number;
  full: boolean;
  tasks: TaskStatusReport[];
}

/** One item of a poll answer, as it goes over the wire. */
export type AgentRequest =
  | { type: "assign"; task: Record<string, unknown>; credential: string }
  | { type: "shutdown"; taskId: string }
  | { type: "metadata"; disabled: boolean };

/** A poll answer (200). With `resetCounter`, `counter` and `requests` are null. */
export interface PollAnswer {
  term: number;
  leaseMs: number;
  resetCounter: boolean;
  resetCause: string | null;
  counter: Counter | null;
  requests: AgentRequest[] | null;
  /** Tasks whose final status is durably recorded: the agent may forget them. */
  acks: string[];
}
