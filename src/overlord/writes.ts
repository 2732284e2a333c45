/**
 * What a decision must make durable, collected in memory until the next group commit.
 * Task and lock changes are keyed, so many changes to one row within a batch become one
 * statement holding the final state (taken from the live entry when the batch is flushed).
 */
import type { TaskLock } from "../protocol/taskLocks.ts";
import type { TaskEntry } from "./types.ts";

export interface RawWrite {
  kind: "config" | "audit" | "worker" | "log" | "report" | "term";
  /** Opaque to the core; the metadata layer turns it into SQL. */
  data: Record<string, unknown>;
}

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
