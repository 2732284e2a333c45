/**
 * A pool of reusable child processes (like BullMQ's sandboxed processors): tasks run isolated
 * from the agent, yet the second task onward pays no process start. Each child runs one task at
 * a time. A child that dies is replaced and its task fails with a clear message; stopping a task
 * ends only its child (SIGTERM, then SIGKILL after a grace period) and the pool replaces it.
 */
import { fork, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DEFAULT_CHILD_RETIRE_MB, type ChildOutcome, type FromChild, type Job, type ToChild } from "./childProtocol.ts";

export interface RunHandle {
  /** Resolves when the child has begun the task (also, just before `done`, if it never did). */
  started: Promise<void>;
  /** Resolves with the task's outcome once its child is free again or gone. */
  done: Promise<ChildOutcome>;
}

/** What the agent needs from a pool (tests may substitute their own). */
export interface TaskPool {
  /** Keeps `n` children started, in the background. */
  warm(n: number): void;
  whenWarm(): Promise<void>;
  run(job: Job): RunHandle;
  /** Stops the task's child; false when no child runs that task. */
  stop(taskId: string, reason: string): boolean;
  close(): Promise<void>;
}

export interface ChildExit {
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  taskId: string | null;
}

export interface PoolOptions {
  /** Time a stopped task gets to end gracefully before SIGKILL. */
  stopGraceMs?: number;
  onChildExit?: (info: ChildExit) => void;
  /** Environment of the children (default: the agent's). */
  env?: NodeJS.ProcessEnv;
  /** A child whose RSS ends a task above this many MB exits and is replaced (agent/worker/child.ts). */
  retireRssMb?: number;
}

interface Slot {
  child: ChildProcess;
  ready: boolean;
  whenReady: Promise<void>;
  job: Job | null;
  onStarted: (() => void) | null;
  onDone: ((outcome: ChildOutcome) => void) | null;
  /** Outcome the child reported for a task that was being stopped (applied when it exits). */
  reported: ChildOutcome | null;
  stopReason: string | null;
  /** The child said it exits after its task (memory): never give it another. */
  retiring: boolean;
  killTimer: ReturnType<typeof setTimeout> | null;
  exited: Promise<void>;
}

/** Run from source (tsx), the child is child.ts; built by scripts/agent.mjs, child.mjs beside this file. */
const BUILT = !import.meta.url.endsWith(".ts");
const CHILD_SCRIPT = fileURLToPath(new URL(BUILT ? "./child.mjs" : "./child.ts", import.meta.url));

/**
 * A young generation of at most 4 MB per semi-space (V8's default is 16 MB) and an old generation
 * that grows by at most 2× at a time (V8 may grow it up to 4×): ingestion allocates many
 * short-lived row objects, and with V8's defaults a task's peak RSS depended on where its major
 * GCs fell (285–339 MB for the agent tree on the tutorial data, with the earlier Parquet writer).
 * With these the tree stays ~240–260 MB; 8 and 16 MB semi-spaces measure within noise in rows/s
 * and higher in RSS (docs/benchmarks.md).
 */
const CHILD_HEAP_FLAGS = ["--max-semi-space-size=4", "--heap-growing-percent=100"];

/**
 * Node flags for a child: the agent's own when it runs built (plain JS) or under tsx (so `.ts`
 * loads the same way), else the agent's plus tsx's loader (e.g. when a test runner imported the pool).
 */
export function childExecArgv(): string[] {
  // The heap flags first: the agent's own flags come after and win.
  // (a profiled agent does not profile its 32 children too: --cpu-prof is not inherited)
  const own = [...CHILD_HEAP_FLAGS, ...process.execArgv.filter((a) => !a.startsWith("--cpu-prof"))];
  if (BUILT || own.some((a) => a.includes("tsx"))) return own;
  const loader = createRequire(import.meta.url).resolve("tsx");
  return [...own, "--import", pathToFileURL(loader).href];
}

export class ChildPool implements TaskPool {
  private readonly slots = new Set<Slot>();
  private target = 0;
  private closed = false;
  private readonly execArgv = childExecArgv();
  /** Children started so far. */
  spawned = 0;

  constructor(private readonly opts: PoolOptions = {}) {}

  warm(n: number): void {
    this.target = Math.max(this.target, n);
    this.topUp();
  }

  /** Resolves once every child started so far has said it is ready. */
  async whenWarm(): Promise<void> {
    await Promise.all([...this.slots].map((s) => s.whenReady));
  }

  private topUp(): void {
    while (!this.closed && this.slots.size < this.target) this.spawn();
  }

