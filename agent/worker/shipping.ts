/**
 * Shipping a finished task's log and reports to the Overlord (stored in D1 `task_logs` /
 * `task_reports`), always before its final status is reported, so an operator who sees SUCCESS
 * can read both. Small ones travel inline in the poll that carries the final status (one commit,
 * no extra request); larger ones are POSTed to
 * `/druid-internal/v1/agent/tasks/{id}/log|reports` first, retried on transient failures
 * (agent/common/retryingFetch.ts) for at most `giveUpAfterMs`, after which the status is
 * reported anyway; a refusal (4xx) is not retried.
 */
import { open } from "node:fs/promises";
import { describeFailure, retryingFetch } from "../common/retryingFetch.ts";
import type { Sleep } from "../common/waiters.ts";
import { WORKER_HEADER, WORKER_KEY_HEADER } from "../../src/protocol/headers.ts";

export const MAX_LOG_BYTES = 1024 * 1024;
/** Log/report uploads give up after this long; the status is reported anyway. */
export const UPLOAD_GIVE_UP_MS = 30_000;

/** The last `maxBytes` of a file as text ("" when it does not exist). */
export async function readLogTail(path: string, maxBytes = MAX_LOG_BYTES): Promise<string> {
  let file;
  try {
    file = await open(path, "r");
  } catch {
    return "";
  }
  try {
    const { size } = await file.stat();
    const length = Math.min(size, maxBytes);
    const buf = Buffer.alloc(length);
    await file.read(buf, 0, length, size - length);
    let text = buf.toString("utf8");
    // A cut inside a multi-byte character decodes to U+FFFD: drop the partial first line.
    if (size > length) text = text.slice(text.indexOf("\n") + 1);
    return text;
  } finally {
    await file.close();
  }
}

export interface ShipTarget {
  overlord: string;
  token: string;
  host: string;
  workerKey: string;
  fetch: typeof fetch;
  /** Inline when both the log and the reports' JSON are at most this many bytes. */
  inlineMaxBytes: number;
  giveUpAfterMs: number;
  now: () => number;
  /** Backoff jitter and the wait between attempts (tests inject their own). */
  random?: () => number;
  sleep?: Sleep;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** What goes inline with the final status (the rest was uploaded, or given up on). */
export interface Shipped {
  log?: string;
  reports?: Record<string, unknown>;
}

export async function shipLogAndReports(t: ShipTarget, taskId: string, log: string, reports: Record<string, unknown> | null): Promise<Shipped> {
  const reportsJson = reports ? JSON.stringify(reports) : null;
  if (Buffer.byteLength(log) <= t.inlineMaxBytes && (reportsJson === null || Buffer.byteLength(reportsJson) <= t.inlineMaxBytes)) {
    return { log, ...(reports ? { reports } : {}) };
  }
  const deadline = t.now() + t.giveUpAfterMs;
  const base = `${t.overlord}/druid-internal/v1/agent/tasks/${encodeURIComponent(taskId)}`;
  await upload(t, `${base}/log`, log, "text/plain; charset=utf-8", deadline, taskId, "log");
  if (reportsJson !== null) await upload(t, `${base}/reports`, reportsJson, "application/json", deadline, taskId, "reports");
  return {};
}

async function upload(t: ShipTarget, url: string, body: string, contentType: string, deadline: number, taskId: string, what: string): Promise<void> {
  const r = await retryingFetch(
    url,
    () => ({
      method: "POST",
      headers: { Authorization: `Bearer ${t.token}`, [WORKER_HEADER]: t.host, [WORKER_KEY_HEADER]: t.workerKey, "content-type": contentType },
      body,
      signal: AbortSignal.timeout(Math.max(1000, deadline - t.now())),
    }),
    { fetch: t.fetch, initialDelayMs: 200, maxDelayMs: 5000, deadline, now: t.now, random: t.random, sleep: t.sleep },
  );
  if (r.kind === "answered" && r.response.ok) {
    await r.response.body?.cancel().catch(() => undefined);
    return;
  }
  const problem = await describeFailure(r);
  const verdict = r.kind === "answered" ? "the Overlord refused" : "could not upload";
  t.warn(`${verdict} the task's ${what}; reporting its status without it`, { task: taskId, problem });
}
