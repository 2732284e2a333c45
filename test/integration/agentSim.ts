/** A simulated agent speaking the poll protocol, for integration tests (no real process). */
import { expect } from "vitest";
import { AGENT, api } from "./helpers.ts";

type Counter = { counter: number; hash: number };

let hostN = 0;

/** A fresh worker key (each simulated agent is its own agent). */
export function newWorkerKey(): string {
  return `sim-key-${crypto.randomUUID()}`;
}

/** A simulated agent; give `host` to make a second agent claim the host of another. */
export function agentSim(capacity = 4, category?: string, key = newWorkerKey(), host = `sim-${Date.now().toString(36)}-${++hostN}:8091`) {
  const headers = { ...AGENT, "X-Druid-Worker-Key": key };
  let term: number | null = null;
  let counter: Counter | null = null;
  const poll = async (body: { tasks?: unknown[]; full?: boolean; timeoutMs?: number; counter?: Counter | null; term?: number | null } = {}) => {
    const r = await api(
      "POST",
      "/druid-internal/v1/agent/poll",
      {
        worker: { host, ip: "127.0.0.1", capacity, ...(category ? { category } : {}), version: "0" },
        term: body.term !== undefined ? body.term : term,
        counter: body.counter !== undefined ? body.counter : counter,
        timeoutMs: body.timeoutMs ?? 50,
        full: body.full ?? counter === null,
        tasks: body.tasks ?? [],
      },
      headers,
    );
    if (r.status === 200 && !r.json.resetCounter) {
      term = r.json.term;
      counter = r.json.counter;
    }
    if (r.status === 200 && r.json.resetCounter) counter = null;
    return r;
  };
  /** Headers of this agent's log/report uploads. */
  const uploadHeaders = { ...headers, "X-Druid-Worker": host };
  return { host, key, headers, uploadHeaders, poll, get counter() { return counter; }, set counter(c) { counter = c; }, get term() { return term; } };
}

export const running = (id: string, host: string) => ({ id, status: "RUNNING", duration: -1, location: { host, port: 8100, tlsPort: -1 } });
export const done = (id: string, status = "SUCCESS") => ({ id, status, duration: 12, errorMsg: status === "FAILED" ? "boom" : null });

/** Keeps only this test's assignments (other tests' tasks may be pending on the same Overlord). */
export async function submit(ds: string, n = 1, extra: Record<string, unknown> = {}) {
  const r = await api("POST", "/druid/indexer/v1/tasks", Array.from({ length: n }, () => ({ type: "noop", dataSource: ds, ...extra })));
  expect(r.status).toBe(200);
  return r.json.tasks as string[];
}

/** Disables every worker but `host`, so only that simulated agent can receive assignments. */
export async function onlyWorker(host: string) {
  const workers = (await api("GET", "/druid/indexer/v1/workers")).json as Array<{ worker: { host: string } }>;
  for (const w of workers) if (w.worker.host !== host) await api("POST", `/druid/indexer/v1/worker/${encodeURIComponent(w.worker.host)}/disable`);
}
