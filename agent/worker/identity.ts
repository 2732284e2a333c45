/**
 * The agent's own state beside its tasks' work directories, in `<work-dir>/.agent/` (a task id
 * cannot start with "." so no task directory can collide with it):
 * - `worker-key`: the agent's secret identity, made up at its first start and kept for good.
 *   The Overlord binds the worker's host to it (docs/agent-protocol.md, "Identity").
 * - `journal`: the tasks it started (agent/worker/journal.ts), which the key vouches for.
 * - `lock`: the pid of the agent using the directory; a second agent on the same directory
 *   would share the key and the journal, so it refuses to start.
 * A fresh work directory is a fresh agent: new key, empty journal.
 */
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { StartJournal, type UnfinishedTask } from "./journal.ts";

export interface AgentState {
  key: string;
  /** The key was made up now: nothing earlier on this disk can be vouched for. */
  freshKey: boolean;
  journal: StartJournal;
  unfinished: UnfinishedTask[];
  /** Gives up the directory (the lock file is removed). */
  release(): void;
}

export function stateDirOf(workDir: string): string {
  return join(workDir, ".agent");
}

/** Opens the agent's state in `workDir`, creating it on first use. Throws if another live agent holds it. */
export function openAgentState(workDir: string): AgentState {
  const dir = stateDirOf(workDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lockPath = join(dir, "lock");
  takeLock(lockPath);
  try {
    const keyPath = join(dir, "worker-key");
    let key = existsSync(keyPath) ? readFileSync(keyPath, "utf8").trim() : "";
    const freshKey = !/^[A-Za-z0-9_-]{32,256}$/.test(key);
    if (freshKey) {
      key = randomBytes(32).toString("base64url");
      const fd = openSync(keyPath, "w", 0o600);
      writeSync(fd, `${key}\n`);
      fsyncSync(fd);
      closeSync(fd);
    }
    const { journal, unfinished } = StartJournal.open(join(dir, "journal"));
    return {
      key,
      freshKey,
      journal,
      unfinished,
      release: () => {
        journal.close();
        rmSync(lockPath, { force: true });
      },
    };
  } catch (err) {
    rmSync(lockPath, { force: true });
    throw err;
  }
}

function takeLock(path: string): void {
  if (existsSync(path)) {
    const pid = Number(readFileSync(path, "utf8").trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new Error(`Another agent (pid ${pid}) is using this work directory; give each agent its own --work-dir`);
    }
  }
  writeFileSync(path, `${process.pid}\n`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
