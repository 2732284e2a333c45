/** Task type → executor. Add a type by writing an Executor and listing it here. */
import { compactExecutor, indexExecutor, killExecutor } from "./ingestion.ts";
import { noopExecutor } from "./noop.ts";
import type { Executor } from "./types.ts";

export const EXECUTORS: Readonly<Record<string, Executor>> = {
  noop: noopExecutor,
  index: indexExecutor,
  index_parallel: indexExecutor,
  kill: killExecutor,
  compact: compactExecutor,
};

export function executorFor(type: unknown): Executor | null {
  return typeof type === "string" && Object.hasOwn(EXECUTORS, type) ? EXECUTORS[type]! : null;
}
