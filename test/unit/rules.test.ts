import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  appliesTo, DEFAULT_RULES, effectiveRules, MAX_RULES, parseRules, RULE_TYPES, ruleAction, ruleFor, rulesSchema, type Rule,
} from "../../src/coordinator/rules.ts";
import { DruidError } from "../../src/shared/errors.ts";
import { parseInterval, type Interval } from "../../src/shared/intervals.ts";

/** The DruidError a call throws (fails the test when it does not throw a 400). */
function refusal(fn: () => unknown): DruidError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DruidError);
    expect((err as DruidError).status).toBe(400);
    return err as DruidError;
  }
  throw new Error("expected a refusal");
}

const iv = (text: string): Interval => parseInterval(text);
const rules = (...input: unknown[]): Rule[] => parseRules(input);
const rule = (input: unknown): Rule => parseRules([input])[0]!;
const NOW = Date.parse("2024-06-15T12:00:00.000Z");

describe("a rule list is read with Druid's field names and defaults", () => {
  it("accepts every rule type and fills Druid's defaults", () => {
    expect(rules(
      { type: "loadForever" },
      { type: "loadByInterval", interval: "2012-01-01/2013-01-01", tieredReplicants: { hot: 1, _default_tier: 1 } },
      { type: "loadByPeriod", period: "P1M" },
      { type: "dropForever" },
      { type: "dropByInterval", interval: "2012-01-01/P1Y" },
      { type: "dropByPeriod", period: "P1M" },
      { type: "dropBeforeByPeriod", period: "P1M" },
      { type: "broadcastForever" },
      { type: "broadcastByInterval", interval: "2012-01-01T00:00:00Z/2012-02-01T00:00:00Z" },
      { type: "broadcastByPeriod", period: "PT6H" },
    )).toEqual([
      { type: "loadForever", tieredReplicants: { _default_tier: 2 }, useDefaultTierForNull: true },
      { type: "loadByInterval", interval: "2012-01-01T00:00:00.000Z/2013-01-01T00:00:00.000Z", tieredReplicants: { hot: 1, _default_tier: 1 }, useDefaultTierForNull: true },
      { type: "loadByPeriod", period: "P1M", includeFuture: true, tieredReplicants: { _default_tier: 2 }, useDefaultTierForNull: true },
      { type: "dropForever" },
      { type: "dropByInterval", interval: "2012-01-01T00:00:00.000Z/2013-01-01T00:00:00.000Z" },
      { type: "dropByPeriod", period: "P1M", includeFuture: true },
      { type: "dropBeforeByPeriod", period: "P1M" },
      { type: "broadcastForever" },
      { type: "broadcastByInterval", interval: "2012-01-01T00:00:00.000Z/2012-02-01T00:00:00.000Z" },
      { type: "broadcastByPeriod", period: "PT6H", includeFuture: true },
    ]);
    expect(RULE_TYPES).toHaveLength(10);
  });

  it("keeps includeFuture false, and null reads as Druid's default (true)", () => {
    expect(rule({ type: "loadByPeriod", period: "P1M", includeFuture: false })).toMatchObject({ includeFuture: false });
    expect(rule({ type: "dropByPeriod", period: "P1M", includeFuture: false })).toMatchObject({ includeFuture: false });
    expect(rule({ type: "broadcastByPeriod", period: "P1M", includeFuture: null })).toMatchObject({ includeFuture: true });
  });

  it("defaults tieredReplicants by useDefaultTierForNull, and keeps an empty map or zero replicas as given", () => {
    expect(rule({ type: "loadForever", tieredReplicants: null })).toMatchObject({ tieredReplicants: { _default_tier: 2 } });
    expect(rule({ type: "loadForever", useDefaultTierForNull: false })).toEqual({ type: "loadForever", tieredReplicants: {}, useDefaultTierForNull: false });
    expect(rule({ type: "loadForever", tieredReplicants: {} })).toMatchObject({ tieredReplicants: {} });
    expect(rule({ type: "loadForever", tieredReplicants: { cold: 0 } })).toMatchObject({ tieredReplicants: { cold: 0 } });
  });

  it("drops unknown fields, as Druid's mapper ignores them", () => {
    expect(rule({ type: "dropForever", period: "P1M", comment: "x" })).toEqual({ type: "dropForever" });
  });

  it("has Druid's seeded default rule, and an empty list is fine except for _default", () => {
    expect(DEFAULT_RULES).toEqual([{ type: "loadForever", tieredReplicants: { _default_tier: 2 }, useDefaultTierForNull: true }]);
    expect(DEFAULT_RULES).toEqual(rules({ type: "loadForever" }));
    expect(parseRules([], "wiki")).toEqual([]);
    expect(refusal(() => parseRules([], "_default")).message).toBe("Cluster-level rules cannot be empty.");
  });

  it("is usable as a plain zod schema", () => {
    expect(rulesSchema.safeParse([{ type: "dropForever" }]).success).toBe(true);
    expect(rulesSchema.safeParse([{ type: "nope" }]).success).toBe(false);
  });
});

