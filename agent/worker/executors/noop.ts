/**
 * Druid's NoopTask: waits `runTime` ms, then succeeds; stopped early it fails with "Canceled".
 * Difference: Druid treats runTime 0 like absent (2500 ms); here an explicit 0 means no wait at
 * all, which is what queue benchmarks need. `isReadyTime` is accepted and ignored, as in Druid.
 */
import { waitOrAbort } from "../../common/waiters.ts";
import type { Executor } from "./types.ts";

export const DEFAULT_NOOP_RUN_TIME_MS = 2500;

/** The wait for a noop task: absent or invalid → 2500 ms; an explicit number ≥ 0 is used as is. */
export function noopRunTime(task: Record<string, unknown>): number {
  const raw = task["runTime"];
  return typeof raw === "number" && Number.isFinite(raw) && raw >= 0 ? raw : DEFAULT_NOOP_RUN_TIME_MS;
}

export const noopExecutor: Executor = {
  type: "noop",
  usesWorkDir: false,
  async run(ctx) {
    const runTime = noopRunTime(ctx.task);
    ctx.log(`noop task started, runTime ${runTime} ms`);
    if (runTime > 0 && (await waitOrAbort(runTime, ctx.signal))) {
      ctx.log("noop task canceled");
      return { status: "FAILED", errorMsg: "Canceled" };
    }
    ctx.log("noop task finished");
    return { status: "SUCCESS", errorMsg: null };
  },
};
