/**
 * The tsx launcher (`tsx agent/worker/cli.ts`; `npm run agent` runs a build with none) runs the
 * agent as its child process, so from the outside the launcher *is* the agent: a supervisor or
 * test that SIGKILLs it expects the agent gone. When the agent's parent is that launcher (Linux:
 * /proc/<ppid>/cmdline) and it disappears (the agent is re-parented), the agent exits at once,
 * as if killed itself; its task processes follow (their IPC channel closes).
 */
import { readFileSync } from "node:fs";

function parentIsTsxLauncher(ppid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${ppid}/cmdline`, "utf8").split("\0");
    return argv.some((a) => /[\\/]tsx(?:[\\/]dist[\\/]cli\.m?js)?$/.test(a) || a.endsWith("/.bin/tsx"));
  } catch {
    return false; // not Linux, or no access: nothing to watch
  }
}

/** Calls `onGone` once if the tsx launcher that started this process goes away. */
export function watchLauncher(onGone: () => void, everyMs = 500): void {
  const launcher = process.ppid;
  if (!parentIsTsxLauncher(launcher)) return;
  const timer = setInterval(() => {
    if (process.ppid === launcher) return;
    clearInterval(timer);
    onGone();
  }, everyMs);
  timer.unref();
}
