/**
 * The task-action client handed to executors: `POST /druid/indexer/v1/action` with `{task, action}`,
 * the agent token and the task's credential (`X-Druid-Task-Credential`), retried on transient
 * failures by the shared TaskClient.
 */
import { TaskClient } from "../tasks/taskClient.ts";
import type { TaskActions } from "./types.ts";

export interface ActionTarget {
  overlord: string;
  token: string;
  taskId: string;
  credential: string;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

export function taskActions(target: ActionTarget): TaskActions {
  const client = new TaskClient(target);
  return { submitAction: (action) => client.action(action) };
}
