import { applyD1Migrations, env } from "cloudflare:test";
import { beforeEach } from "vitest";
import { isolatedPerTest, useOverlord } from "./helpers.ts";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

const tables = (
  await env.DB.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations'`).all<{ name: string }>()
).results.map((r) => r.name);
let n = 0;

// Every test: empty tables and an Overlord object of its own (one that has never started);
// files that share state across their tests keep the default object and their tables.
beforeEach(async () => {
  if (!isolatedPerTest()) return;
  await env.DB.batch(tables.map((t) => env.DB.prepare(`DELETE FROM "${t}"`)));
  useOverlord(`overlord-test-${++n}-${crypto.randomUUID()}`);
});
