/**
 * Local Redis and PostgreSQL for the peer benchmark, from Debian's packages: installed with
 * apt-get when missing (needs root), started on loopback with free ports and data in a temporary
 * directory, and stopped (data removed) at the end whatever happens.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

function pgBin(): string | null {
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(base, v, "bin", "initdb"))) return join(base, v, "bin");
  }
  return null;
}

/** Installs redis-server and postgresql from Debian's packages if they are missing. */
export function ensureInstalled(): void {
  const missing = [...(have("redis-server") ? [] : ["redis-server"]), ...(pgBin() ? [] : ["postgresql"])];
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(", ")} with apt-get (needs root)...`);
  execFileSync("apt-get", ["install", "-y", "--no-install-recommends", ...missing], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

export interface Service {
  url: string;
  version: string;
  stop(): void;
}

async function waitUntil(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out starting ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startRedis(): Promise<Service> {
  const dir = mkdtempSync(join(tmpdir(), "bench-redis-"));
  const port = await freePort();
  // Redis's defaults for a cache-like queue: RDB snapshots off here, no AOF (no fsync per write).
  const proc: ChildProcess = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"], { stdio: "ignore" });
  await waitUntil(() => spawnSync("redis-cli", ["-p", String(port), "ping"]).stdout?.toString().includes("PONG") ?? false, "redis");
  const version = execFileSync("redis-server", ["--version"]).toString().match(/v=([\d.]+)/)?.[1] ?? "?";
  return {
    url: `redis://127.0.0.1:${port}`,
    version,
    stop: () => {
      proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startPostgres(): Promise<Service & { port: number }> {
  const bin = pgBin();
  if (!bin) throw new Error("PostgreSQL is not installed");
  const dir = mkdtempSync(join(tmpdir(), "bench-pg-"));
  chmodSync(dir, 0o700);
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => (asRoot ? execFileSync("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args], { stdio: "pipe" }) : execFileSync(join(bin, cmd), args, { stdio: "pipe" }));
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  run("initdb", ["-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
  // PostgreSQL's defaults (fsync on, synchronous_commit on): every committed job is on disk.
  run("pg_ctl", ["-D", dir, "-l", join(dir, "log.txt"), "-w", "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`, "start"]);
  const version = execFileSync(join(bin, "postgres"), ["--version"]).toString().trim().split(" ").pop() ?? "?";
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    version,
    stop: () => {
      try {
        run("pg_ctl", ["-D", dir, "-m", "immediate", "stop"]);
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