describe("a bad rule list is a 400 naming the field", () => {
  it.each([
    ["an unknown type", [{ type: "loadSometimes" }], /^Invalid rules\[0\]\.type \[loadSometimes\]: unknown rule type; known type ids = \[loadForever, .*broadcastByPeriod\]$/],
    ["a missing type", [{ period: "P1M" }], /^Invalid rules\[0\]\.type: a rule needs a \[type\]/],
    ["a bad period", [{ type: "dropForever" }, { type: "loadByPeriod", period: "P1X" }], /^Invalid rules\[1\]\.period \[P1X\]: not an ISO-8601 period/],
    ["a missing period", [{ type: "dropBeforeByPeriod" }], /^Invalid rules\[0\]\.period: /],
    ["an empty interval", [{ type: "dropByInterval", interval: "2020-01-01/2020-01-01" }], /^Invalid rules\[0\]\.interval \[2020-01-01\/2020-01-01\]: the interval is empty/],
    ["a reversed interval", [{ type: "loadByInterval", interval: "2021-01-01/2020-01-01" }], /^Invalid rules\[0\]\.interval \[.*\]: end is before start/],
    ["a negative replica count", [{ type: "loadForever", tieredReplicants: { hot: -1 } }], /^Invalid rules\[0\]\.tieredReplicants\.hot \[-1\]: invalid number of replicas for tier \[hot\], must be a non-negative integer$/],
    ["a fractional replica count", [{ type: "loadByPeriod", period: "P1D", tieredReplicants: { hot: 1.5 } }], /^Invalid rules\[0\]\.tieredReplicants\.hot \[1\.5\]/],
    ["a replica count as a string", [{ type: "loadForever", tieredReplicants: { hot: "2" } }], /^Invalid rules\[0\]\.tieredReplicants\.hot \[2\]/],
    ["a null replica count", [{ type: "loadForever", tieredReplicants: { hot: null } }], /^Invalid rules\[0\]\.tieredReplicants\.hot \[null\]/],
    ["replicants that are not a map", [{ type: "loadForever", tieredReplicants: [2] }], /^Invalid rules\[0\]\.tieredReplicants \[\[2\]\]/],
    ["a tier name that is too long", [{ type: "loadForever", tieredReplicants: { ["t".repeat(256)]: 1 } }], /a tier name has 1 to 255 characters/],
    ["too many tiers", [{ type: "loadForever", tieredReplicants: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`t${i}`, 1])) }], /^Invalid rules\[0\]\.tieredReplicants \[101 tiers\]: at most \[100\] tiers/],
    ["too many rules", Array.from({ length: MAX_RULES + 1 }, () => ({ type: "dropForever" })), /^Invalid rules: at most \[1000\] rules per list$/],
    ["a body that is not a list", { type: "dropForever" }, /^Invalid rules: /],
  ])("refuses %s", (_, input, message) => {
    expect(refusal(() => parseRules(input)).message).toMatch(message);
  });
});

