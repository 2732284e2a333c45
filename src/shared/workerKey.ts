/**
 * Worker keys: an agent's secret identity. Every agent shares the agent token, so the token
 * alone cannot tell one agent from another; each agent therefore also makes up a random key
 * when it first starts, keeps it in its work directory beside its journal of started tasks,
 * and sends it with every poll, log and report (`X-Druid-Worker-Key`). The Overlord keeps only
 * its SHA-256 (in memory and in the worker's row) and binds the worker's host to it while the
 * lease holds. The key and the journal live and die together: an agent that keeps its key
 * vouches, by its journal, for every task it ever started.
 */
import { WORKER_KEY_HEADER, WORKER_KEY_PATTERN } from "../protocol/headers.ts";
import { invalidInput } from "./errors.ts";

/** The key from a request header, or a 400 saying what a key must be. */
export function validateWorkerKey(key: string | null): string {
  if (key === null || !WORKER_KEY_PATTERN.test(key)) {
    throw invalidInput(`The ${WORKER_KEY_HEADER} header is required: the agent's own secret, 32 to 256 characters of [A-Za-z0-9._~+/=-]`, "workerKeyRequired");
  }
  return key;
}

const encoder = new TextEncoder();

/** SHA-256 hex digests of keys, remembered: a key is hashed once, not on every poll. */
export class WorkerKeyDigests {
  private readonly cache = new Map<string, string>();

  async digest(key: string): Promise<string> {
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(`druid-edge-worker-key:${key}`)));
    let hex = "";
    for (const b of bytes) hex += b.toString(16).padStart(2, "0");
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(key, hex);
    return hex;
  }
}
