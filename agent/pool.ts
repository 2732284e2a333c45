/**
 * A pool of reusable child processes (like BullMQ's sandboxed processors): tasks run isolated
 * from the agent, but the second task onward pays no process start. A child that dies is
 * replaced and its task fails with a clear message; stopping a task kills only its child.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ExecutorOutcome } from "./executors/types.ts";

export interface Job {
  taskId: string;
  task: Record<string, unknown>;
  workDir: string;
  dataDir: string;
  overlord: string;
  token: string;
  credential: string;
}

export type ChildRequest = { type: "run"; job: Job } | { type: "cancel"; taskId: string };
export type ChildMessage =
  | { type: "ready" }
  | { type: "started"; taskId: string }
  | { type: "done"; taskId: string; outcome: ExecutorOutcome; log: string };

export interface RunHandle {
  /** Resolves when the child has begun the task. */
  started: Promise<void>;
  /** Resolves with the outcome (a dead child gives FAILED) and the log tail. */
  done: Promise<{ outcome: ExecutorOutcome; log: string }>;
}

interface Slot {
  child: ChildProcess;
  ready: Promise<void>;
  taskId: string | null;
  onStarted?: () => void;
  onDone?: (r: { outcome: ExecutorOutcome; log: string }) => void;
  killReason?: string;
}

const CHILD_SCRIPT = fileURLToPath(new URL("./child.ts", import.meta.url));

export class ChildPool {
  private readonly slots = new Set<Slot>();
  private closed = false;
  /** Children started so far (for tests and logs). */
  spawned = 0;

  constructor(private readonly onChildExit: (info: { pid: number | undefined; code: number | null; signal: NodeJS.Signals | null; taskId: string | null }) => void = () => {}) {}

  /** Starts children up front so the first tasks do not wait for a process start. */
  prestart(n: number): Promise<void[]> {
    const ready: Promise<void>[] = [];
    while (this.slots.size < n) ready.push(this.spawn().ready);
    return Promise.all(ready);
  }

  private spawn(): Slot {
    const child = fork(CHILD_SCRIPT, [], { execArgv: process.execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
    this.spawned++;
    let markReady!: () => void;
    const slot: Slot = { child, ready: new Promise<void>((r) => (markReady = r)), taskId: null };
    child.on("message", (m: ChildMessage) => {
      if (m.type === "ready") markReady();
      else if (m.type === "started" && m.taskId === slot.taskId) slot.onStarted?.();
      else if (m.type === "done" && m.taskId === slot.taskId) {
        const done = slot.onDone;
        slot.taskId = null;
        slot.onStarted = slot.onDone = undefined;
        done?.({ outcome: m.outcome, log: m.log });
      }
    });
    child.on("exit", (code, signal) => {
      this.slots.delete(slot);
      markReady();
      const taskId = slot.taskId;
      this.onChildExit({ pid: child.pid, code, signal, taskId });
      if (taskId) {
        const done = slot.onDone;
        slot.onStarted?.();
        slot.taskId = null;
        const why = slot.killReason ?? `The task's process exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`})`;
        done?.({ outcome: { status: "FAILED", errorMsg: why }, log: "" });
      }
    });
    this.slots.add(slot);
    return slot;
  }

  private idle(): Slot {
    for (const s of this.slots) if (s.taskId === null && s.child.exitCode === null && !s.child.killed) return s;
    return this.spawn();
  }

  run(job: Job): RunHandle {
    if (this.closed) throw new Error("pool is closed");
    const slot = this.idle();
    slot.taskId = job.taskId;
    const started = new Promise<void>((r) => (slot.onStarted = r));
    const done = new Promise<{ outcome: ExecutorOutcome; log: string }>((r) => (slot.onDone = r));
    void slot.ready.then(() => {
      if (slot.taskId === job.taskId && slot.child.connected) slot.child.send({ type: "run", job } satisfies ChildRequest);
    });
    return { started, done };
  }

  /** Kills the child running `taskId` (only that one); the task fails with `reason`. */
  kill(taskId: string, reason: string): boolean {
    for (const s of this.slots) {
      if (s.taskId === taskId) {
        s.killReason = reason;
        s.child.kill("SIGKILL");
        return true;
      }
    }
    return false;
  }

  /** Asks a task to stop gracefully (its executor sees an aborted signal). */
  cancel(taskId: string): void {
    for (const s of this.slots) if (s.taskId === taskId && s.child.connected) s.child.send({ type: "cancel", taskId } satisfies ChildRequest);
  }

  pidOf(taskId: string): number | undefined {
    for (const s of this.slots) if (s.taskId === taskId) return s.child.pid;
    return undefined;
  }

  get size(): number {
    return this.slots.size;
  }

  close(): void {
    this.closed = true;
    for (const s of this.slots) s.child.kill("SIGKILL");
  }
}
