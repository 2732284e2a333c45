/**
 * The workerd processes a benchmark started (descendants of this process only: other workerd
 * processes on the machine, e.g. someone else's tests, are never counted), told apart as in
 * bench/cpu-per-request.ts: the one that runs the Worker, both objects and local D1 holds the
 * persist directory's .sqlite files open; the other is wrangler's proxy. Memory from
 * /proc/<pid>/status (Linux only).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { processTree } from "../../test/support/node/procs.ts";

function isWorkerd(pid: number): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return cmd[0]!.endsWith("/workerd") && cmd[1] === "serve";
  } catch {
    return false;
  }
}

function holdsFileUnder(pid: number, dir: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        return target.startsWith(dir) && target.includes(".sqlite");
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** Every `workerd serve` process under this one. */
export function ownWorkerdPids(): number[] {
  return processTree(process.pid).filter(isWorkerd);
}

/**
 * This process's workerd children: the worker (holding `persistDir`'s D1 file, which it opens
 * at the first query) and the proxy.
 */
export function ownWorkerds(persistDir: string): { worker: number; proxy: number | null } {
  const pids = ownWorkerdPids();
  const worker = pids.find((p) => holdsFileUnder(p, persistDir));
  if (worker === undefined) throw new Error(`no workerd under this process holds ${persistDir} open (found ${pids.length} workerd processes)`);
  return { worker, proxy: pids.find((p) => p !== worker) ?? null };
}

/** Resident set size and its peak (VmHWM), bytes. */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

/** Samples the RSS of `pids` every `everyMs` until stopped; answers each one's peak. */
export function sampleRss(pids: number[], everyMs = 50): { stop(): number[] } {
  const peak = pids.map((p) => memoryOf(p).rss);
  const timer = setInterval(() => {
    pids.forEach((p, i) => {
      try {
        peak[i] = Math.max(peak[i]!, memoryOf(p).rss);
      } catch {
        // exited
      }
    });
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      pids.forEach((p, i) => {
        try {
          peak[i] = Math.max(peak[i]!, memoryOf(p).rss);
        } catch {}
      });
      return peak;
    },
  };
}

/**
 * The address the workerd process `pid` listens on (the Worker itself, behind wrangler's dev
 * proxy), or null when it cannot be told (`ss` missing, several ports).
 */
export function listeningUrlOf(pid: number, except: string): string | null {
  let out: string;
  try {
    out = execFileSync("ss", ["-ltnpH"], { encoding: "utf8" });
  } catch {
    return null;
  }
  const ports = out
    .split("\n")
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => /127\.0\.0\.1:(\d+)/.exec(l)?.[1])
    .filter((p): p is string => p !== undefined && p !== new URL(except).port);
  return ports.length === 1 ? `http://127.0.0.1:${ports[0]}` : null;
}
