/** The task's client to the Overlord (actions, deep storage): its retries run on an injected clock, jitter and wait. */
import { describe, expect, it } from "vitest";
import { TaskActionError, TaskClient, type TaskClientOptions } from "../../../agent/worker/tasks/taskClient.ts";

/** A client whose fetch answers with the given statuses in turn (the last one repeats) and whose waits only move a fake clock. */
function client(statuses: number[], extra: Partial<TaskClientOptions> = {}) {
  let clock = 0;
  const waits: number[] = [];
  let calls = 0;
  const fetch = (async () => {
    const status = statuses[Math.min(calls++, statuses.length - 1)]!;
    const body = status === 200 ? JSON.stringify({ result: "ok" }) : JSON.stringify({ error: "druidException", errorMessage: `refused with ${status}` });
    return new Response(body, { status });
  }) as typeof globalThis.fetch;
  const c = new TaskClient({
    overlord: "http://edge:8787/",
    token: "t",
    taskId: "t1",
    credential: "c",
    fetch,
    now: () => clock,
    random: () => 0.5,
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
    ...extra,
  });
  return { c, waits, calls: () => calls };
}

describe("the task client", () => {
  it("retries a 503 and a 429 after backoff waits, then resolves the action's result", async () => {
    const t = client([503, 429, 200]);
    expect(await t.c.action({ type: "lockList" })).toBe("ok");
    expect(t.waits).toEqual([100, 200]);
  });

  it("takes a 400 as final: no retry, an error with the status and Druid's message", async () => {
    const t = client([400, 200]);
    const err = await t.c.action({ type: "segmentAllocate" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskActionError);
    expect((err as TaskActionError).status).toBe(400);
    expect((err as Error).message).toBe("Task action [segmentAllocate] failed with HTTP 400: refused with 400");
    expect(t.calls()).toBe(1);
  });

  it("gives up on a server that keeps failing once retryForMs is spent, with the last answer's message", async () => {
    const t = client([503], { retryForMs: 1000 });
    await expect(t.c.getObject("a/b")).rejects.toThrow("Download of [a/b] failed with HTTP 503: refused with 503");
    expect(t.waits).toEqual([100, 200, 400]); // the next wait (800) would end past the 1 s budget
  });

  it("counts a missing object as deleted", async () => {
    const t = client([404]);
    await expect(t.c.deleteObject("a/b")).resolves.toBeUndefined();
  });
});
