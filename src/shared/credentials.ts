/**
 * Per-task credentials: an agent gets one with each assignment and presents it on the task's
 * `/action` calls. It is an HMAC of the task id under a key derived from the Worker's secrets,
 * so it survives Overlord restarts without being stored, and cannot be forged for another task.
 */
const encoder = new TextEncoder();

export class TaskCredentials {
  private key: Promise<CryptoKey>;
  private cache = new Map<string, string>();

  constructor(secret: string) {
    this.key = crypto.subtle.importKey("raw", encoder.encode(`druid-edge-task:${secret}`), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  }

  async issue(taskId: string): Promise<string> {
    const hit = this.cache.get(taskId);
    if (hit) return hit;
    const sig = new Uint8Array(await crypto.subtle.sign("HMAC", await this.key, encoder.encode(taskId)));
    let s = "";
    for (const b of sig) s += String.fromCharCode(b);
    const token = btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(taskId, token);
    return token;
  }

  /** The credential if it was issued before (no waiting), else undefined. */
  cached(taskId: string): string | undefined {
    return this.cache.get(taskId);
  }

  async verify(taskId: string, token: string): Promise<boolean> {
    const expected = await this.issue(taskId);
    if (expected.length !== token.length) return false;
    let diff = 0;
    for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ token.charCodeAt(i);
    return diff === 0;
  }
}
