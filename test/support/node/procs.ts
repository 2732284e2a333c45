/** Process relations from Linux's /proc, for tests and benchmarks that watch agents and their task processes. */
import { readdirSync, readFileSync } from "node:fs";

/** Every live process's parent pid (a full scan of /proc). */
export function parentPids(): Map<number, number> {
  const parent = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // exited meanwhile
    }
  }
  return parent;
}

/** Direct children of `pid`. */
export function childPids(pid: number): number[] {
  return [...parentPids()].filter(([, ppid]) => ppid === pid).map(([p]) => p);
}

/** `root` and all its descendants. */
export function processTree(root: number): number[] {
  const parent = parentPids();
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid; p && p > 1; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  return [...parent.keys()].filter(inTree);
}

/** Clock ticks (1/100 s) of user + system CPU of a process, or of a thread given as `pid/task/tid`. */
export function cpuTicks(pid: number | string): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** Every running `workerd serve` process (wrangler's dev server and Miniflare run one each). */
export function workerdPids(): string[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
        return cmd[0]!.endsWith("/workerd") && cmd[1] === "serve";
      } catch {
        return false;
      }
    });
}
