/**
 * What a running task says to the Overlord: task actions (`POST /druid/indexer/v1/action`) and
 * deep storage (`/druid-internal/v1/deep-storage?key=`), both with the agent token plus the
 * task's own credential. Transient failures (network, 5xx, 429) are retried with jittered
 * backoff (agent/common/retryingFetch.ts); 4xx answers are final and surface as errors carrying
 * Druid's message.
 */
import { druidErrorMessage } from "../../common/druidErrors.ts";
import { retryingFetch } from "../../common/retryingFetch.ts";
import type { Sleep } from "../../common/waiters.ts";

export interface TaskClientOptions {
  overlord: string;
  token: string;
  taskId: string;
  credential: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Give up on transient failures after this long (ms; default 60 s). */
  retryForMs?: number;
  /** Clock, backoff jitter and wait of the retries (tests inject their own). */
  now?: () => number;
  random?: () => number;
  sleep?: Sleep;
}

export class TaskActionError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = "TaskActionError";
  }
}

export class TaskClient {
  private readonly fetch: typeof fetch;
  private readonly base: string;

  constructor(private readonly o: TaskClientOptions) {
    this.fetch = o.fetch ?? globalThis.fetch;
    this.base = o.overlord.replace(/\/+$/, "");
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { Authorization: `Bearer ${this.o.token}`, "X-Druid-Task-Id": this.o.taskId, "X-Druid-Task-Credential": this.o.credential, ...extra };
  }

  /** One request, retried on transient failures; the final answer, or the last transient one once out of time. */
  private async request(url: string, init: RequestInit): Promise<Response> {
    const now = this.o.now ?? Date.now;
    const r = await retryingFetch(url, { ...init, signal: this.o.signal }, {
      fetch: this.fetch,
      initialDelayMs: 100,
      maxDelayMs: 5000,
      deadline: now() + (this.o.retryForMs ?? 60_000),
      signal: this.o.signal,
      now,
      random: this.o.random,
      sleep: this.o.sleep,
    });
    if (r.response) return r.response;
    throw r.error;
  }

  private async fail(res: Response, what: string): Promise<never> {
    const message = druidErrorMessage(await res.text(), Infinity);
    throw new TaskActionError(`${what} failed with HTTP ${res.status}: ${message}`, res.status);
  }

  /** Performs a task action and returns its `result`. */
  async action<T = unknown>(action: Record<string, unknown>): Promise<T> {
    const res = await this.request(`${this.base}/druid/indexer/v1/action`, {
      method: "POST",
      headers: this.headers({ "content-type": "application/json" }),
      body: JSON.stringify({ task: this.o.taskId, action }),
    });
    if (!res.ok) return this.fail(res, `Task action [${String(action["type"])}]`);
    return ((await res.json()) as { result: T }).result;
  }

  private objectUrl(key: string): string {
    return `${this.base}/druid-internal/v1/deep-storage?key=${encodeURIComponent(key)}`;
  }

  async putObject(key: string, bytes: Uint8Array): Promise<void> {
    const res = await this.request(this.objectUrl(key), { method: "PUT", headers: this.headers({ "content-type": "application/octet-stream" }), body: bytes as Uint8Array<ArrayBuffer> });
    if (!res.ok) return this.fail(res, `Upload of [${key}]`);
    await res.body?.cancel();
  }

  async getObject(key: string): Promise<Uint8Array> {
    const res = await this.request(this.objectUrl(key), { method: "GET", headers: this.headers() });
    if (!res.ok) return this.fail(res, `Download of [${key}]`);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** Deletes an object; a missing one counts as deleted. */
  async deleteObject(key: string): Promise<void> {
    const res = await this.request(this.objectUrl(key), { method: "DELETE", headers: this.headers() });
    if (!res.ok && res.status !== 404) return this.fail(res, `Delete of [${key}]`);
    await res.body?.cancel();
  }
}
