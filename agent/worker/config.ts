/**
 * The agent's settings: a command-line flag for each, an environment variable for each (the flag
 * wins), defaults that run against `npm run dev`, and a `--help` that lists them all.
 */
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_CHILD_RETIRE_MB } from "./childProtocol.ts";
import { DEFAULT_WORKER_CATEGORY, WORKER_HOST_PATTERN } from "../../src/protocol/headers.ts";

export interface AgentConfig {
  overlord: string;
  token: string;
  capacity: number;
  host: string;
  category: string;
  version: string;
  workDir: string;
  keepWorkDirs: boolean;
  /** "process": each task in a pooled child process (default); "none": inside the agent. */
  isolation: "process" | "none";
  dataDir: string;
  pollTimeoutMs: number;
  /** Extra assignments beyond capacity, queued locally. */
  prefetch: number;
  shutdownGraceMs: number;
  taskStopGraceMs: number;
  inlineLogBytes: number;
  /** A task process whose RSS ends a task above this many MB exits and is replaced. */
  childRetireMb: number;
  json: boolean;
  eventsFile: string | null;
}

interface Option {
  flag: string;
  env: string;
  type: "string" | "boolean";
  help: string;
  /** The default, given the (already resolved) worker host; "" means none. */
  default: (host: string) => string;
}

export const MAX_POLL_TIMEOUT_MS = 25_000;

const OPTIONS: readonly Option[] = [
  { flag: "overlord", env: "DRUID_AGENT_OVERLORD", type: "string", help: "Base URL of druid-edge", default: () => "http://127.0.0.1:8787" },
  { flag: "token", env: "DRUID_AGENT_TOKEN", type: "string", help: "AGENT_TOKEN of druid-edge (required)", default: () => "" },
  { flag: "capacity", env: "DRUID_AGENT_CAPACITY", type: "string", help: "Task slots: tasks run at once, each in its own process", default: () => "2" },
  { flag: "isolation", env: "DRUID_AGENT_ISOLATION", type: "string", help: "process: each task in its own pooled child process; none: tasks run inside the agent (faster for short trusted tasks; a crash takes the agent down)", default: () => "process" },
  { flag: "prefetch", env: "DRUID_AGENT_PREFETCH", type: "string", help: "Tasks the Overlord may assign beyond --capacity; they wait here for a free slot (fewer round trips for short tasks)", default: () => "0" },
  { flag: "host", env: "DRUID_AGENT_HOST", type: "string", help: "Worker id, name:port, unique per agent", default: () => `${hostname()}:8091` },
  { flag: "category", env: "DRUID_AGENT_CATEGORY", type: "string", help: "Worker category (for category select strategies)", default: () => DEFAULT_WORKER_CATEGORY },
  { flag: "version", env: "DRUID_AGENT_VERSION", type: "string", help: "Worker version (compared with minWorkerVersion)", default: () => "0" },
  { flag: "work-dir", env: "DRUID_AGENT_WORK_DIR", type: "string", help: "Parent of the per-task working directories <work-dir>/<taskId>", default: (host) => join(tmpdir(), `druid-edge-agent-${safeName(host)}`) },
  { flag: "keep-work-dirs", env: "DRUID_AGENT_KEEP_WORK_DIRS", type: "boolean", help: "Keep each task's working directory and its log file <taskId>.log after it ends", default: () => "false" },
  { flag: "data-dir", env: "DRUID_AGENT_DATA_DIR", type: "string", help: "Root of `local` input sources (nothing outside it is read)", default: () => process.cwd() },
  { flag: "poll-timeout-ms", env: "DRUID_AGENT_POLL_TIMEOUT_MS", type: "string", help: `How long the Overlord may hold a poll (1..${MAX_POLL_TIMEOUT_MS})`, default: () => "20000" },
  { flag: "shutdown-grace-ms", env: "DRUID_AGENT_SHUTDOWN_GRACE_MS", type: "string", help: "On SIGTERM/SIGINT, how long running tasks may finish before they are stopped", default: () => "30000" },
  { flag: "task-stop-grace-ms", env: "DRUID_AGENT_TASK_STOP_GRACE_MS", type: "string", help: "A stopped task's process gets this long after SIGTERM before SIGKILL", default: () => "2000" },
  { flag: "inline-log-bytes", env: "DRUID_AGENT_INLINE_LOG_BYTES", type: "string", help: "Logs/reports up to this size ride inline with the final status; larger ones are uploaded first (0: always upload)", default: () => "65536" },
  { flag: "child-retire-mb", env: "DRUID_AGENT_CHILD_RETIRE_MB", type: "string", help: "A task process whose resident memory ends a task above this many MB exits; a fresh one replaces it", default: () => String(DEFAULT_CHILD_RETIRE_MB) },
  { flag: "json", env: "DRUID_AGENT_JSON", type: "boolean", help: "Log one JSON object per line", default: () => "false" },
  { flag: "events-file", env: "DRUID_AGENT_EVENTS_FILE", type: "string", help: "Append task events (JSON lines) to this file", default: () => "" },
];

