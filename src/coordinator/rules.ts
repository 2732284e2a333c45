/**
 * Druid's retention rules (load, drop, broadcast): the JSON of a rule list with Druid's field
 * names and defaults (`rulesSchema`, `parseRules`), Druid's cluster default rule, and the pure
 * matcher the Coordinator's rule duty runs per segment — the first rule of the data source's
 * list, then `_default`'s, that applies to the segment's interval at a given instant.
 * Semantics follow Druid's server/.../coordinator/rules/*.java (the file is named at each rule).
 */
import { DateTime, type Duration } from "luxon";
import { z } from "zod";
import { invalidInput } from "../shared/errors.ts";
import { formatInterval, MIN_INSTANT, parseInterval, parsePeriod, type Interval } from "../shared/intervals.ts";

/** The data source name the cluster-wide rules are stored under (`druid.manager.rules.defaultRule`). */
export const DEFAULT_RULES_KEY = "_default";
/** DruidServer.DEFAULT_TIER and DEFAULT_NUM_REPLICANTS. */
export const DEFAULT_TIER = "_default_tier";
export const DEFAULT_NUM_REPLICANTS = 2;
/** Our bounds (Druid has none): rules per list, tiers per load rule, characters per tier name. */
export const MAX_RULES = 1000;
export const MAX_TIERS = 100;
export const MAX_TIER_NAME = 255;
const MAX_INT = 2_147_483_647; // a Java Integer

/** Rule.java's subtypes, less this snapshot's loadPartial* rules (partial loading is not supported). */
export const RULE_TYPES = [
  "loadForever", "loadByInterval", "loadByPeriod",
  "dropForever", "dropByInterval", "dropByPeriod", "dropBeforeByPeriod",
  "broadcastForever", "broadcastByInterval", "broadcastByPeriod",
] as const;
export type RuleType = (typeof RULE_TYPES)[number];

const show = (v: unknown) => {
  const s = typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
};

/** Messages are `[value]: reason`; parseRules prefixes them with the field's path. */
const periodField = z.string().superRefine((text, ctx) => {
  try {
    parsePeriod(text);
  } catch {
    ctx.addIssue({ code: "custom", message: `[${show(text)}]: not an ISO-8601 period (e.g. P1M, P7D, PT6H)` });
  }
});

/** Stored in Druid's canonical form (`2012-01-01T00:00:00.000Z/2013-01-01T00:00:00.000Z`); empty intervals are refused. */
const intervalField = z.string().max(200).transform((text, ctx) => {
  try {
    return formatInterval(parseInterval(text, "interval"));
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message.replace(/^Invalid interval /, "") });
    return z.NEVER;
  }
});

/** A null `includeFuture` is Druid's default (true), as in Period*Rule's constructors. */
const includeFuture = z.boolean().nullish().transform((v) => v ?? true);

/**
 * tier → replica count, each a non-negative integer (LoadRule.validateTieredReplicants; 0 keeps the
 * segment used but loaded nowhere). An empty map is allowed, as in Druid. Absent or null means
 * the default, decided by `useDefaultTierForNull` in loadFields.
 */
const tieredReplicants = z.unknown().transform((v, ctx): Record<string, number> | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) {
    ctx.addIssue({ code: "custom", message: `[${show(v)}]: expected an object of tier name to number of replicas` });
    return z.NEVER;
  }
  const entries = Object.entries(v);
  if (entries.length > MAX_TIERS) ctx.addIssue({ code: "custom", message: `[${entries.length} tiers]: at most [${MAX_TIERS}] tiers per rule` });
  for (const [tier, n] of entries) {
    if (tier.length === 0 || tier.length > MAX_TIER_NAME) {
      ctx.addIssue({ code: "custom", path: [tier], message: `[${show(tier)}]: a tier name has 1 to ${MAX_TIER_NAME} characters` });
    } else if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > MAX_INT) {
      ctx.addIssue({ code: "custom", path: [tier], message: `[${show(n)}]: invalid number of replicas for tier [${show(tier)}], must be a non-negative integer` });
    }
  }
  return Object.fromEntries(entries) as Record<string, number>; // own keys only, whatever their names
}).optional();

/** LoadRule: absent tieredReplicants → {"_default_tier": 2} when useDefaultTierForNull (default true), else {}. */
const loadFields = { tieredReplicants, useDefaultTierForNull: z.boolean().nullish() };
function loadDefaults(o: { tieredReplicants?: Record<string, number> | undefined; useDefaultTierForNull?: boolean | null | undefined }) {
  const useDefaultTierForNull = o.useDefaultTierForNull ?? true;
  const replicants = o.tieredReplicants ?? (useDefaultTierForNull ? { [DEFAULT_TIER]: DEFAULT_NUM_REPLICANTS } : {});
  return { tieredReplicants: replicants, useDefaultTierForNull };
}

