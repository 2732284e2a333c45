/**
 * Executors for the agent's own tests, registered only when DRUID_AGENT_TEST_EXECUTORS=1:
 * - `test_sleep`: runs until `sleepMs` pass or the file `untilFile` exists (whichever is given),
 *   honours abort unless `ignoreAbort`; writes `logBytes` of log; returns `reports`; fails with
 *   `failWith` instead of succeeding when given; appends its task id to `recordFile` first (a
 *   record of every run that survives the agent, for the crash test).
 * - `test_crash`: exits its process with code `exitCode` (default 1), as a crash or OOM would.
 */
import { appendFileSync, existsSync } from "node:fs";
import { waitOrAbort } from "../../common/waiters.ts";
import type { Executor, ExecutorContext } from "./types.ts";

export const TEST_EXECUTORS_ENV = "DRUID_AGENT_TEST_EXECUTORS";

const num = (v: unknown, fallback: number) => (typeof v === "number" && Number.isFinite(v) ? v : fallback);
const str = (v: unknown) => (typeof v === "string" ? v : null);

async function waitForFile(path: string, ctx: ExecutorContext, honourAbort: boolean): Promise<boolean> {
  const never = new AbortController().signal;
  while (!existsSync(path)) {
    if (await waitOrAbort(10, honourAbort ? ctx.signal : never)) return true;
  }
  return false;
}

const testSleep: Executor = {
  type: "test_sleep",
  async run(ctx) {
    const t = ctx.task;
    const recordFile = str(t["recordFile"]);
    if (recordFile !== null) appendFileSync(recordFile, `${ctx.taskId}\n`);
    const honourAbort = t["ignoreAbort"] !== true;
    ctx.log(`test_sleep pid ${process.pid}`);
    const logBytes = num(t["logBytes"], 0);
    for (let written = 0; written < logBytes; written += 100) ctx.log("x".repeat(99));
    const untilFile = str(t["untilFile"]);
    const canceled = untilFile
      ? await waitForFile(untilFile, ctx, honourAbort)
      : await waitOrAbort(num(t["sleepMs"], 0), honourAbort ? ctx.signal : new AbortController().signal);
    if (canceled) return { status: "FAILED", errorMsg: "Canceled" };
    const failWith = str(t["failWith"]);
    if (failWith !== null) return { status: "FAILED", errorMsg: failWith };
    const reports = t["reports"];
    return { status: "SUCCESS", errorMsg: null, ...(reports && typeof reports === "object" ? { reports: reports as Record<string, unknown> } : {}) };
  },
};

const testCrash: Executor = {
  type: "test_crash",
  async run(ctx) {
    ctx.log(`test_crash pid ${process.pid}: exiting`);
    process.exit(num(ctx.task["exitCode"], 1));
  },
};

export const testExecutors: readonly Executor[] = [testSleep, testCrash];
