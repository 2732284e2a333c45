/** A running task for integration tests: submitted, taken by a simulated agent, reported RUNNING; its actions and segments. */
import { expect } from "vitest";
import { AGENT, api } from "./helpers.ts";
import { agentSim, onlyWorker, running } from "./agentSim.ts";

export interface Running {
  id: string;
  credential: string;
  ds: string;
}

/** Submits a task, has a simulated agent take it and report it RUNNING; returns its credential. */
export async function runTask(task: Record<string, unknown>, ds: string) {
  const a = agentSim();
  await a.poll();
  await onlyWorker(a.host);
  const id = (await api("POST", "/druid/indexer/v1/task", task)).json.task as string;
  const got = await a.poll({ timeoutMs: 5000 });
  const assign = got.json.requests.find((r: { type: string; task?: { id: string } }) => r.type === "assign" && r.task?.id === id);
  expect(assign).toBeTruthy();
  await a.poll({ tasks: [running(id, "sim")] });
  return { id, credential: assign.credential as string, ds, agent: a };
}

export async function act(t: Running, action: Record<string, unknown>, credential = t.credential) {
  return api("POST", "/druid/indexer/v1/action", { task: { id: t.id, type: "index_parallel" }, action }, { ...AGENT, "X-Druid-Task-Credential": credential });
}

export function segment(ds: string, interval: string, version: string, partitionNum: number, partitions: number, key = `segments/${ds}/${partitionNum}.parquet`) {
  return {
    dataSource: ds,
    interval,
    version,
    loadSpec: { type: "r2", key },
    dimensions: "page,user",
    metrics: "count",
    shardSpec: { type: "numbered", partitionNum, partitions },
    binaryVersion: 9,
    size: 10,
    totalRows: 5,
  };
}

