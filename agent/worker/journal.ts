/**
 * The journal of started tasks: what makes "a task runs at most once" survive an agent crash.
 *
 * Before a task's process is given the task, its id is written here and flushed to disk
 * (fdatasync); its outcome is written when it ends, and its acknowledgement by the Overlord
 * when that arrives. After a crash the next agent on the same work directory reads back every
 * task started and not acknowledged, and reports it instead of running it again: its outcome if
 * the journal has one, else FAILED ("the agent restarted while the task was running"). A task
 * that was received but not yet started is not in the journal: the Overlord may deliver it
 * again, and it then runs for the first time.
 *
 * One JSON object per line: {"s":id} started, {"f":id,status,errorMsg,duration} finished,
 * {"a":id} acknowledged. Every line is written at once (a killed process loses nothing the
 * kernel has); only starts wait for the disk (fdatasync), since only they must survive a
 * machine crash too — a lost outcome or acknowledgement costs a conservative report, never a
 * second run. A torn last line is ignored. The file is rewritten with just the live entries
 * when opened and whenever it has grown past `COMPACT_LINES`.
 */
import { closeSync, existsSync, fdatasyncSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { TaskState } from "../../src/protocol/agent.ts";

export interface JournalOutcome {
  status: Exclude<TaskState, "RUNNING">;
  errorMsg: string | null;
  duration: number;
}

/** A task the journal says was started and never acknowledged. */
export interface UnfinishedTask {
  id: string;
  /** Its outcome, when it finished before the crash. */
  outcome: JournalOutcome | null;
}

const COMPACT_LINES = 10_000;

export const RESTARTED_WHILE_RUNNING =
  "The agent restarted while this task was running; the task is not run again (its process ended with the agent)";

type Line = { s: string } | ({ f: string } & JournalOutcome) | { a: string };

export class StartJournal {
  private fd: number;
  private lines = 0;
  /** Started and not acknowledged: id → outcome (null while running). */
  private readonly live = new Map<string, JournalOutcome | null>();

  private constructor(
    private readonly path: string,
    recovered: Map<string, JournalOutcome | null>,
  ) {
    for (const [id, o] of recovered) this.live.set(id, o);
    this.fd = this.rewrite();
  }

  /** Opens (or creates) the journal at `path`; returns it with what an earlier agent left unfinished. */
  static open(path: string): { journal: StartJournal; unfinished: UnfinishedTask[] } {
    const recovered = existsSync(path) ? replay(readFileSync(path, "utf8")) : new Map<string, JournalOutcome | null>();
    const journal = new StartJournal(path, recovered);
    return { journal, unfinished: [...recovered].map(([id, outcome]) => ({ id, outcome })) };
  }

  /** Records that these tasks start now; returns once that is on disk (one flush for all). */
  started(ids: string[]): void {
    if (ids.length === 0) return;
    let text = "";
    for (const id of ids) {
      this.live.set(id, null);
      text += `${JSON.stringify({ s: id })}\n`;
    }
    this.write(text);
    fdatasyncSync(this.fd);
  }

  /** Records a started task's outcome. */
  finished(id: string, outcome: JournalOutcome): void {
    if (!this.live.has(id)) return;
    this.live.set(id, outcome);
    this.write(`${JSON.stringify({ f: id, ...outcome })}\n`);
  }

  /** The Overlord has recorded the task's final status: the journal may forget it. */
  acknowledged(id: string): void {
    if (!this.live.delete(id)) return;
    if (this.lines > COMPACT_LINES && this.lines > 4 * this.live.size) {
      closeSync(this.fd);
      this.fd = this.rewrite();
    } else this.write(`${JSON.stringify({ a: id })}\n`);
  }

  /** Tasks started and not acknowledged (for tests and diagnostics). */
  liveIds(): string[] {
    return [...this.live.keys()];
  }

  close(): void {
    fdatasyncSync(this.fd);
    closeSync(this.fd);
  }

  private write(text: string): void {
    writeSync(this.fd, text);
    this.lines += countLines(text);
  }

  /** Writes the live entries to a new file that replaces the old one; returns its descriptor. */
  private rewrite(): number {
    let text = "";
    for (const [id, o] of this.live) {
      text += `${JSON.stringify({ s: id })}\n`;
      if (o) text += `${JSON.stringify({ f: id, ...o })}\n`;
    }
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, "w");
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.path);
    const dir = openSync(dirname(this.path), "r");
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    this.lines = countLines(text);
    return openSync(this.path, "a");
  }
}

function replay(text: string): Map<string, JournalOutcome | null> {
  const live = new Map<string, JournalOutcome | null>();
  for (const raw of text.split("\n")) {
    if (raw === "") continue;
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      continue; // torn write
    }
    if ("s" in line && typeof line.s === "string") live.set(line.s, null);
    else if ("f" in line && typeof line.f === "string" && live.has(line.f)) {
      live.set(line.f, { status: line.status === "SUCCESS" ? "SUCCESS" : "FAILED", errorMsg: line.errorMsg ?? null, duration: Number(line.duration) || 0 });
    } else if ("a" in line && typeof line.a === "string") live.delete(line.a);
  }
  return live;
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) n++;
  return n;
}
