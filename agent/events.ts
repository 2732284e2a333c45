/**
 * The events file (`--events-file`): one JSON line per event, appended synchronously so that a
 * reader (tests, benchmarks) sees every event that happened before it looked, even after a
 * SIGKILL. `at` is a sub-millisecond wall clock: performance.timeOrigin + performance.now().
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

export type AgentEventName = "agent.started" | "agent.stopped" | "task.assigned" | "task.started" | "task.finished";

export const preciseNow = (): number => performance.timeOrigin + performance.now();

export class EventsFile {
  constructor(private readonly path: string | null) {
    if (path) mkdirSync(dirname(path), { recursive: true });
  }

  emit(event: AgentEventName, fields: Record<string, unknown> = {}): void {
    if (!this.path) return;
    appendFileSync(this.path, JSON.stringify({ event, at: preciseNow(), ...fields }) + "\n");
  }
}
