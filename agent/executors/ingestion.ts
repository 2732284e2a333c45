/** index / index_parallel / kill / compact: the ingestion tasks in agent/tasks behind the executor interface. */
import type { IngestTaskContext, IngestTaskOutcome } from "../tasks/context.ts";
import { runCompactTask } from "../tasks/compactTask.ts";
import { runIndexTask } from "../tasks/indexTask.ts";
import { runKillTask } from "../tasks/killTask.ts";
import { TaskClient } from "../tasks/taskClient.ts";
import type { Executor, ExecutorContext } from "./types.ts";

function adapt(run: (ctx: IngestTaskContext) => Promise<IngestTaskOutcome>): Executor {
  return {
    run(ctx: ExecutorContext) {
      const client = new TaskClient({ overlord: ctx.overlord, token: ctx.token, taskId: ctx.taskId, credential: ctx.credential, signal: ctx.signal });
      return run({ task: ctx.task, taskId: ctx.taskId, dataDir: ctx.dataDir, workDir: ctx.workDir, client, log: ctx.log, signal: ctx.signal });
    },
  };
}

export const indexExecutor = adapt(runIndexTask);
export const killExecutor = adapt(runKillTask);
export const compactExecutor = adapt(runCompactTask);
