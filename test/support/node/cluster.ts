/**
 * Real processes for end-to-end tests and benchmarks: druid-edge under wrangler's dev server
 * (`unstable_startWorker`, local D1 with migrations applied, a persist dir that survives a
 * restart) and worker agents as child processes (`tsx agent/cli.ts`).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../../..");
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");

process.env.WRANGLER_SEND_METRICS = "false";
process.env.WRANGLER_HIDE_BANNER = "true";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

export interface DruidEdge {
  url: string;
  adminToken: string;
  agentToken: string;
  persistDir: string;
  /** Stops the Worker (state stays in persistDir). */
  dispose(): Promise<void>;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }>;
}

export interface StartOptions {
  persistDir?: string;
  vars?: Record<string, string>;
  adminToken?: string;
  agentToken?: string;
  /** Listen on this port (0: any free one). */
  port?: number;
  /** Open wrangler's DevTools inspector on this port (for profiling the Worker); off by default. */
  inspectorPort?: number;
  /** wrangler's log level (default "warn"); "log" also prints the Worker's and the objects' console output. */
  logLevel?: "none" | "error" | "warn" | "info" | "log" | "debug";
}

export function applyMigrations(persistDir: string): void {
  const r = spawnSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistDir], {
    cwd: ROOT,
    env: { ...process.env, CI: "true" },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`wrangler d1 migrations apply failed: ${r.stderr || r.stdout}`);
}

export async function startDruidEdge(opts: StartOptions = {}): Promise<DruidEdge> {
  const persistDir = opts.persistDir ?? mkdtempSync(join(tmpdir(), "druid-edge-"));
  if (!existsSync(join(persistDir, "v3", "d1"))) applyMigrations(persistDir);
  const adminToken = opts.adminToken ?? "e2e-admin-token";
  const agentToken = opts.agentToken ?? "e2e-agent-token";
  const { unstable_startWorker } = await import("wrangler");
  const vars: Record<string, string> = { ADMIN_TOKEN: adminToken, AGENT_TOKEN: agentToken, ...opts.vars };
  const worker = await unstable_startWorker({
    config: join(ROOT, "wrangler.jsonc"),
    envFiles: [],
    bindings: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, { type: "plain_text" as const, value: v }])),
    dev: {
      persist: persistDir, // startWorker adds "v3" itself, as `--persist-to` does
      server: { hostname: "127.0.0.1", port: opts.port ?? 0 },
      inspector: opts.inspectorPort ? { port: opts.inspectorPort } : false,
      logLevel: opts.logLevel ?? "warn",
      watch: false,
    },
  });
  await worker.ready;
  const url = (await worker.url).origin;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, {
      method,
      headers: { Authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  };
  return { url, adminToken, agentToken, persistDir, api, dispose: () => worker.dispose() };
}

export interface AgentEvent {
  event: string;
  taskId?: string;
  at?: number;
  [k: string]: unknown;
}

export interface AgentProcess {
  host: string;
  child: ChildProcess;
  eventsFile: string;
  events(): AgentEvent[];
  output(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

export function startAgent(edge: { url: string; agentToken: string }, opts: { host: string; capacity: number; category?: string; extraArgs?: string[]; env?: Record<string, string>; workDir?: string }): AgentProcess {
  const dir = mkdtempSync(join(tmpdir(), "druid-agent-"));
  const eventsFile = join(dir, "events.jsonl");
  const args = [
    "--overlord", edge.url,
    "--token", edge.agentToken,
    "--capacity", String(opts.capacity),
    "--host", opts.host,
    "--work-dir", opts.workDir ?? join(dir, "work"),
    "--events-file", eventsFile,
    "--json",
    ...(opts.category ? ["--category", opts.category] : []),
    ...(opts.extraArgs ?? []),
  ];
  // as `npm run agent` does (scripts/agent.mjs builds the agent to plain JS and runs it in-process)
  const child = spawn(process.execPath, ["scripts/agent.mjs", ...args], { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return {
    host: opts.host,
    child,
    eventsFile,
    exited,
    output: () => out,
    events: () => {
      if (!existsSync(eventsFile)) return [];
      return readFileSync(eventsFile, "utf8")
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as AgentEvent);
    },
    kill: (signal = "SIGTERM") => {
      child.kill(signal);
    },
  };
}

/** Polls `check` until it returns a truthy value or the deadline passes (bounded, for real processes). */
export async function waitFor<T>(check: () => Promise<T> | T, what: string, timeoutMs = 60_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