  private spawn(): Slot {
    const child = fork(CHILD_SCRIPT, [], {
      execArgv: this.execArgv,
      env: { ...(this.opts.env ?? process.env), DRUID_AGENT_CHILD_RETIRE_MB: String(this.opts.retireRssMb ?? DEFAULT_CHILD_RETIRE_MB) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "json",
    });
    this.spawned++;
    let markReady!: () => void;
    let markExited!: () => void;
    const slot: Slot = {
      child,
      ready: false,
      whenReady: new Promise<void>((r) => (markReady = r)),
      job: null,
      onStarted: null,
      onDone: null,
      reported: null,
      stopReason: null,
      retiring: false,
      killTimer: null,
      exited: new Promise<void>((r) => (markExited = r)),
    };
    child.on("message", (m: FromChild) => {
      if (m.type === "ready") {
        slot.ready = true;
        markReady();
      } else if (m.type === "started" && m.taskId === slot.job?.taskId) {
        this.fireStarted(slot);
      } else if (m.type === "done" && m.taskId === slot.job?.taskId) {
        if (m.retire) slot.retiring = true;
        if (slot.stopReason !== null) slot.reported = m.outcome; // it exits next: settle then
        else this.settle(slot, m.outcome);
      }
    });
    child.on("error", () => {
      // A failed spawn or IPC error; "exit" follows (or the child is unusable): nothing else to do.
    });
    child.on("exit", (code, signal) => {
      this.slots.delete(slot);
      if (slot.killTimer) clearTimeout(slot.killTimer);
      const taskId = slot.job?.taskId ?? null;
      this.opts.onChildExit?.({ pid: child.pid, code, signal, taskId });
      if (slot.job) {
        // A stopped task that still managed to succeed keeps its SUCCESS; otherwise the reason.
        const why = slot.stopReason ?? `The task's process exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`})`;
        const r = slot.reported;
        this.settle(slot, r?.status === "SUCCESS" ? r : { status: "FAILED", errorMsg: why, ...(r ? { log: r.log, workDirRemoved: r.workDirRemoved } : {}) });
      }
      markReady();
      markExited();
      // A child that never became ready is not replaced here (a broken install would loop).
      if (slot.ready) this.topUp();
    });
    this.slots.add(slot);
    return slot;
  }

  private fireStarted(slot: Slot): void {
    const f = slot.onStarted;
    slot.onStarted = null;
    f?.();
  }

  private settle(slot: Slot, outcome: ChildOutcome): void {
    const done = slot.onDone;
    this.fireStarted(slot);
    slot.job = null;
    slot.onDone = null;
    slot.reported = null;
    done?.(outcome);
  }

  private idleSlot(): Slot {
    let starting: Slot | null = null;
    for (const s of this.slots) {
      if (s.job !== null || s.stopReason !== null || s.retiring || s.child.exitCode !== null) continue;
      if (s.ready) return s;
      starting ??= s;
    }
    return starting ?? this.spawn();
  }

  run(job: Job): RunHandle {
    if (this.closed) throw new Error("The process pool is closed");
    const slot = this.idleSlot();
    slot.job = job;
    const started = new Promise<void>((r) => (slot.onStarted = r));
    const done = new Promise<ChildOutcome>((r) => (slot.onDone = r));
    void slot.whenReady.then(() => {
      if (slot.job === job && slot.child.connected) slot.child.send({ type: "run", job } satisfies ToChild);
    });
    // Keep a warm spare for the next task when the pool runs below its target.
    this.topUp();
    return { started, done };
  }

  stop(taskId: string, reason: string): boolean {
    for (const s of this.slots) {
      if (s.job?.taskId !== taskId) continue;
      if (s.stopReason !== null) return true;
      s.stopReason = reason;
      if (!s.ready) {
        s.child.kill("SIGKILL"); // nothing started yet: no grace needed
        return true;
      }
      s.child.kill("SIGTERM");
      s.killTimer = setTimeout(() => s.child.kill("SIGKILL"), this.opts.stopGraceMs ?? 2000);
      return true;
    }
    return false;
  }

  /** The pid of the child running `taskId`. */
  pidOf(taskId: string): number | undefined {
    for (const s of this.slots) if (s.job?.taskId === taskId) return s.child.pid;
    return undefined;
  }

  /** Pids of all live children. */
  pids(): number[] {
    return [...this.slots].map((s) => s.child.pid!).filter((p) => p !== undefined);
  }

  get size(): number {
    return this.slots.size;
  }

  /** Kills every child; resolves once all have exited (their tasks settle as FAILED). */
  async close(): Promise<void> {
    this.closed = true;
    const exits = [...this.slots].map((s) => {
      s.stopReason ??= "Agent shut down";
      s.child.kill("SIGKILL");
      return s.exited;
    });
    await Promise.all(exits);
  }
}
