import { describe, expect, it } from "vitest";
import { planAggregators } from "../../../../agent/worker/ingest/aggregators.ts";
import { DimensionRegistry, IncrementalIndex } from "../../../../agent/worker/ingest/incrementalIndex.ts";
import { ingest, jsonl } from "./helpers.ts";

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("rollup against a reference implementation", () => {
  it("matches a straightforward group-by on random rows (nulls, numbers, multi-values)", async () => {
    const rand = rng(7);
    const pick = <T,>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
    const rows = Array.from({ length: 4000 }, () => ({
      timestamp: Date.UTC(2024, 0, 1) + Math.floor(rand() * 6 * 3600_000),
      a: pick(["x", "y", "z", null, ""]),
      n: pick([1, 2, -0, 0, null, 2.5]),
      tags: pick([["p", "q"], ["q", "p"], ["p"], "p", null, []]),
      v: pick([1, 2, 3, null]),
    }));
    const r = await ingest(jsonl(rows), {
      dataSchema: {
        timestampSpec: { column: "timestamp", format: "millis" },
        dimensionsSpec: { dimensions: ["a", { name: "n", type: "double" }, "tags"] },
        metricsSpec: [{ type: "count", name: "count" }, { type: "longSum", name: "v", fieldName: "v" }],
        granularitySpec: { segmentGranularity: "day", queryGranularity: "hour", rollup: true },
      },
    });

    const norm = (t: unknown) => (Array.isArray(t) ? (t.length === 0 ? null : t.length === 1 ? t[0] : [...t].sort()) : t);
    const groups = new Map<string, { __time: number; a: unknown; n: unknown; tags: unknown; count: number; v: number | null }>();
    for (const x of rows) {
      const __time = Math.floor(x.timestamp / 3600_000) * 3600_000;
      const n = x.n === null ? null : x.n === 0 ? 0 : x.n;
      const key = JSON.stringify([__time, x.a, n, norm(x.tags)]);
      const g = groups.get(key) ?? { __time, a: x.a, n, tags: norm(x.tags), count: 0, v: null };
      g.count++;
      if (x.v !== null) g.v = (g.v ?? 0) + x.v;
      groups.set(key, g);
    }
    const byKey = (o: Record<string, unknown>) => JSON.stringify([o.__time, o.a, o.n, o.tags]);
    const expected = [...groups.values()].sort((p, q) => (byKey(p) < byKey(q) ? -1 : 1));
    const actual = r.rows.map((x) => ({ ...x, tags: Array.isArray(x.tags) && x.tags.length === 1 ? x.tags[0] : x.tags })).sort((p, q) => (byKey(p) < byKey(q) ? -1 : 1));
    expect(actual).toEqual(expected);
    expect(r.rowStats.processed).toBe(4000);
  });
});

describe("IncrementalIndex", () => {
  it("keeps rows apart whose keys collide in the hash", () => {
    const registry = new DimensionRegistry([{ name: "a", type: "string", multiValueHandling: "SORTED_ARRAY" }]);
    const aggs = planAggregators([{ type: "count", name: "n" }]);
    const index = new IncrementalIndex({ start: 0, end: 10 }, registry, aggs, true);
    (index as unknown as { hashOf: () => number }).hashOf = () => 1; // every row collides
    const dict = registry.dictionaries[0]!;
    for (const v of ["x", "y", "x", "z", "y", "x"]) index.add({ time: 0, codes: [dict.idOf(v)], metrics: [null] });
    index.add({ time: 5, codes: [dict.idOf("x")], metrics: [null] });
    const rows = Array.from(index.sortedOrder(), (r) => [index.times.data[r], dict.value(index.code(0, r)), index.metric(0, r)]);
    expect(rows).toEqual([[0, "x", 3], [0, "y", 2], [0, "z", 1], [5, "x", 1]]);
  });
});
