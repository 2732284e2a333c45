/**
 * `--isolation none`: tasks run inside the agent process, like BullMQ's in-process handlers. No
 * process start and no IPC per task, so short tasks dispatch faster and cost less CPU; in exchange
 * a task that crashes or blocks the event loop takes the agent (and its other tasks) with it, and
 * a stopped task ends only when its executor honours the abort signal. For trusted, light task
 * types; the default stays one pooled child process per slot (agent/worker/pool.ts).
 */
import type { ChildOutcome, Job } from "./childProtocol.ts";
import type { RunHandle, TaskPool } from "./pool.ts";

type RunTask = typeof import("./runTask.ts").runTask;

interface Running {
  controller: AbortController;
  /** Why it was stopped, once it was. */
  reason: string | null;
  done?: Promise<ChildOutcome>;
}

export class InProcessPool implements TaskPool {
  /** Executors (and the ingestion code behind them) load on warm-up, not when the agent starts. */
  private loaded: Promise<RunTask> | null = null;
  private readonly running = new Map<string, Running>();

  private load(): Promise<RunTask> {
    this.loaded ??= import("./runTask.ts").then((m) => m.runTask);
    return this.loaded;
  }

  warm(): void {
    void this.load();
  }

  async whenWarm(): Promise<void> {
    await this.load();
  }

  run(job: Job): RunHandle {
    const controller = new AbortController();
    let markStarted!: () => void;
    const started = new Promise<void>((r) => (markStarted = r));
    const entry: Running = { controller, reason: null };
    const done = this.load()
      .then((runTask) => runTask(job, controller.signal, () => markStarted(), "in the agent's process", false))
      .catch((err: unknown): ChildOutcome => ({ status: "FAILED", errorMsg: `Task could not start: ${String(err)}` }))
      .then((outcome) => {
        this.running.delete(job.taskId);
        markStarted();
        // As with a stopped child: a task that still managed to succeed keeps its SUCCESS.
        return entry.reason !== null && outcome.status !== "SUCCESS" ? { ...outcome, errorMsg: entry.reason } : outcome;
      });
    entry.done = done;
    this.running.set(job.taskId, entry);
    return { started, done };
  }

  stop(taskId: string, reason: string): boolean {
    const e = this.running.get(taskId);
    if (!e) return false;
    e.reason ??= reason;
    e.controller.abort(new Error(reason));
    return true;
  }

  /** Aborts every task and waits for their executors to return. */
  async close(): Promise<void> {
    const all = [...this.running.entries()];
    for (const [id] of all) this.stop(id, "Agent shut down");
    await Promise.all(all.map(([, e]) => e.done));
  }
}
