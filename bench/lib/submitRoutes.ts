/**
 * The routes bench:submit and bench/cpu-per-request.ts drive: a Worker-only no-op, a GET into the
 * Overlord object, the same-shape POST without a commit (taskStatus of a pending task, answered
 * from memory) and the durable submission itself.
 */
import type { DruidEdge } from "../../test/support/node/cluster.ts";
import type { LoadClient, Reply } from "./load.ts";

export const SUBMIT_ROUTES = ["noop", "status", "read", "submit"] as const;
export type SubmitRoute = (typeof SUBMIT_ROUTES)[number];

export async function submitRoutes(edge: DruidEdge, client: LoadClient): Promise<Record<SubmitRoute, () => Promise<Reply>>> {
  const auth = { Authorization: `Bearer ${edge.adminToken}` };
  const json = { ...auth, "content-type": "application/json" };
  const known = (await edge.api("POST", "/druid/indexer/v1/task", { type: "noop" })).json as { task: string };
  return {
    noop: client.send("GET", "/druid/indexer/v1/isLeader", auth),
    status: client.send("GET", "/status", auth),
    read: client.send("POST", "/druid/indexer/v1/taskStatus", json, JSON.stringify([known.task])),
    submit: client.send("POST", "/druid/indexer/v1/task", json, '{"type":"noop","runTime":0}'),
  };
}
