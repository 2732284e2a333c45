/**
 * A small closed-loop HTTP load generator: `concurrency` workers send requests back to back
 * for `durationMs` (or until `maxRequests`), recording each latency. Bounded in count and time;
 * loopback targets only.
 *
 * Requests go through undici's `Pool` (keep-alive connections, no pipelining), not Node's
 * `fetch`: on this 2-core machine the generator shares the CPU with the server it measures, and
 * `fetch` spent 0.3–1.0 ms of CPU per request against ~0.07 ms for `Pool.request`, GET or POST
 * alike (`npx tsx bench/client-cost.ts`). A heavy generator both lowers the measured ceiling and
 * charges the server for the client's own cost of sending a request body.
 */
import { Pool } from "undici";

export interface Reply {
  status: number;
  body: string;
}

/** One origin's keep-alive connection pool; `send` builds a request function for `runLoad`. */
export class LoadClient {
  private readonly pool: Pool;

  constructor(origin: string, connections = 64) {
    this.pool = new Pool(origin, { connections, pipelining: 1 });
  }

  send(method: "GET" | "POST", path: string, headers: Record<string, string>, body?: string): () => Promise<Reply> {
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    return async () => {
      const r = await this.pool.request({ method, path, headers: lower, body });
      return { status: r.statusCode, body: await r.body.text() };
    };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
export interface LoadResult {
  count: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  firstError?: string;
  /** Every latency, sorted (ms). */
  latencies: number[];
}

/** Several runs of the same load as one (counts and times summed, percentiles over all samples). */
export function mergeLoads(runs: LoadResult[]): LoadResult {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  return {
    count: latencies.length,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    firstError: runs.find((r) => r.firstError)?.firstError,
    latencies,
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export async function runLoad(opts: {
  concurrency: number;
  durationMs: number;
  maxRequests?: number;
  send: (i: number) => Promise<Reply>;
  ok?: (r: Reply) => boolean;
}): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  let firstError: string | undefined;
  const max = opts.maxRequests ?? Infinity;
  const start = performance.now();
  const deadline = start + opts.durationMs;
  const worker = async () => {
    while (performance.now() < deadline && next < max) {
      const i = next++;
      const t0 = performance.now();
      try {
        const r = await opts.send(i);
        if (!(opts.ok ? opts.ok(r) : r.status >= 200 && r.status < 300)) {
          errors++;
          firstError ??= `${r.status} ${r.body.slice(0, 200)}`;
        }
      } catch (err) {
        errors++;
        firstError ??= String(err);
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { count: latencies.length, errors, seconds, rps: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), firstError, latencies };
}

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
