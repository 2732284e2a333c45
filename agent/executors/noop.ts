/**
 * Druid's NoopTask: waits `runTime` ms, then succeeds; stopped early it fails with "Canceled".
 * Difference: Druid treats runTime 0 like absent (2500 ms); here an explicit 0 means no wait at
 * all, which is what queue benchmarks need. `isReadyTime` is accepted and ignored, as in Druid.
 */
import type { Executor } from "./types.ts";

export const DEFAULT_NOOP_RUN_TIME_MS = 2500;

export const noopExecutor: Executor = {
  async run(ctx) {
    const raw = ctx.task["runTime"];
    const runTime = typeof raw === "number" && Number.isFinite(raw) && raw >= 0 ? raw : DEFAULT_NOOP_RUN_TIME_MS;
    ctx.log(`noop task started, runTime ${runTime} ms`);
    if (runTime > 0) {
      const canceled = await new Promise<boolean>((resolve) => {
        if (ctx.signal.aborted) return resolve(true);
        const t = setTimeout(() => resolve(false), runTime);
        ctx.signal.addEventListener("abort", () => { clearTimeout(t); resolve(true); }, { once: true });
      });
      if (canceled) {
        ctx.log("noop task canceled");
        return { status: "FAILED", errorMsg: "Canceled" };
      }
    }
    ctx.log("noop task finished");
    return { status: "SUCCESS", errorMsg: null };
  },
};
