import { describe, expect, it } from "vitest";
import { condense, defaultPriority, parseTask } from "../../src/overlord/taskSpec.ts";
import { generateTaskId, validateTaskId } from "../../src/shared/ids.ts";
import { DruidError } from "../../src/shared/errors.ts";
import { formatInterval } from "../../src/shared/intervals.ts";

const NOW = Date.UTC(2026, 10, 24, 3, 0, 0);
const opts = { now: NOW, maxPayloadBytes: 100_000, random: () => 0.5 };

function refused(input: unknown, field: string) {
  try {
    parseTask(input, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(DruidError);
    expect((err as DruidError).message).toContain(field);
    return;
  }
  throw new Error("expected a refusal");
}

describe("task ids (Druid's IdUtils rules)", () => {
  it.each(["a/b", ".dot", "tab\there", "nl\nx", "ctl\u0001", "\ud800x", ""])("refuses %j", (id) => {
    expect(() => validateTaskId(id)).toThrow(DruidError);
  });
  it("accepts spaces and punctuation", () => {
    expect(validateTaskId("index wiki_2024-01-01T00:00:00.000Z")).toBe("index wiki_2024-01-01T00:00:00.000Z");
  });
  it("generates Druid-style ids", () => {
    expect(generateTaskId("noop", null, NOW, () => 0)).toMatch(/^noop_2026-11-24T03:00:00\.000Z_0{8}-0{4}-40{3}-80{3}-0{12}$/);
    expect(generateTaskId("index_parallel", "wiki", NOW, () => 0)).toBe("index_parallel_wiki_2026-11-24T03:00:00.000Z_aaaaaaaa");
  });
});

describe("parseTask", () => {
  it("fills noop's defaults, the context defaults and the payload as Druid stores it", () => {
    const t = parseTask({ type: "noop", runTime: 10 }, { ...opts, defaultContext: { team: "data" } });
    expect(t).toMatchObject({ type: "noop", dataSource: "none", priority: 50, lockIntervals: [], lockType: "EXCLUSIVE" });
    expect(t.groupId).toBe(t.id);
    expect(t.resource).toEqual({ availabilityGroup: t.id, requiredCapacity: 1 });
    expect(t.payload).toMatchObject({ id: t.id, groupId: t.id, runTime: 10, context: { forceTimeChunkLock: true, useLineageBasedSegmentAllocation: true, team: "data" } });
  });

  it("takes priority from the context, otherwise the type's default", () => {
    expect(parseTask({ type: "noop", context: { priority: 7 } }, opts).priority).toBe(7);
    expect([defaultPriority("index"), defaultPriority("compact"), defaultPriority("kill")]).toEqual([50, 25, 0]);
  });

  it("locks an index task's intervals widened to segment granularity and condensed", () => {
    const t = parseTask(
      { type: "index_parallel", spec: { dataSchema: { dataSource: "wiki", granularitySpec: { segmentGranularity: "day", intervals: ["2024-01-01T05:00/2024-01-02", "2024-01-02/2024-01-03T01:00", "2024-02-01/2024-02-02"] } } } },
      opts,
    );
    expect(t.dataSource).toBe("wiki");
    expect(t.lockIntervals.map(formatInterval)).toEqual([
      "2024-01-01T00:00:00.000Z/2024-01-04T00:00:00.000Z",
      "2024-02-01T00:00:00.000Z/2024-02-02T00:00:00.000Z",
    ]);
  });

  it("derives the lock type from the context as Druid does", () => {
    const spec = (append: boolean) => ({ dataSchema: { dataSource: "w", granularitySpec: { intervals: ["2024-01-01/2024-01-02"] } }, ioConfig: { appendToExisting: append } });
    expect(parseTask({ type: "index", spec: spec(true), context: { useConcurrentLocks: true } }, opts).lockType).toBe("APPEND");
    expect(parseTask({ type: "index", spec: spec(false), context: { useConcurrentLocks: true } }, opts).lockType).toBe("REPLACE");
    expect(parseTask({ type: "index", spec: spec(false), context: { useSharedLock: true } }, opts).lockType).toBe("SHARED");
    expect(parseTask({ type: "index", spec: spec(false), context: { taskLockType: "REPLACE" } }, opts).lockType).toBe("REPLACE");
  });

  it("locks kill and compact intervals", () => {
    expect(parseTask({ type: "kill", dataSource: "w", interval: "2024-01-01/P1D" }, opts).lockIntervals.map(formatInterval)).toEqual(["2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z"]);
    const c = parseTask({ type: "compact", dataSource: "w", ioConfig: { inputSpec: { type: "interval", interval: "2024-01-01/2024-02-01" } } }, opts);
    expect(c.priority).toBe(25);
    expect(c.lockIntervals.map(formatInterval)).toEqual(["2024-01-01T00:00:00.000Z/2024-02-01T00:00:00.000Z"]);
  });

  it("refuses bad input naming the field", () => {
    refused({ id: "x" }, "type");
    refused({ type: "hadoop" }, "hadoop");
    refused({ type: "noop", context: "x" }, "context");
    refused({ type: "noop", context: { priority: "high" } }, "context.priority");
    refused({ type: "noop", runTime: -1 }, "runTime");
    refused({ type: "noop", resource: { requiredCapacity: 0 } }, "resource.requiredCapacity");
    refused({ type: "kill", dataSource: "w" }, "interval");
    refused({ type: "compact", dataSource: "w" }, "ioConfig.inputSpec.interval");
    refused({ type: "index", spec: { dataSchema: {} } }, "spec.dataSchema.dataSource");
    refused({ type: "index", spec: { dataSchema: { dataSource: "w", granularitySpec: { intervals: ["nope"] } } } }, "intervals");
    refused({ type: "noop", dataSource: "a/b" }, "dataSource");
    refused({ type: "noop", context: { taskLockType: "KILL" } }, "taskLockType");
    refused({ type: "noop", pad: "x".repeat(200_000) }, "exceeds");
  });

  it("condenses overlapping and abutting intervals", () => {
    const d = (a: number, b: number) => ({ start: a, end: b });
    expect(condense([d(5, 6), d(0, 2), d(2, 3), d(1, 2)])).toEqual([d(0, 3), d(5, 6)]);
  });
});
