/**
 * What a running task says to the Overlord: task actions (`POST /druid/indexer/v1/action`) and
 * deep storage (`/druid-internal/v1/deep-storage?key=`), both with the agent token plus the
 * task's own credential. Transient failures (network, 5xx, 429) are retried with jittered
 * backoff; 4xx answers are final and surface as errors carrying Druid's message.
 */

export interface TaskClientOptions {
  overlord: string;
  token: string;
  taskId: string;
  credential: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Give up on transient failures after this long (ms). */
  retryForMs?: number;
}

export class TaskActionError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = "TaskActionError";
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });

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

  /** One request with retries on transient failures; returns the final response. */
  private async request(url: string, init: RequestInit): Promise<Response> {
    const deadline = Date.now() + (this.o.retryForMs ?? 60_000);
    let delay = 100;
    for (;;) {
      this.o.signal?.throwIfAborted();
      let res: Response | null = null;
      let failure: unknown = null;
      try {
        res = await this.fetch(url, { ...init, signal: this.o.signal });
      } catch (err) {
        failure = err;
      }
      if (res && res.status < 500 && res.status !== 429) return res;
      if (Date.now() > deadline) {
        if (res) return res;
        throw failure instanceof Error ? failure : new Error(String(failure));
      }
      if (res) await res.body?.cancel();
      await sleep(delay * (0.5 + Math.random()), this.o.signal);
      delay = Math.min(delay * 2, 5000);
    }
  }

  private async fail(res: Response, what: string): Promise<never> {
    const body = await res.text();
    let message = body;
    try {
      const j = JSON.parse(body) as { errorMessage?: string; error?: string };
      message = j.errorMessage ?? j.error ?? body;
    } catch {
      // not JSON
    }
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
