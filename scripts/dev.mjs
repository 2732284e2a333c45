#!/usr/bin/env node
// `npm run dev`: local druid-edge in one command.
//  1. creates .dev.vars with random ADMIN_TOKEN / AGENT_TOKEN when it is missing;
//  2. applies the D1 migrations to the local database;
//  3. starts `wrangler dev` on 127.0.0.1:${PORT:-8787} and, unless --no-agent (or
//     DRUID_DEV_AGENT=0), one local worker agent with capacity 2;
//  4. Ctrl-C stops both (each in its own process group, so workerd is not orphaned).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: process.env.PORT ?? "8787" },
    "no-agent": { type: "boolean", default: process.env.DRUID_DEV_AGENT === "0" },
    "agent-capacity": { type: "string", default: process.env.DRUID_DEV_AGENT_CAPACITY ?? "2" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("npm run dev -- [--port 8787] [--no-agent] [--agent-capacity 2]\n  env: PORT, DRUID_DEV_AGENT=0, DRUID_DEV_AGENT_CAPACITY");
  process.exit(0);
}

const root = resolve(import.meta.dirname, "..");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
const varsPath = resolve(root, ".dev.vars");
if (!existsSync(varsPath)) {
  // hex: a token may not start with "-" (a flag parser would take `--token -x…` for two flags)
  const token = () => randomBytes(24).toString("hex");
  writeFileSync(varsPath, `ADMIN_TOKEN=${token()}\nAGENT_TOKEN=${token()}\n`, { mode: 0o600 });
  console.log(`[dev] created ${varsPath} with a random ADMIN_TOKEN and AGENT_TOKEN`);
}
const vars = Object.fromEntries(
  readFileSync(varsPath, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#") && l.includes("="))
    .map((l) => [l.slice(0, l.indexOf("=")).trim(), l.slice(l.indexOf("=") + 1).trim().replace(/^"(.*)"$/, "$1")]),
);
console.log(`[dev] credentials: ${varsPath} (ADMIN_TOKEN for operators, AGENT_TOKEN for agents)`);

const wrangler = resolve(root, "node_modules/.bin/wrangler");
const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local"], { cwd: root, env: { ...env, CI: "true" }, stdio: "inherit" });
if (migrate.status !== 0) {
  console.error("[dev] applying D1 migrations failed");
  process.exit(1);
}

const children = [];
function start(cmd, args, name) {
  const child = spawn(cmd, args, { cwd: root, env, stdio: "inherit", detached: true });
  children.push(child);
  child.on("exit", (code, signal) => {
    if (!stopping) {
      console.error(`[dev] ${name} exited (${signal ?? code}); stopping`);
      stop(code ?? 1);
    }
  });
  return child;
}

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) {
    try {
      process.kill(-c.pid, "SIGTERM");
    } catch {}
  }
  setTimeout(() => {
    for (const c of children) {
      try {
        process.kill(-c.pid, "SIGKILL");
      } catch {}
    }
    process.exit(code);
  }, 5000).unref();
  Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.on("exit", r))))).then(() => process.exit(code));
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

const port = values.port;
const url = `http://127.0.0.1:${port}`;
start(wrangler, ["dev", "--ip", "127.0.0.1", "--port", port, "--inspector-port", "0", "--log-level", "warn"], "wrangler dev");

if (!values["no-agent"]) {
  const deadline = Date.now() + 60_000;
  while (!stopping && Date.now() < deadline) {
    try {
      const r = await fetch(`${url}/status/health`);
      if (r.ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!stopping) {
    console.log(`[dev] druid-edge at ${url}; starting a local agent (capacity ${values["agent-capacity"]})`);
    // as `npm run agent` does: built to plain JS, no launcher process between us and the agent
    start(
      process.execPath,
      ["scripts/agent.mjs", "--overlord", url, `--token=${vars.AGENT_TOKEN ?? ""}`, "--capacity", values["agent-capacity"], "--host", "local-agent:8091"],
      "agent",
    );
  }
}
