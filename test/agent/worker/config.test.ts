/** The agent's flags and env vars: defaults, precedence (flag wins), validation, --help. */
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, helpText, loadConfig } from "../../../agent/worker/config.ts";

const base = ["--token", "t"];

describe("loadConfig", () => {
  it("has defaults for everything but the token", () => {
    const cfg = loadConfig([...base, "--host", "box-1:8091"], {})!;
    expect(cfg).toMatchObject({
      overlord: "http://127.0.0.1:8787",
      token: "t",
      capacity: 2,
      host: "box-1:8091",
      category: "_default_worker_category",
      version: "0",
      workDir: join(tmpdir(), "druid-edge-agent-box-1_8091"),
      keepWorkDirs: false,
      dataDir: process.cwd(),
      pollTimeoutMs: 20_000,
      shutdownGraceMs: 30_000,
      taskStopGraceMs: 2000,
      inlineLogBytes: 65_536,
      childRetireMb: 512,
      json: false,
      eventsFile: null,
    });
  });

  it("takes every setting from its env var, and a flag wins over it", () => {
    const env = {
      DRUID_AGENT_OVERLORD: "https://edge.example.com/",
      DRUID_AGENT_TOKEN: "from-env",
      DRUID_AGENT_CAPACITY: "8",
      DRUID_AGENT_HOST: "env-host:9000",
      DRUID_AGENT_CATEGORY: "hot",
      DRUID_AGENT_VERSION: "2",
      DRUID_AGENT_WORK_DIR: "/tmp/w",
      DRUID_AGENT_KEEP_WORK_DIRS: "true",
      DRUID_AGENT_DATA_DIR: "data",
      DRUID_AGENT_POLL_TIMEOUT_MS: "1000",
      DRUID_AGENT_SHUTDOWN_GRACE_MS: "5",
      DRUID_AGENT_CHILD_RETIRE_MB: "2048",
      DRUID_AGENT_JSON: "1",
      DRUID_AGENT_EVENTS_FILE: "/tmp/e.jsonl",
    };
    const cfg = loadConfig([], env)!;
    expect(cfg).toMatchObject({
      overlord: "https://edge.example.com",
      token: "from-env",
      capacity: 8,
      host: "env-host:9000",
      category: "hot",
      version: "2",
      workDir: "/tmp/w",
      keepWorkDirs: true,
      dataDir: resolve("data"),
      pollTimeoutMs: 1000,
      shutdownGraceMs: 5,
      childRetireMb: 2048,
      json: true,
      eventsFile: "/tmp/e.jsonl",
    });
    expect(loadConfig(["--capacity", "3", "--token", "flag"], env)).toMatchObject({ capacity: 3, token: "flag" });
    expect(loadConfig(["--token", "t"], {})).toMatchObject({ isolation: "process" });
    expect(loadConfig(["--token", "t"], { DRUID_AGENT_ISOLATION: "none" })).toMatchObject({ isolation: "none" });
  });

  it("returns null for --help, whose text names every flag and env var", () => {
    expect(loadConfig(["--help"], {})).toBeNull();
    const text = helpText();
    for (const s of ["--overlord", "DRUID_AGENT_OVERLORD", "--events-file", "DRUID_AGENT_EVENTS_FILE", "--keep-work-dirs", "default 20000"]) expect(text).toContain(s);
  });

  it.each([
    [["--capacity", "0"], "--capacity must be an integer from 1"],
    [["--capacity", "two"], "--capacity must be an integer"],
    [["--poll-timeout-ms", "30000"], "--poll-timeout-ms must be an integer from 1 to 25000"],
    [["--overlord", "ftp://x"], "--overlord must be an http(s) URL"],
    [["--host", "has space:1"], "--host must look like name:port"],
    [["--isolation", "thread"], "--isolation must be process or none, got [thread]"],
    [["--child-retire-mb", "0"], "--child-retire-mb must be an integer from 1"],
    [["--nope"], "Unknown option"],
    [["stray"], "Unexpected argument"],
  ])("rejects %j", (args, message) => {
    expect(() => loadConfig([...base, ...args], {})).toThrow(ConfigError);
    expect(() => loadConfig([...base, ...args], {})).toThrow(message);
  });

  it("requires a token", () => {
    expect(() => loadConfig([], {})).toThrow("--token (or DRUID_AGENT_TOKEN) is required");
  });

  it("rejects a boolean env var that is not one", () => {
    expect(() => loadConfig(base, { DRUID_AGENT_JSON: "maybe" })).toThrow("--json must be true or false");
  });
});
