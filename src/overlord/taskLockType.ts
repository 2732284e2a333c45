/**
 * The lock type a task asks for (Druid's TaskLocks.determineLockTypeForAppend / Tasks): the
 * context decides, EXCLUSIVE by default. Kept apart from taskSpec.ts (and its zod schemas) so the
 * agent's index task can use it without loading the validation library.
 */
import type { LockType } from "./lockbox.ts";

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
