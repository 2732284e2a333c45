/**
 * Poll answers as they go over the wire: each assignment becomes the task's JSON with its
 * credential, built item by item — an assignment whose JSON cannot be built fails that task,
 * and its neighbours still go out. Credentials are HMACs (asynchronous), so they are prepared
 * while the commit that makes an assignment durable runs, and a held poll is then answered
 * synchronously from the cache.
 */
import type { PollReply } from "../../overlord/pollProtocol.ts";
import type { OverlordCore } from "../../overlord/overlordCore.ts";
import type { TaskEntry } from "../../overlord/types.ts";
import type { WriteSet } from "../../overlord/writes.ts";
import { depthWithin, MAX_JSON_DEPTH } from "../../shared/boundedJson.ts";
import type { TaskCredentials } from "../../shared/credentials.ts";

/** What a task credential signs: the task, the term of its assignment and the worker it went to. */
export function credentialSubject(e: TaskEntry): string {
  return `${e.task.id}|${e.assignedTerm ?? 0}|${e.worker ?? ""}`;
}

/** One assignment's JSON, or null when the task JSON cannot be serialised. */
function assignmentJson(task: Record<string, unknown>, credential: string): string | null {
  if (!depthWithin(task)) return null;
  try {
    return `{"type":"assign","task":${JSON.stringify(task)},"credential":${JSON.stringify(credential)}}`;
  } catch {
    return null;
  }
}

export class PollAnswers {
  constructor(
    private readonly core: () => OverlordCore,
    private readonly credentials: TaskCredentials,
    /** Some assignment was failed as undeliverable: its change needs a commit. */
    private readonly changed: () => void,
  ) {}

  /** Starts computing the credentials of tasks assigned in a write set (they are cached). */
  prepare(ws: WriteSet): void {
    for (const { entry: e } of ws.tasks.values()) {
      if (e.worker && e.status === "RUNNING" && e.runner === "PENDING") void this.credentials.issue(credentialSubject(e));
    }
  }

  /** The answer's JSON text, once the credential of every assignment in it is issued. */
  async build(reply: PollReply): Promise<string> {
    for (;;) {
      for (const r of reply.requests ?? []) {
        const e = r.type === "assign" ? this.core().queue.active.get(r.taskId) : undefined;
        if (e) await this.credentials.issue(credentialSubject(e));
      }
      const text = this.buildNow(reply);
      if (text !== null) return text;
    }
  }

  /** The answer's JSON text built synchronously, or null while a credential is not cached yet. */
  buildNow(reply: PollReply): string | null {
    const queue = this.core().queue;
    const assigned: TaskEntry[] = [];
    for (const r of reply.requests ?? []) {
      if (r.type !== "assign") continue;
      const e = queue.active.get(r.taskId);
      if (!e || e.status !== "RUNNING") continue;
      if (this.credentials.cached(credentialSubject(e)) === undefined) return null;
      assigned.push(e);
    }
    const items: string[] = [];
    let failed = false;
    let next = 0;
    for (const r of reply.requests ?? []) {
      if (r.type !== "assign") {
        items.push(JSON.stringify(r));
        continue;
      }
      const e = assigned[next];
      if (e?.task.id !== r.taskId) continue;
      next++;
      const item = assignmentJson(e.task.payload, this.credentials.cached(credentialSubject(e))!);
      if (item === null) {
        this.core().runner.failUndeliverable(e.task.id, `Task JSON could not be built for delivery to the worker (nested deeper than [${MAX_JSON_DEPTH}] levels or not serialisable)`);
        failed = true;
        continue;
      }
      items.push(item);
    }
    if (failed) this.changed();
    const { requests, ...head } = reply;
    const headText = JSON.stringify(head);
    return `${headText.slice(0, -1)},"requests":${requests === null ? "null" : `[${items.join(",")}]`}}`;
  }
}
