/**
 * The worker poll contract (test/contract/workerPoll.contract.ts) against the agent tests' fake
 * Overlord, so the fake the agent is tested against speaks the protocol the real one does.
 */
import { randomUUID } from "node:crypto";
import { defineWorkerPollContract, type WorkerPollDriver } from "../../contract/workerPoll.contract.ts";
import { WORKER_KEY_HEADER } from "../../../src/protocol/headers.ts";
import { FakeOverlord } from "./fixtures/fakeOverlord.ts";

let n = 0;

defineWorkerPollContract("the agent tests' FakeOverlord", async () => {
  const fake = await new FakeOverlord().start();
  const key = `contract-key-${randomUUID()}`;
  const driver: WorkerPollDriver = {
    host: "contract-agent:8091",
    key,
    agentHeaders: () => ({ Authorization: `Bearer ${fake.token}`, [WORKER_KEY_HEADER]: key }),
    async post(path, body, headers) {
      const res = await fetch(`${fake.url}${path}`, { method: "POST", headers, body });
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
      const id = typeof task["id"] === "string" ? task["id"] : `contract-task-${++n}`;
      fake.assign({ ...task, id });
      return id;
    },
    async shutdown(taskId) {
      fake.shutdown(taskId);
    },
    async setDisabled(disabled) {
      fake.setDisabled(disabled);
    },
    async untilHeld(host) {
      await fake.waitFor(() => fake.isHeld(host), `a held poll from [${host}]`, 5000);
    },
    close: () => fake.close(),
  };
  return driver;
});