describe("the matcher follows Druid's rule classes", () => {
  const matches = (r: Rule, segment: string) => appliesTo(r, iv(segment), NOW);

  it("loadByPeriod P1M then dropForever keeps last month's segments and drops older ones", () => {
    const list = rules({ type: "loadByPeriod", period: "P1M" }, { type: "dropForever" });
    const action = (segment: string) => ruleAction(ruleFor(list, iv(segment), NOW)!);
    expect(action("2024-06-01/2024-06-02")).toBe("load");
    expect(action("2024-05-15/2024-05-16")).toBe("load"); // overlaps [2024-05-15T12:00, now)
    expect(action("2024-05-14/2024-05-15T12:00:00Z")).toBe("drop"); // ends where the period starts
    expect(action("2023-01-01/2023-01-02")).toBe("drop");
    expect(action("2024-07-01/2024-07-02")).toBe("load"); // future, includeFuture defaults to true
  });

  it("loadByPeriod without includeFuture does not match a segment at or after now", () => {
    const past = rule({ type: "loadByPeriod", period: "P1M", includeFuture: false });
    const future = rule({ type: "loadByPeriod", period: "P1M", includeFuture: true });
    expect(matches(past, "2024-07-01/2024-07-02")).toBe(false);
    expect(matches(future, "2024-07-01/2024-07-02")).toBe(true);
    expect(matches(past, "2024-06-15T12:00:00Z/2024-06-15T13:00:00Z")).toBe(false);
    expect(matches(past, "2024-06-15/2024-06-16")).toBe(true); // straddles now
    const broadcast = rule({ type: "broadcastByPeriod", period: "P1M", includeFuture: false });
    expect(matches(broadcast, "2024-07-01/2024-07-02")).toBe(false);
  });

  it("dropByPeriod matches segments inside the period (from its start onwards with includeFuture)", () => {
    const withFuture = rule({ type: "dropByPeriod", period: "P1D" });
    const noFuture = rule({ type: "dropByPeriod", period: "P1D", includeFuture: false });
    expect(matches(withFuture, "2024-06-14T12:00:00Z/2024-06-14T13:00:00Z")).toBe(true); // starts at now − P1D
    expect(matches(withFuture, "2024-06-14/2024-06-15")).toBe(false); // starts before the period
    expect(matches(withFuture, "2025-01-01/2025-01-02")).toBe(true);
    expect(matches(noFuture, "2024-06-15T11:00:00Z/2024-06-15T12:00:00Z")).toBe(true); // ends at now
    expect(matches(noFuture, "2024-06-15/2024-06-16")).toBe(false); // not contained: ends after now
    expect(matches(noFuture, "2025-01-01/2025-01-02")).toBe(false);
  });

  it("dropBeforeByPeriod P1M then loadForever drops what ends by now − P1M and keeps the rest", () => {
    const list = rules({ type: "dropBeforeByPeriod", period: "P1M" }, { type: "loadForever" });
    const action = (segment: string) => ruleAction(ruleFor(list, iv(segment), NOW)!);
    expect(action("2024-05-14/2024-05-15T12:00:00Z")).toBe("drop");
    expect(action("2024-05-15/2024-05-16")).toBe("load");
    expect(action("2020-01-01/2020-02-01")).toBe("drop");
    expect(action("2030-01-01/2030-02-01")).toBe("load");
  });

  it("dropBeforeByPeriod + loadForever decides as loadByPeriod(includeFuture) + dropForever (Druid's docs)", () => {
    const a = rules({ type: "dropBeforeByPeriod", period: "P1M" }, { type: "loadForever" });
    const b = rules({ type: "loadByPeriod", period: "P1M" }, { type: "dropForever" });
    fc.assert(fc.property(fc.integer({ min: -400, max: 400 }), fc.integer({ min: 1, max: 40 * 24 }), (startH, hours) => {
      const segment = { start: NOW + startH * 3_600_000, end: NOW + startH * 3_600_000 + hours * 3_600_000 };
      expect(ruleAction(ruleFor(a, segment, NOW)!)).toBe(ruleAction(ruleFor(b, segment, NOW)!));
    }), { numRuns: 500 });
  });

  it("subtracts periods as Joda does: months clamp the day, years before months", () => {
    const m = rule({ type: "dropBeforeByPeriod", period: "P1M" });
    const endOfMarch = Date.parse("2024-03-31T00:00:00Z");
    expect(appliesTo(m, iv("2024-02-28/2024-02-29"), endOfMarch)).toBe(true); // now − P1M = 2024-02-29
    expect(appliesTo(m, iv("2024-02-28/2024-03-01"), endOfMarch)).toBe(false);
    const ym = rule({ type: "dropBeforeByPeriod", period: "P1Y1M" });
    const leapDay = Date.parse("2024-02-29T00:00:00Z");
    expect(appliesTo(ym, iv("2023-01-27/2023-01-28"), leapDay)).toBe(true); // 2023-02-28, then 2023-01-28
    expect(appliesTo(ym, iv("2023-01-28/2023-01-29"), leapDay)).toBe(false);
    expect(appliesTo(rule({ type: "dropBeforeByPeriod", period: "P100000Y" }), iv("2020/2021"), NOW)).toBe(false);
  });

  it("load and broadcast by interval match an overlap; drop by interval needs containment", () => {
    const load = rule({ type: "loadByInterval", interval: "2012-01-01/2013-01-01" });
    const broadcast = rule({ type: "broadcastByInterval", interval: "2012-01-01/2013-01-01" });
    const drop = rule({ type: "dropByInterval", interval: "2012-01-01/2013-01-01" });
    const cases: [string, boolean, boolean][] = [
      // segment, overlaps, contained
      ["2011-12-31/2012-01-01", false, false], // touches the start
      ["2013-01-01/2013-01-02", false, false], // touches the end
      ["2012-01-01/2012-01-02", true, true],
      ["2012-12-31/2013-01-01", true, true],
      ["2011-12-31/2012-01-02", true, false],
      ["2012-12-31/2013-01-02", true, false],
      ["2011-01-01/2014-01-01", true, false],
    ];
    for (const [segment, overlaps, contained] of cases) {
      expect([segment, matches(load, segment), matches(broadcast, segment), matches(drop, segment)]).toEqual([segment, overlaps, overlaps, contained]);
    }
  });

  it("forever rules match everything", () => {
    for (const type of ["loadForever", "dropForever", "broadcastForever"]) expect(matches(rule({ type }), "1000-01-01/3000-01-01")).toBe(true);
  });
});

