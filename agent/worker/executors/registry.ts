/**
 * Task type → executor. Add a type by writing an Executor (agent/worker/executors/types.ts) and listing
 * it in BUILTIN below. Test-only executors join when DRUID_AGENT_TEST_EXECUTORS=1.
 */
import { ingestionExecutors } from "./ingestion.ts";
import { noopExecutor } from "./noop.ts";
import { TEST_EXECUTORS_ENV, testExecutors } from "./testing.ts";
import type { Executor } from "./types.ts";

const BUILTIN: readonly Executor[] = [noopExecutor, ...ingestionExecutors];

export function buildRegistry(env: NodeJS.ProcessEnv = process.env): ReadonlyMap<string, Executor> {
  const all = env[TEST_EXECUTORS_ENV] === "1" ? [...BUILTIN, ...testExecutors] : BUILTIN;
  return new Map(all.map((e) => [e.type, e]));
}

let registry: ReadonlyMap<string, Executor> | null = null;

export function executorFor(type: unknown): Executor | null {
  registry ??= buildRegistry();
  return typeof type === "string" ? (registry.get(type) ?? null) : null;
}

export function unsupportedTypeMessage(type: unknown): string {
  return `Task type [${String(type)}] is not supported by this agent`;
}
