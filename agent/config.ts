/**
 * The agent's settings: a command-line flag for each, an environment variable for each (the flag
 * wins), defaults that run against `npm run dev`, and a `--help` that lists them all.
 */
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

export interface AgentConfig {
  overlord: string;
  token: string;
  capacity: number;
  host: string;
  category: string;
  version: string;
  workDir: string;
  keepWorkDirs: boolean;
  dataDir: string;
  pollTimeoutMs: number;
  shutdownGraceMs: number;
  json: boolean;
  eventsFile: string | null;
}

interface Option {
  flag: string;
  env: string;
  type: "string" | "boolean";
  help: string;
  default: () => string;
}

const OPTIONS: Option[] = [
  { flag: "overlord", env: "DRUID_AGENT_OVERLORD", type: "string", help: "Base URL of druid-edge", default: () => "http://127.0.0.1:8787" },
  { flag: "token", env: "DRUID_AGENT_TOKEN", type: "string", help: "AGENT_TOKEN of druid-edge (required)", default: () => "" },
  { flag: "capacity", env: "DRUID_AGENT_CAPACITY", type: "string", help: "Task slots (tasks run at once)", default: () => "2" },
  { flag: "host", env: "DRUID_AGENT_HOST", type: "string", help: "Worker id, name:port, unique per agent", default: () => `${hostname()}:8091` },
  { flag: "category", env: "DRUID_AGENT_CATEGORY", type: "string", help: "Worker category", default: () => "_default_worker_category" },
  { flag: "version", env: "DRUID_AGENT_VERSION", type: "string", help: "Worker version", default: () => "0" },
  { flag: "work-dir", env: "DRUID_AGENT_WORK_DIR", type: "string", help: "Directory for per-task working directories", default: () => join(tmpdir(), "druid-edge-agent") },
  { flag: "keep-work-dirs", env: "DRUID_AGENT_KEEP_WORK_DIRS", type: "boolean", help: "Keep each task's working directory after it ends", default: () => "false" },
  { flag: "data-dir", env: "DRUID_AGENT_DATA_DIR", type: "string", help: "Root of `local` input sources (nothing outside it is read)", default: () => process.cwd() },
  { flag: "poll-timeout-ms", env: "DRUID_AGENT_POLL_TIMEOUT_MS", type: "string", help: "How long the Overlord may hold a poll (≤ 25000)", default: () => "20000" },
  { flag: "shutdown-grace-ms", env: "DRUID_AGENT_SHUTDOWN_GRACE_MS", type: "string", help: "On SIGTERM, how long running tasks may finish", default: () => "30000" },
  { flag: "json", env: "DRUID_AGENT_JSON", type: "boolean", help: "Log one JSON object per line", default: () => "false" },
  { flag: "events-file", env: "DRUID_AGENT_EVENTS_FILE", type: "string", help: "Append task events (JSON lines) to this file", default: () => "" },
];

export function helpText(): string {
  const lines = [
    "druid-edge agent: runs Druid tasks for a druid-edge Overlord.",
    "",
    "usage: npm run agent -- --overlord URL --token T --capacity N --host NAME:PORT [options]",
    "",
  ];
  for (const o of OPTIONS) {
    const name = o.type === "boolean" ? `--${o.flag}` : `--${o.flag} <value>`;
    lines.push(`  ${name.padEnd(28)} ${o.help}`);
    lines.push(`  ${"".padEnd(28)} env ${o.env}; default ${o.default() || "(none)"}`);
  }
  lines.push(`  ${"--help".padEnd(28)} Print this help`);
  return lines.join("\n");
}

export class ConfigError extends Error {}

function int(value: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new ConfigError(`--${name} must be an integer from ${min} to ${max}, got [${value}]`);
  return Number(value);
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
  const get = (flag: string): string => {
    const o = OPTIONS.find((x) => x.flag === flag)!;
    const v = values[flag];
    if (v !== undefined) return String(v);
    const e = env[o.env];
    if (e !== undefined && e !== "") return e;
    return o.default();
  };
  const bool = (flag: string) => ["1", "true", "yes"].includes(get(flag).toLowerCase());
  const overlord = get("overlord");
  try {
    const u = new URL(overlord);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
  } catch {
    throw new ConfigError(`--overlord must be an http(s) URL, got [${overlord}]`);
  }
  const token = get("token");
  if (!token) throw new ConfigError("--token (or DRUID_AGENT_TOKEN) is required: the AGENT_TOKEN of druid-edge");
  const host = get("host");
  if (!/^[^\s/]+$/.test(host) || host.length > 255) throw new ConfigError(`--host must look like name:port, got [${host}]`);
  return {
    overlord: overlord.replace(/\/+$/, ""),
    token,
    capacity: int(get("capacity"), "capacity", 1, 1024),
    host,
    category: get("category"),
    version: get("version"),
    workDir: resolve(get("work-dir")),
    keepWorkDirs: bool("keep-work-dirs"),
    dataDir: resolve(get("data-dir")),
    pollTimeoutMs: int(get("poll-timeout-ms"), "poll-timeout-ms", 1, 25_000),
    shutdownGraceMs: int(get("shutdown-grace-ms"), "shutdown-grace-ms", 0, 3_600_000),
    json: bool("json"),
    eventsFile: get("events-file") || null,
  };
}
