/**
 * index / index_parallel / kill / compact: the ingestion tasks in agent/worker/tasks behind the executor
 * interface. Their modules load on first use, so a pooled child that only runs noop tasks starts
 * fast.
 */
import type { IngestTaskContext, IngestTaskOutcome } from "../tasks/context.ts";
import type { Executor, ExecutorContext } from "./types.ts";

type IngestTask = (ctx: IngestTaskContext) => Promise<IngestTaskOutcome>;

function adapt(type: string, load: () => Promise<IngestTask>): Executor {
  return {
    type,
    async run(ctx: ExecutorContext) {
      const [run, { TaskClient }] = await Promise.all([load(), import("../tasks/taskClient.ts")]);
      const client = new TaskClient({ overlord: ctx.overlord, token: ctx.token, taskId: ctx.taskId, credential: ctx.credential, signal: ctx.signal });
      return run({ task: ctx.task, taskId: ctx.taskId, dataDir: ctx.dataDir, workDir: ctx.workDir, client, log: ctx.log, signal: ctx.signal });
    },
  };
}

const index = () => import("../tasks/indexTask.ts").then((m) => m.runIndexTask);

export const ingestionExecutors: readonly Executor[] = [
  adapt("index", index),
  adapt("index_parallel", index),
  adapt("kill", () => import("../tasks/killTask.ts").then((m) => m.runKillTask)),
  adapt("compact", () => import("../tasks/compactTask.ts").then((m) => m.runCompactTask)),
];
