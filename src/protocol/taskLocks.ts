/**
 * Time-chunk locks as the task-action protocol shows them (Druid's TaskLock JSON: stored in
 * druid_tasklocks, answered by lock actions and /activeLocks), and the rule by which a task's
 * context picks its lock type (Druid's TaskLocks.determineLockTypeForAppend / Tasks), which the
 * Overlord and the agent's index task must agree on. No dependencies: task processes import it.
 */
export type LockType = "EXCLUSIVE" | "SHARED" | "REPLACE" | "APPEND" | "KILL";
export const LOCK_TYPES: readonly LockType[] = ["EXCLUSIVE", "SHARED", "REPLACE", "APPEND", "KILL"];

/** Druid's TimeChunkLock JSON. */
export interface TaskLock {
  granularity: "timeChunk";
  type: LockType;
  groupId: string;
  dataSource: string;
  interval: string;
  version: string;
  priority: number;
  revoked: boolean;
}

export interface LockContext {
  taskLockType?: LockType;
  useConcurrentLocks?: boolean;
  useSharedLock?: boolean;
}

export function taskLockType(type: string, ctx: LockContext, raw: Record<string, unknown>): LockType {
  if (ctx.taskLockType) return ctx.taskLockType;
  if (ctx.useConcurrentLocks) {
    const append = (raw["spec"] as { ioConfig?: { appendToExisting?: boolean } } | undefined)?.ioConfig?.appendToExisting === true;
    return (type === "index" || type === "index_parallel") && append ? "APPEND" : "REPLACE";
  }
  if (ctx.useSharedLock) return "SHARED";
  return "EXCLUSIVE";
}
