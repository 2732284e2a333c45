/**
 * `npm run agent -- …`: builds the agent (agent/worker/cli.ts and agent/worker/child.ts, the pooled task
 * process) to plain JavaScript with esbuild, then runs it in this process. No TypeScript loader
 * stays resident in the agent or in its task processes (tsx costs ~50 MB of RSS in each), and
 * there is no build step to remember: the build takes well under a second and is cached under
 * node_modules/.cache/druid-edge-agent/<hash of the output>, written once, atomically, so
 * agents started together share it. The pure-JavaScript dependencies of the task code are
 * bundled too: loaded one module file at a time, apache-arrow alone took ~200 ms, and a task
 * process pays that on its first ingestion task (the ingestion chunk with everything in it loads
 * in ~85-115 ms). parquet-wasm stays in node_modules.
 *
 * A manifest beside the builds lists the source files of the last build with a hash of their
 * contents (and esbuild's version): when they are unchanged the agent starts from that build
 * without loading esbuild at all (faster, and ~7 MB less resident in the agent).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(import.meta.dirname, "..");
const cache = join(root, "node_modules", ".cache", "druid-edge-agent");
const manifestPath = join(cache, "manifest.json");
const esbuildVersion = createRequire(import.meta.url)("esbuild/package.json").version;

/** Hash of esbuild's version and the given source files' paths and contents (throws if one is gone). */
function sourcesKey(inputs) {
  const hash = createHash("sha256").update(esbuildVersion);
  for (const f of inputs) hash.update(f).update(readFileSync(join(root, f)));
  return hash.digest("hex");
}

/** The cached build whose sources are unchanged, or null. */
function cachedBuild() {
  try {
    const m = JSON.parse(readFileSync(manifestPath, "utf8"));
    if (typeof m.dir !== "string" || !Array.isArray(m.inputs) || !existsSync(join(cache, m.dir, "cli.mjs"))) return null;
    return sourcesKey(m.inputs) === m.key ? join(cache, m.dir) : null;
  } catch {
    return null;
  }
}

/** Packages compiled into the bundle (with what they import); every other import stays external. */
const BUNDLED_PACKAGES = new Set(["apache-arrow", "luxon", "picomatch", "hyparquet"]);

const externals = {
  name: "externals",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      const parts = args.path.split("/");
      const pkg = args.path.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
      // only bundled packages' files are ever inside node_modules here (the rest stay external)
      const insideBundledPackage = args.importer.includes("/node_modules/");
      return BUNDLED_PACKAGES.has(pkg) || insideBundledPackage ? undefined : { path: args.path, external: true };
    });
  },
};

/**
 * The files whose contents decide the build: our sources, and for a bundled package its
 * package.json (its version) rather than each of its files.
 */
function keyFiles(inputs) {
  return [...new Set(inputs.map((f) => f.replace(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\/.*$/, "$1/package.json")))].sort();
}

async function buildNow() {
  const { build, stop } = await import("esbuild");
  const result = await build({
    absWorkingDir: root,
    entryPoints: ["agent/worker/cli.ts", "agent/worker/child.ts"],
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    plugins: [externals],
    outdir: join(cache, "staging"),
    outExtension: { ".js": ".mjs" },
    write: false,
    metafile: true,
    logLevel: "warning",
  });
  stop(); // esbuild's service process must not stay beside the agent
  const hash = createHash("sha256");
  for (const f of result.outputFiles) hash.update(f.path).update(f.contents);
  const name = hash.digest("hex").slice(0, 16);
  const dir = join(cache, name);
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
  const inputs = keyFiles(Object.keys(result.metafile.inputs));
  const tmpManifest = `${manifestPath}.tmp-${process.pid}`;
  writeFileSync(tmpManifest, JSON.stringify({ dir: name, inputs, key: sourcesKey(inputs) }));
  renameSync(tmpManifest, manifestPath);
  return dir;
}

const dir = cachedBuild() ?? (await buildNow());
await import(pathToFileURL(join(dir, "cli.mjs")).href);