// Output key order follows Druid's serialisation: type, interval|period, includeFuture, tieredReplicants, useDefaultTierForNull.
const loadForever = z.object({ type: z.literal("loadForever"), ...loadFields })
  .transform((o) => ({ type: o.type, ...loadDefaults(o) }));
const loadByInterval = z.object({ type: z.literal("loadByInterval"), interval: intervalField, ...loadFields })
  .transform((o) => ({ type: o.type, interval: o.interval, ...loadDefaults(o) }));
const loadByPeriod = z.object({ type: z.literal("loadByPeriod"), period: periodField, includeFuture, ...loadFields })
  .transform((o) => ({ type: o.type, period: o.period, includeFuture: o.includeFuture, ...loadDefaults(o) }));
const dropForever = z.object({ type: z.literal("dropForever") });
const dropByInterval = z.object({ type: z.literal("dropByInterval"), interval: intervalField });
const dropByPeriod = z.object({ type: z.literal("dropByPeriod"), period: periodField, includeFuture });
const dropBeforeByPeriod = z.object({ type: z.literal("dropBeforeByPeriod"), period: periodField });
const broadcastForever = z.object({ type: z.literal("broadcastForever") });
const broadcastByInterval = z.object({ type: z.literal("broadcastByInterval"), interval: intervalField });
const broadcastByPeriod = z.object({ type: z.literal("broadcastByPeriod"), period: periodField, includeFuture });

/** One rule; unknown fields are dropped, as Druid's mapper ignores them. */
export const ruleSchema = z.discriminatedUnion(
  "type",
  [loadForever, loadByInterval, loadByPeriod, dropForever, dropByInterval, dropByPeriod, dropBeforeByPeriod,
    broadcastForever, broadcastByInterval, broadcastByPeriod],
  {
    error: (iss) => {
      if (iss.code !== "invalid_union") return undefined;
      const type = (iss.input as { type?: unknown } | undefined)?.type;
      const known = `known type ids = [${RULE_TYPES.join(", ")}]`;
      return type === undefined ? `a rule needs a [type]; ${known}` : `[${show(type)}]: unknown rule type; ${known}`;
    },
  },
);

/** A data source's rule list, as POST /druid/coordinator/v1/rules/{ds} takes it. */
export const rulesSchema = z.array(ruleSchema).max(MAX_RULES, { error: `at most [${MAX_RULES}] rules per list` });

export type Rule = z.output<typeof ruleSchema>;
export type RuleInput = z.input<typeof ruleSchema>;
export type LoadRule = Extract<Rule, { tieredReplicants: unknown }>;
export type LoadForeverRule = z.output<typeof loadForever>;
export type LoadByIntervalRule = z.output<typeof loadByInterval>;
export type LoadByPeriodRule = z.output<typeof loadByPeriod>;
export type DropForeverRule = z.output<typeof dropForever>;
export type DropByIntervalRule = z.output<typeof dropByInterval>;
export type DropByPeriodRule = z.output<typeof dropByPeriod>;
export type DropBeforeByPeriodRule = z.output<typeof dropBeforeByPeriod>;
export type BroadcastForeverRule = z.output<typeof broadcastForever>;
export type BroadcastByIntervalRule = z.output<typeof broadcastByInterval>;
export type BroadcastByPeriodRule = z.output<typeof broadcastByPeriod>;

/** SQLMetadataRuleManager seeds `_default` with `new ForeverLoadRule({"_default_tier": 2}, null)`, serialised so. */
export const DEFAULT_RULES: readonly Rule[] = Object.freeze([
  Object.freeze({ type: "loadForever", tieredReplicants: Object.freeze({ [DEFAULT_TIER]: DEFAULT_NUM_REPLICANTS }), useDefaultTierForNull: true }),
]) as readonly Rule[];

/**
 * Validates a rule list; a refusal is a 400 naming the field (`Invalid rules[0].period [P1X]: …`).
 * `_default`'s list may not be empty (SQLMetadataRuleManager.overrideRule: "Cluster-level rules cannot be empty.").
 */
export function parseRules(input: unknown, dataSource?: string): Rule[] {
  const r = rulesSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.reduce<string>((p, k) => (typeof k === "number" ? `${p}[${k}]` : `${p}.${String(k)}`), "rules");
    throw invalidInput(issue.message.startsWith("[") ? `Invalid ${path} ${issue.message}` : `Invalid ${path}: ${issue.message}`);
  }
  if (r.data.length === 0 && dataSource === DEFAULT_RULES_KEY) throw invalidInput("Cluster-level rules cannot be empty.");
  return r.data;
}

/** What the rule does to a segment it applies to: load on tiers, drop (mark unused), or load on every Broker. */
export function ruleAction(rule: Rule): "load" | "drop" | "broadcast" {
  return rule.type.startsWith("load") ? "load" : rule.type.startsWith("drop") ? "drop" : "broadcast";
}