function isolation(v: string): "process" | "none" {
  if (v === "process" || v === "none") return v;
  throw new ConfigError(`--isolation must be process or none, got [${v}]`);
}

/** Task ids and hosts may hold characters a file system dislikes; the name stays readable. */
export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 200);
}

export function helpText(): string {
  const lines = [
    "druid-edge agent: runs Druid tasks for a druid-edge Overlord (Druid's MiddleManager).",
    "",
    "usage: npm run agent -- --overlord URL --token T --capacity N --host NAME:PORT [options]",
    "",
    "Every flag can also be set by its environment variable; the flag wins.",
    "",
  ];
  for (const o of OPTIONS) {
    const name = o.type === "boolean" ? `--${o.flag}` : `--${o.flag} <value>`;
    const def = o.flag === "work-dir" ? join(tmpdir(), "druid-edge-agent-<host>") : o.default("<host>") || "(none)";
    lines.push(`  ${name.padEnd(30)} ${o.help}`);
    lines.push(`  ${"".padEnd(30)} env ${o.env}; default ${def}`);
  }
  lines.push(`  ${"--help".padEnd(30)} Print this help`);
  return lines.join("\n");
}

export class ConfigError extends Error {}

function int(value: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(`--${name} must be an integer from ${min} to ${max}, got [${value}]`);
  }
  return Number(value);
}

function bool(value: string, name: string): boolean {
  const v = value.toLowerCase();
  if (["1", "true", "yes"].includes(v)) return true;
  if (["0", "false", "no", ""].includes(v)) return false;
  throw new ConfigError(`--${name} must be true or false, got [${value}]`);
}

/** Parses flags and env vars; returns null when --help was asked for. Throws ConfigError. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): AgentConfig | null {
  const options: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const o of OPTIONS) options[o.flag] = { type: o.type };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (values["help"]) return null;
  let host = "";
  const get = (flag: string): string => {
    const o = OPTIONS.find((x) => x.flag === flag)!;
    const v = values[flag];
    if (v !== undefined) return String(v);
    const e = env[o.env];
    if (e !== undefined && e !== "") return e;
    return o.default(host);
  };
  host = get("host");
  if (!WORKER_HOST_PATTERN.test(host)) throw new ConfigError(`--host must look like name:port (letters, digits, '.', '-', '_', '~', ':', '[', ']'), got [${host}]`);
  const overlord = get("overlord");
  try {
    const u = new URL(overlord);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
  } catch {
    throw new ConfigError(`--overlord must be an http(s) URL, got [${overlord}]`);
  }
  const token = get("token");
  if (!token) throw new ConfigError("--token (or DRUID_AGENT_TOKEN) is required: the AGENT_TOKEN of druid-edge");
  const category = get("category");
  if (category.length > 255) throw new ConfigError("--category must be at most 255 characters");
  return {
    overlord: overlord.replace(/\/+$/, ""),
    token,
    capacity: int(get("capacity"), "capacity", 1, 1024),
    prefetch: int(get("prefetch"), "prefetch", 0, 100_000),
    host,
    category,
    version: get("version"),
    workDir: resolve(get("work-dir")),
    keepWorkDirs: bool(get("keep-work-dirs"), "keep-work-dirs"),
    isolation: isolation(get("isolation")),
    dataDir: resolve(get("data-dir")),
    pollTimeoutMs: int(get("poll-timeout-ms"), "poll-timeout-ms", 1, MAX_POLL_TIMEOUT_MS),
    shutdownGraceMs: int(get("shutdown-grace-ms"), "shutdown-grace-ms", 0, 3_600_000),
    taskStopGraceMs: int(get("task-stop-grace-ms"), "task-stop-grace-ms", 0, 3_600_000),
    inlineLogBytes: int(get("inline-log-bytes"), "inline-log-bytes", 0, 1024 * 1024),
    childRetireMb: int(get("child-retire-mb"), "child-retire-mb", 1, 1024 * 1024),
    json: bool(get("json"), "json"),
    eventsFile: get("events-file") || null,
  };
}
