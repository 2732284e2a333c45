/**
 * The events file (`--events-file`): one JSON line per event, appended synchronously so that a
 * reader (tests, benchmarks) sees every event that happened before it looked, even after a
 * SIGKILL. `at` is a sub-millisecond wall clock: performance.timeOrigin + performance.now().
 *
 *   {"event":"task.finished","at":1764000000123.456,"taskId":"t1","status":"SUCCESS","host":"a:8091"}
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export type AgentEventName = "agent.started" | "agent.ready" | "agent.stopped" | "task.assigned" | "task.started" | "task.finished" | "task.recovered";

export interface AgentEvent {
  event: AgentEventName;
  at: number;
  [field: string]: unknown;
}

export const preciseNow = (): number => performance.timeOrigin + performance.now();

export class EventSink {
  /** Opened once (an open per event cost more than the write). */
  private fd: number | null = null;

  constructor(
    path: string | null,
    private readonly listener: ((e: AgentEvent) => void) | null = null,
  ) {
    if (path) {
      mkdirSync(dirname(path), { recursive: true });
      this.fd = openSync(path, "a");
    }
  }

  emit(event: AgentEventName, fields: Record<string, unknown> = {}): void {
    const e: AgentEvent = { event, at: preciseNow(), ...fields };
    if (this.fd !== null) writeSync(this.fd, JSON.stringify(e) + "\n");
    this.listener?.(e);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
