/**
 * A pooled child process (Druid's peon, reused): runs one task at a time for the agent, which
 * sends `run` over IPC and gets `started` / `done` back. The task's log goes to `<workDir>.log`
 * once the task outlives its first turn (agent/worker/runTask.ts); the agent ships it.
 *
 * SIGTERM: stop the current task gracefully (its executor sees an aborted signal), report its
 * outcome, exit. SIGINT is ignored: a Ctrl-C reaches the whole process group, and the agent
 * decides what happens to its tasks. The agent going away (IPC closed) ends the child at once.
 *
 * Retirement: a child whose resident memory ends a task above `DRUID_AGENT_CHILD_RETIRE_MB`
 * (the agent's --child-retire-mb, set by the pool) says so with its `done` and exits; the pool
 * starts a fresh one. A large ingestion grows the V8 heap and the Parquet writer's WebAssembly memory, and neither gives
 * its pages back: without this, an idle child would keep that peak for good.
 */
import { DEFAULT_CHILD_RETIRE_MB, type FromChild, type Job, type ToChild } from "./childProtocol.ts";
import { runTask } from "./runTask.ts";

const RETIRE_RSS_BYTES = Number(process.env["DRUID_AGENT_CHILD_RETIRE_MB"] || DEFAULT_CHILD_RETIRE_MB) * 1024 * 1024;

let current: { taskId: string; controller: AbortController; finished: Promise<void> } | null = null;

/** Resolves once the message is handed to the IPC channel (so exiting after it loses nothing). */
function send(m: FromChild): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

function run(job: Job): void {
  const controller = new AbortController();
  let done = false;
  // A task that ends within this turn of the event loop needs no separate `started` (the agent
  // treats `done` as started too): one IPC message per short task instead of two.
  const started = () =>
    void setImmediate(() => {
      if (!done) void send({ type: "started", taskId: job.taskId });
    });
  const finished = runTask(job, controller.signal, started, `in process ${process.pid}`).then(
    async (outcome) => {
      done = true;
      const retire = process.memoryUsage.rss() > RETIRE_RSS_BYTES;
      await send({ type: "done", taskId: job.taskId, outcome, ...(retire ? { retire } : {}) });
      if (retire) process.exit(0);
    },
    (err: unknown) => {
      done = true;
      return send({ type: "done", taskId: job.taskId, outcome: { status: "FAILED", errorMsg: `Task could not start: ${String(err)}` } });
    },
  );
  current = { taskId: job.taskId, controller, finished };
  void finished.then(() => {
    if (current?.taskId === job.taskId) current = null;
  });
}

process.on("message", (m: ToChild) => {
  if (m.type === "run") run(m.job);
});
process.on("SIGTERM", () => {
  if (!current) process.exit(0);
  current.controller.abort(new Error("Task stopped by the agent"));
  void current.finished.then(() => process.exit(0));
});
process.on("SIGINT", () => {});
process.on("disconnect", () => process.exit(0));
void send({ type: "ready" });
