/** Executors in-process: noop's runTime (absent 2500 ms, explicit 0 no wait), abort, the registry, the task-action client. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildRegistry, executorFor, unsupportedTypeMessage } from "../../../agent/worker/executors/registry.ts";
import { DEFAULT_NOOP_RUN_TIME_MS, noopExecutor, noopRunTime } from "../../../agent/worker/executors/noop.ts";
import type { ExecutorContext } from "../../../agent/worker/executors/types.ts";

function ctx(task: Record<string, unknown>, signal = new AbortController().signal): ExecutorContext {
  return {
    task,
    taskId: String(task["id"] ?? "t"),
    workDir: "/nonexistent",
    dataDir: "/nonexistent",
    overlord: "http://127.0.0.1:1",
    token: "t",
    credential: "c",
    host: "h:1",
    log: () => {},
    signal,
    actions: { submitAction: () => Promise.reject(new Error("not in this test")) },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("noop", () => {
  it("waits runTime, 2500 ms when absent (as Druid), none at all for an explicit 0 (unlike Druid)", () => {
    expect(noopRunTime({})).toBe(DEFAULT_NOOP_RUN_TIME_MS);
    expect(noopRunTime({ runTime: "5" })).toBe(2500);
    expect(noopRunTime({ runTime: -1 })).toBe(2500);
    expect(noopRunTime({ runTime: 0 })).toBe(0);
    expect(noopRunTime({ runTime: 40 })).toBe(40);
  });

  it("succeeds after runTime", async () => {
    vi.useFakeTimers();
    let outcome: unknown = null;
    void noopExecutor.run(ctx({ type: "noop" })).then((o) => (outcome = o));
    await vi.advanceTimersByTimeAsync(2499);
    expect(outcome).toBeNull();
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toEqual({ status: "SUCCESS", errorMsg: null });
  });

  it("with runTime 0 succeeds without a timer", async () => {
    vi.useFakeTimers();
    expect(await noopExecutor.run(ctx({ type: "noop", runTime: 0 }))).toEqual({ status: "SUCCESS", errorMsg: null });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("fails with Canceled when stopped", async () => {
    const ac = new AbortController();
    const running = noopExecutor.run(ctx({ type: "noop", runTime: 60_000 }, ac.signal));
    ac.abort();
    expect(await running).toEqual({ status: "FAILED", errorMsg: "Canceled" });
  });
});

describe("the executor registry", () => {
  it("maps noop and the ingestion types; unknown types have none", () => {
    for (const type of ["noop", "index", "index_parallel", "kill", "compact"]) expect(executorFor(type)?.type).toBe(type);
    expect(executorFor("index_hadoop")).toBeNull();
    expect(executorFor(undefined)).toBeNull();
    expect(executorFor("__proto__")).toBeNull();
    expect(unsupportedTypeMessage("index_hadoop")).toBe("Task type [index_hadoop] is not supported by this agent");
  });

  it("has the test executors only when DRUID_AGENT_TEST_EXECUTORS=1", () => {
    expect(buildRegistry({}).has("test_crash")).toBe(false);
    expect(buildRegistry({ DRUID_AGENT_TEST_EXECUTORS: "1" }).has("test_crash")).toBe(true);
    expect(buildRegistry({ DRUID_AGENT_TEST_EXECUTORS: "1" }).has("test_sleep")).toBe(true);
  });
});

describe("the task-action client", () => {
  it("POSTs {task, action} with the agent token and the task's credential, and resolves result", async () => {
    const { taskActions } = await import("../../../agent/worker/executors/actions.ts");
    const seen: { url: string; init: RequestInit }[] = [];
    const fetchStub = (async (url: string, init: RequestInit) => {
      seen.push({ url, init });
      return new Response(JSON.stringify({ result: { locks: 1 } }), { status: 200, headers: { "content-type": "application/json" } });
    }) as unknown as typeof fetch;
    const actions = taskActions({ overlord: "http://edge:8787", token: "agent-token", taskId: "t1", credential: "cred-1", fetch: fetchStub });
    expect(await actions.submitAction({ type: "lockList" })).toEqual({ locks: 1 });
    expect(seen[0]!.url).toBe("http://edge:8787/druid/indexer/v1/action");
    const headers = seen[0]!.init.headers as Record<string, string>;
    expect(headers["Authorization"]).toBe("Bearer agent-token");
    expect(headers["X-Druid-Task-Credential"]).toBe("cred-1");
    expect(JSON.parse(seen[0]!.init.body as string)).toEqual({ task: "t1", action: { type: "lockList" } });
  });
});