describe("rules are tried in order: the data source's, then _default's", () => {
  const byDataSource = {
    wiki: rules({ type: "loadByPeriod", period: "P7D", tieredReplicants: { hot: 1 } }),
    _default: rules({ type: "loadByPeriod", period: "P1M", tieredReplicants: { _default_tier: 1 } }, { type: "dropForever" }),
  };

  it("takes the first rule that applies", () => {
    const list = effectiveRules(byDataSource, "wiki");
    expect(list.map((r) => r.type)).toEqual(["loadByPeriod", "loadByPeriod", "dropForever"]);
    expect(ruleFor(list, iv("2024-06-14/2024-06-15"), NOW)).toBe(byDataSource.wiki[0]);
    expect(ruleFor(list, iv("2024-06-01/2024-06-02"), NOW)).toBe(byDataSource._default[0]);
    expect(ruleFor(list, iv("2024-01-01/2024-01-02"), NOW)).toBe(byDataSource._default[1]);
  });

  it("answers null when no rule applies", () => {
    expect(ruleFor(rules({ type: "loadByInterval", interval: "2012/2013" }), iv("2020/2021"), NOW)).toBeNull();
    expect(ruleFor([], iv("2020/2021"), NOW)).toBeNull();
  });

  it("reads _default as Druid's default rule until one is stored, and lists _default twice for _default (as Druid's ?full)", () => {
    expect(effectiveRules({}, "wiki")).toEqual(DEFAULT_RULES);
    expect(effectiveRules({ wiki: [] }, "constructor")).toEqual(DEFAULT_RULES);
    expect(effectiveRules(byDataSource, "other")).toEqual(byDataSource._default);
    expect(effectiveRules(byDataSource, "_default")).toEqual([...byDataSource._default, ...byDataSource._default]);
  });
});
