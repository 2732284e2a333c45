/**
 * The Overlord's in-memory view of a task (Druid's TaskQueue entry plus the runner's work item)
 * and the JSON shapes it is shown in (TaskStatusPlus, TaskStatus).
 */
import type { Task } from "./taskSpec.ts";
import { toIso } from "../shared/intervals.ts";

import type { TaskLocation, TaskState } from "../protocol/agent.ts";

export type { TaskLocation, TaskState };
export type RunnerState = "WAITING" | "PENDING" | "RUNNING" | "NONE";
export const NO_LOCATION: TaskLocation = Object.freeze({ host: null, port: -1, tlsPort: -1 });

export interface TaskEntry {
  task: Task;
  createdMs: number;
  status: TaskState;
  runner: RunnerState;
  errorMsg: string | null;
  duration: number;
  location: TaskLocation;
  /** Worker the task is assigned to (runner state), null while waiting/pending unassigned. */
  worker: string | null;
  assignedTerm: number | null;
  assignedAt: number | null;
  /** Submission order, for FIFO among equal priorities. */
  seq: number;
}

export interface TaskStatusPlus {
  id: string;
  groupId: string;
  type: string;
  createdTime: string;
  queueInsertionTime: string;
  statusCode: TaskState;
  status: TaskState;
  runnerStatusCode: RunnerState;
  duration: number;
  location: TaskLocation;
  dataSource: string;
  errorMsg: string | null;
}

export interface TaskStatusJson {
  id: string;
  status: TaskState;
  duration: number;
  errorMsg: string | null;
  location: TaskLocation;
}

const EPOCH = "1970-01-01T00:00:00.000Z";

export function statusPlus(e: TaskEntry): TaskStatusPlus {
  return {
    id: e.task.id,
    groupId: e.task.groupId,
    type: e.task.type,
    createdTime: toIso(e.createdMs),
    queueInsertionTime: EPOCH,
    statusCode: e.status,
    status: e.status,
    runnerStatusCode: e.status === "RUNNING" ? e.runner : "NONE",
    duration: e.duration,
    location: e.location,
    dataSource: e.task.dataSource,
    errorMsg: e.errorMsg,
  };
}

export function statusJson(e: TaskEntry): TaskStatusJson {
  return { id: e.task.id, status: e.status, duration: e.duration, errorMsg: e.errorMsg, location: e.location };
}

/** Druid truncates errorMsg to about 1024 characters. */
export function truncateError(msg: string | null | undefined): string | null {
  if (msg == null) return null;
  return msg.length > 1024 ? msg.slice(0, 1021) + "..." : msg;
}
