/**
 * bench:coordinator's seeded local D1: `dataSources × days` used segments shaped like
 * bench/coordinator-view.ts (day intervals from 2000-01-01 at a v1 version, one per 30 days, and
 * every 9th day re-ingested at a newer version that overshadows its v1 segment: ~10 % of all
 * segments are overshadowed), as rows of the `segments` table (migrations/0002 + 0004) with
 * Druid's DataSegment JSON payload and Druid's segment id.
 *
 * Seeding a million rows through the HTTP API would take far too long, so the rows are generated
 * by SQL inside SQLite (a recursive CTE per data source, no row crosses a process boundary) and
 * run with `wrangler d1 execute DB --local --file` — wrangler is all it needs, no SQLite binding
 * or CLI. The seeded persist directory is cached under bench/.out/ (git-ignored), keyed by the
 * parameters and by the migrations (a new migration re-seeds); each run works on a copy.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { applyMigrations } from "../../test/support/node/cluster.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
const CACHE = join(ROOT, "bench/.out/coordinator-seed");
const DAY = 86_400_000;
const T0 = Date.UTC(2000, 0, 1);

export interface SeedShape {
  dataSources: number;
  days: number;
}

export interface SeedInfo extends SeedShape {
  segments: number;
  overshadowed: number;
  seededMs: number;
  /** Average bytes of a payload (DataSegment JSON). */
  payloadBytes: number;
}

/** Druid's id of the v1 segment of `day` in data source `d` (as formatSegmentId writes it). */
export function v1SegmentId(d: number, day: number): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  const start = T0 + day * DAY;
  const month = Math.floor(day / 30);
  const version = `2024-01-${String(1 + (month % 28)).padStart(2, "0")}T00:00:${String(month % 60).padStart(2, "0")}.${String(month).padStart(3, "0")}Z`;
  return `datasource_${d}_${iso(start)}_${iso(start + DAY)}_${version}`;
}

export const dataSourceName = (d: number) => `datasource_${d}`;

/** Segments and overshadowed segments of a shape. */
export function seedCounts(s: SeedShape): { segments: number; overshadowed: number } {
  const reingested = Math.ceil(s.days / 9);
  return { segments: s.dataSources * (s.days + reingested), overshadowed: s.dataSources * reingested };
}

/**
 * One INSERT … SELECT per data source. Versions are those of bench/coordinator-view.ts;
 * change_seq is unique and grows in publish order within a data source, as the Overlord writes it
 * (one value per inserted row).
 */
function seedSql(d: number, days: number): string {
  const ds = dataSourceName(d);
  const base = d * 2 * days;
  return `INSERT INTO segments (id, datasource, created_date, start_ms, end_ms, partitioned, version, partition_num, used, used_status_last_updated, task_id, num_rows, payload, size, core_partitions, change_seq)
WITH RECURSIVE day(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM day WHERE n < ${days - 1}),
seg(n, start_ms, version, size, seq) AS (
  SELECT n, ${T0} + n * ${DAY}, printf('2024-01-%02dT00:00:%02d.%03dZ', 1 + (n / 30) % 28, (n / 30) % 60, n / 30), 500000000 + n, ${base + 1} + 2 * n FROM day
  UNION ALL
  SELECT n, ${T0} + n * ${DAY}, printf('2025-06-01T00:00:00.%03dZ', n % 1000), 400000000, ${base + 2} + 2 * n FROM day WHERE n % 9 = 0),
iso(start_ms, version, size, seq, s, e) AS (
  SELECT start_ms, version, size, seq, strftime('%Y-%m-%dT%H:%M:%fZ', start_ms / 1000, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%fZ', (start_ms + ${DAY}) / 1000, 'unixepoch') FROM seg)
SELECT '${ds}_' || s || '_' || e || '_' || version, '${ds}', '2025-06-01T00:00:00.000Z', start_ms, start_ms + ${DAY}, 1, version, 0, 1, '2025-06-01T00:00:00.000Z', NULL, 100000,
  json_object('dataSource', '${ds}', 'interval', s || '/' || e, 'version', version,
    'loadSpec', json_object('type', 'r2', 'key', 'segments/${ds}/' || s || '_' || e || '/' || version || '/0/index.parquet'),
    'dimensions', 'channel,cityName,comment,countryIsoCode,countryName,isAnonymous,isMinor,isNew,isRobot,isUnpatrolled,namespace,page,regionIsoCode,regionName,user',
    'metrics', 'count,added,deleted,delta',
    'shardSpec', json_object('type', 'numbered', 'partitionNum', 0, 'partitions', 1), 'binaryVersion', 9, 'size', size,
    'identifier', '${ds}_' || s || '_' || e || '_' || version),
  size, 1, seq
FROM iso;`;
}

function wranglerD1(persistDir: string, args: string[]): string {
  const r = spawnSync(WRANGLER, ["d1", "execute", "DB", "--local", "--persist-to", persistDir, "--json", ...args], {
    cwd: ROOT,
    env: { ...process.env, CI: "true" },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`wrangler d1 execute failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

function migrationsKey(): string {
  const dir = join(ROOT, "migrations");
  const h = createHash("sha1");
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".sql")).sort()) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest("hex").slice(0, 10);
}

/** The cached seeded persist dir for `shape` (seeded now if missing), and what it holds. */
export function seededState(shape: SeedShape, log: (line: string) => void): { dir: string; info: SeedInfo } {
  const key = `${shape.dataSources}x${shape.days}-${migrationsKey()}`;
  const dir = join(CACHE, key);
  const infoFile = join(dir, "seed.json");
  if (existsSync(infoFile)) return { dir, info: JSON.parse(readFileSync(infoFile, "utf8")) as SeedInfo };
  // stale seeds (other migrations or shapes) take a GB each at the default size
  if (existsSync(CACHE)) for (const old of readdirSync(CACHE)) rmSync(join(CACHE, old), { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { segments, overshadowed } = seedCounts(shape);
  log(`seeding ${segments.toLocaleString("en-US")} segments into local D1 at ${dir} (cached for later runs)…`);
  const t0 = performance.now();
  applyMigrations(dir);
  const PER_FILE = 10;
  for (let d = 0; d < shape.dataSources; d += PER_FILE) {
    const file = join(dir, "seed.sql");
    const statements: string[] = [];
    for (let k = d; k < Math.min(shape.dataSources, d + PER_FILE); k++) statements.push(seedSql(k, shape.days));
    writeFileSync(file, statements.join("\n"));
    wranglerD1(dir, ["--file", file]);
    rmSync(file);
    log(`  ${Math.min(shape.dataSources, d + PER_FILE)}/${shape.dataSources} data sources (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const out = JSON.parse(wranglerD1(dir, ["--command", "SELECT COUNT(*) AS n, AVG(LENGTH(payload)) AS payload FROM segments WHERE used = 1"]));
  const row = out[0].results[0] as { n: number; payload: number };
  if (row.n !== segments) throw new Error(`seeded ${row.n} segments, expected ${segments}`);
  const info: SeedInfo = { ...shape, segments, overshadowed, seededMs: performance.now() - t0, payloadBytes: Math.round(row.payload) };
  writeFileSync(infoFile, JSON.stringify(info, null, 2));
  log(`seeded in ${(info.seededMs / 1000).toFixed(0)} s (payload ${info.payloadBytes} B on average)`);
  return { dir, info };
}

/** A working copy of the seeded state (the run marks segments, the cache stays as seeded). */
export function copySeed(from: string, to: string): number {
  const t0 = performance.now();
  cpSync(join(from, "v3"), join(to, "v3"), { recursive: true });
  return performance.now() - t0;
}