// Joda's Interval predicates (half-open [start, end)), which Druid's rules are written with.
const jodaOverlaps = (a: Interval, b: Interval) => a.start < b.end && b.start < a.end;
const jodaContains = (outer: Interval, inner: Interval) =>
  outer.start <= inner.start && inner.start < outer.end && inner.end <= outer.end;

// Rules are plain JSON (stored, sent over RPC); what the matcher derives from them is cached per rule object.
const intervals = new WeakMap<object, Interval>();
const periods = new WeakMap<object, { period: Duration; now: number; start: number }>();

function ruleInterval(rule: { interval: string }): Interval {
  let i = intervals.get(rule);
  if (!i) intervals.set(rule, (i = parseInterval(rule.interval, "interval")));
  return i;
}

/**
 * `now − period`, the start of Joda's `new Interval(period, now)` in UTC. Joda subtracts the
 * period's fields one at a time, years first (each step clamps the day of month: 2024-02-29
 * − P1Y1M is 2023-01-28), then weeks, days and the time fields as exact milliseconds.
 */
function periodStart(rule: { period: string }, now: number): number {
  let c = periods.get(rule);
  if (c && c.now === now) return c.start;
  const period = c?.period ?? parsePeriod(rule.period);
  const p = period.toObject();
  let dt = DateTime.fromMillis(now, { zone: "utc" });
  for (const unit of ["years", "months", "weeks", "days"] as const) if (p[unit]) dt = dt.minus({ [unit]: p[unit] });
  const timeMs = (p.hours ?? 0) * 3_600_000 + (p.minutes ?? 0) * 60_000 + (p.seconds ?? 0) * 1000 + (p.milliseconds ?? 0);
  const ms = dt.isValid ? dt.toMillis() - Math.round(timeMs) : NaN;
  const start = Number.isFinite(ms) && ms > MIN_INSTANT ? ms : MIN_INSTANT; // further back than we can represent
  periods.set(rule, (c = { period, now, start }));
  return start;
}

/**
 * Whether `rule` applies to a segment with `segment`'s interval when the Coordinator runs at
 * `now` (epoch ms; Druid's referenceTimestamp, one per RunRules run). "The rule's period" is
 * [now − period, now).
 */
export function appliesTo(rule: Rule, segment: Interval, now: number): boolean {
  switch (rule.type) {
    // ForeverLoadRule, ForeverDropRule, ForeverBroadcastDistributionRule: every segment.
    case "loadForever":
    case "dropForever":
    case "broadcastForever":
      return true;
    // IntervalLoadRule, IntervalBroadcastDistributionRule (Rules.eligibleForLoad): the segment
    // overlaps the rule's interval — touching at an edge is not overlapping.
    case "loadByInterval":
    case "broadcastByInterval":
      return jodaOverlaps(ruleInterval(rule), segment);
    // IntervalDropRule: the rule's interval contains the whole segment.
    case "dropByInterval":
      return jodaContains(ruleInterval(rule), segment);
    // PeriodLoadRule, PeriodBroadcastDistributionRule (Rules.eligibleForLoad): with includeFuture,
    // the segment ends after the period starts (so any future segment too); without it, the
    // segment overlaps the period (a segment starting at or after now does not).
    case "loadByPeriod":
    case "broadcastByPeriod": {
      const start = periodStart(rule, now);
      return rule.includeFuture ? start < segment.end : jodaOverlaps({ start, end: now }, segment);
    }
    // PeriodDropRule: with includeFuture, the segment starts at or after the period's start;
    // without it, the period contains the whole segment (so it must end by now).
    case "dropByPeriod": {
      const start = periodStart(rule, now);
      return rule.includeFuture ? start <= segment.start : jodaContains({ start, end: now }, segment);
    }
    // PeriodDropBeforeRule: the segment ends at or before now − period (it lies entirely before the period).
    case "dropBeforeByPeriod":
      return segment.end <= periodStart(rule, now);
  }
}

/** The first rule that applies (RunRules: a data source's rules, then `_default`'s), or null when none does. */
export function ruleFor(rules: readonly Rule[], segment: Interval, now: number): Rule | null {
  for (const rule of rules) if (appliesTo(rule, segment, now)) return rule;
  return null;
}

/**
 * A data source's own rules followed by `_default`'s (SQLMetadataRuleManager.getRulesWithDefault,
 * `GET /rules/{ds}?full`). `_default` not stored yet reads as DEFAULT_RULES, which Druid seeds at
 * start. As in Druid, `_default?full` is `_default`'s list twice.
 */
export function effectiveRules(byDataSource: Readonly<Record<string, readonly Rule[]>>, dataSource: string): Rule[] {
  const own = Object.hasOwn(byDataSource, dataSource) ? byDataSource[dataSource]! : [];
  const defaults = Object.hasOwn(byDataSource, DEFAULT_RULES_KEY) ? byDataSource[DEFAULT_RULES_KEY]! : DEFAULT_RULES;
  return [...own, ...defaults];
}
