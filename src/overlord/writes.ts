/**
 * What a decision must make durable, collected in memory until the next group commit.
 * Task and lock changes are keyed, so many changes to one row within a batch become one
 * statement holding the final state (taken from the live entry when the batch is flushed).
 */
import type { TaskLock } from "../protocol/taskLocks.ts";
import type { TaskEntry } from "./types.ts";

/** A stored worker (the `workers` row): what the Overlord restores a worker from. */
export interface WorkerRecord {
  host: string;
  payload: { ip: string; capacity: number; category: string; version: string; keyDigest: string | null };
  disabled: boolean;
  lastSeenMs: number;
}

/** An audit entry (Druid's druid_audit). */
export interface AuditRecord {
  key: string;
  type: string;
  author: string;
  comment: string;
  ip: string;
  createdMs: number;
  payload: string;
  request: Record<string, unknown> | null;
}

/** Writes other than task and lock rows; the metadata layer turns each kind into SQL. */
export type RawWrite =
  | { kind: "config"; data: { name: string; payload: unknown } }
  | { kind: "audit"; data: AuditRecord }
  | { kind: "worker"; data: WorkerRecord }
  | { kind: "log"; data: { taskId: string; log: string; now: number } }
  | { kind: "report"; data: { taskId: string; payload: Record<string, unknown>; now: number } }
  | { kind: "term"; data: { term: number; startedAt: string } };

export class WriteSet {
  readonly tasks = new Map<string, { inserted: boolean; entry: TaskEntry }>();
  readonly locks = new Map<string, { taskId: string; key: string; lock: TaskLock | null }>();
  readonly raw: RawWrite[] = [];

  get size(): number {
    return this.tasks.size + this.locks.size + this.raw.length;
  }

  insertTask(entry: TaskEntry): void {
    this.tasks.set(entry.task.id, { inserted: true, entry });
  }

  updateTask(entry: TaskEntry): void {
    const prev = this.tasks.get(entry.task.id);
    this.tasks.set(entry.task.id, { inserted: prev?.inserted ?? false, entry });
  }

  putLock(taskId: string, key: string, lock: TaskLock | null): void {
    this.locks.set(`${taskId}\u0000${key}`, { taskId, key, lock });
  }

  add(w: RawWrite): void {
    this.raw.push(w);
  }
}
