/**
 * The worker poll contract (test/contract/workerPoll.contract.ts) against the real Overlord: the
 * Worker's fetch handler and this test's own Overlord object over empty tables (setup.ts), so
 * the simulated agent's worker is the only one there and gets every task it submits.
 */
import { defineWorkerPollContract, type WireAnswer, type WorkerPollDriver } from "../contract/workerPoll.contract.ts";
import { WORKER_KEY_HEADER } from "../../src/protocol/headers.ts";
import { AGENT, api, fetchWorker, inOverlord } from "./helpers.ts";
import { newWorkerKey } from "./agentSim.ts";

let n = 0;

defineWorkerPollContract("the real Overlord", async () => {
  const key = newWorkerKey();
  const host = `contract-${++n}:8091`;
  const driver: WorkerPollDriver = {
    host,
    key,
    agentHeaders: () => ({ ...AGENT, [WORKER_KEY_HEADER]: key }),
    async post(path, body, headers): Promise<WireAnswer> {
      const res = await fetchWorker(`http://druid.test${path}`, { method: "POST", headers, body });
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, text, json };
    },
    async assign(task) {
      const r = await api("POST", "/druid/indexer/v1/task", task);
      if (r.status !== 200) throw new Error(`submit failed: ${r.status} ${r.text}`);
      return r.json.task as string;
    },
    async shutdown(taskId) {
      const r = await api("POST", `/druid/indexer/v1/task/${encodeURIComponent(taskId)}/shutdown`);
      if (r.status !== 200) throw new Error(`shutdown failed: ${r.status} ${r.text}`);
    },
    async setDisabled(disabled) {
      const r = await api("POST", `/druid/indexer/v1/worker/${encodeURIComponent(host)}/${disabled ? "disable" : "enable"}`);
      if (r.status !== 200) throw new Error(`${disabled ? "disable" : "enable"} failed: ${r.status} ${r.text}`);
    },
    async untilHeld(h) {
      // each check is a round trip into the object, so the held poll's request gets to run
      for (let i = 0; i < 1000; i++) if (await inOverlord((o) => o.core.runner.pollHeld(h))) return;
      throw new Error(`no poll from [${h}] was held`);
    },
    async close() {},
  };
  return driver;
});
