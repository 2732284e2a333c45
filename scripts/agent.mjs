/**
 * `npm run agent -- …`: builds the agent (agent/cli.ts and agent/child.ts, the pooled task
 * process) to plain JavaScript with esbuild, then runs it in this process. No TypeScript loader
 * stays resident in the agent or in its task processes (tsx costs ~50 MB of RSS in each), and
 * there is no build step to remember: the build takes well under a second and is cached under
 * node_modules/.cache/druid-edge-agent/<hash of the output>, written once, atomically, so
 * agents started together share it. Dependencies stay in node_modules (not bundled).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build, stop } from "esbuild";

const root = resolve(import.meta.dirname, "..");
const cache = join(root, "node_modules", ".cache", "druid-edge-agent");

const result = await build({
  absWorkingDir: root,
  entryPoints: ["agent/cli.ts", "agent/child.ts"],
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  outdir: join(cache, "staging"),
  outExtension: { ".js": ".mjs" },
  write: false,
  logLevel: "warning",
});
stop(); // esbuild's service process must not stay beside the agent
const hash = createHash("sha256");
for (const f of result.outputFiles) hash.update(f.path).update(f.contents);
const dir = join(cache, hash.digest("hex").slice(0, 16));
if (!existsSync(dir)) {
  const tmp = `${dir}.tmp-${process.pid}`;
  for (const f of result.outputFiles) {
    const to = join(tmp, relative(join(cache, "staging"), f.path));
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(to, f.contents);
  }
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another agent got there first: same content
  }
}
await import(pathToFileURL(join(dir, "cli.mjs")).href);
