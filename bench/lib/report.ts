/** Writes a benchmark's section into docs/benchmarks.md between markers, with machine facts. */
import { execSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
const DOC = join(ROOT, "docs/benchmarks.md");

export function machine(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const dev = { ...pkg.dependencies, ...pkg.devDependencies };
  let commit = "";
  try {
    commit = execSync("git rev-parse --short HEAD", { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {}
  return `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, wrangler ${dev.wrangler}, commit ${commit}, ${new Date().toISOString().slice(0, 16)}Z`;
}

export function writeSection(name: string, markdown: string): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  let doc = existsSync(DOC) ? readFileSync(DOC, "utf8") : "# Benchmarks\n\nEvery figure below was produced by the command above it, on the machine it names. Ratios compare runs made in the same process tree; absolute times on a shared 2-core machine are noisy.\n";
  const block = `${start}\n${markdown.trim()}\n${end}`;
  if (doc.includes(start) && doc.includes(end)) {
    doc = doc.slice(0, doc.indexOf(start)) + block + doc.slice(doc.indexOf(end) + end.length);
  } else {
    doc = doc.trimEnd() + "\n\n" + block + "\n";
  }
  writeFileSync(DOC, doc);
  console.log(`wrote ${name} results to docs/benchmarks.md`);
}
