/**
 * The worker poll protocol (docs/agent-protocol.md) as one suite that both Overlords must pass:
 * the real one (test/integration/workerPollContract.test.ts, inside workerd) and the agent
 * tests' fake (test/agent/worker/workerPollContract.test.ts, a node:http server). What an agent
 * relies on is stated once here, so the fake cannot drift from the real protocol unnoticed.
 *
 * Runtime-neutral: no cloudflare:* or node:* imports; everything else comes through the driver.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AgentRequest, Counter, PollBody, TaskStatusReport } from "../../src/protocol/agent.ts";
import { WORKER_HEADER, WORKER_KEY_HEADER } from "../../src/protocol/headers.ts";

/** An HTTP answer: its status, its body as text, and that text parsed (undefined if not JSON). */
export interface WireAnswer {
  status: number;
  text: string;
  json: any;
}

/** How the suite reaches one Overlord, and the few things it needs done there on the side. */
export interface WorkerPollDriver {
  /** The worker (host:port) the suite's agent polls as. After its first poll it is the only worker that `assign` can give tasks to. */
  readonly host: string;
  /** That agent's worker key (32-256 characters of [A-Za-z0-9._~+/=-]). */
  readonly key: string;
  /** The headers of this agent's requests: the agent token and its X-Druid-Worker-Key. */
  agentHeaders(): Record<string, string>;
  /** POSTs `body` (sent as given) to an agent endpoint path; the headers are exactly these. */
  post(path: string, body: string, headers: Record<string, string>): Promise<WireAnswer>;
  /** Creates `task` (a noop spec) and assigns it to `host`; resolves with its id once the assignment is durable. */
  assign(task: Record<string, unknown>): Promise<string>;
  /** Ends a task the way an operator does (POST .../task/{id}/shutdown); its worker must be told to stop it. */
  shutdown(taskId: string): Promise<void>;
  /** Disables or enables worker `host` the way an operator does. */
  setDisabled(disabled: boolean): Promise<void>;
  /** Resolves once a poll from worker `host` is held by the Overlord (so the next step cannot race it). */
  untilHeld(host: string): Promise<void>;
  close(): Promise<void>;
}

export const POLL_PATH = "/druid-internal/v1/agent/poll";
const uploadPath = (taskId: string, kind: "log" | "reports") => `/druid-internal/v1/agent/tasks/${encodeURIComponent(taskId)}/${kind}`;

type PollOverrides = Partial<Omit<PollBody, "worker">> & { worker?: Partial<PollBody["worker"]> };

/** A simulated agent: sends polls with the term and counter of the last answer it applied. */
class SimAgent {
  term: number | null = null;
  counter: Counter | null = null;

  constructor(
    private readonly d: WorkerPollDriver,
    readonly host = d.host,
    readonly headers = d.agentHeaders(),
  ) {}

  body(o: PollOverrides = {}): PollBody {
    const counter = o.counter !== undefined ? o.counter : this.counter;
    return {
      worker: { host: this.host, ip: "127.0.0.1", capacity: 4, category: "_default_worker_category", version: "0", prefetch: 0, ...o.worker },
      term: o.term !== undefined ? o.term : this.term,
      counter,
      timeoutMs: o.timeoutMs ?? 2000,
      full: o.full ?? counter === null,
      tasks: o.tasks ?? [],
    };
  }

  /** One poll; a 200 that is not a reset moves this agent to the answer's term and counter, a reset clears its counter. */
  async poll(o: PollOverrides = {}, headers = this.headers): Promise<WireAnswer> {
    const r = await this.d.post(POLL_PATH, JSON.stringify(this.body(o)), { ...headers, "content-type": "application/json" });
    if (r.status === 200 && r.json.resetCounter === false) {
      this.term = r.json.term;
      this.counter = r.json.counter;
    } else if (r.status === 200 && r.json.resetCounter === true) {
      this.counter = null;
    }
    return r;
  }
}

const requestsOf = (r: WireAnswer): AgentRequest[] => (r.json?.requests ?? []) as AgentRequest[];
const assignsOf = (r: WireAnswer) => requestsOf(r).filter((x): x is Extract<AgentRequest, { type: "assign" }> => x.type === "assign");
const assignedIds = (r: WireAnswer) => assignsOf(r).map((x) => x.task["id"]);
const running = (id: string): TaskStatusReport => ({ id, status: "RUNNING", duration: -1, errorMsg: null, location: { host: "contract-agent", port: 8100, tlsPort: -1 } });
const ended = (id: string, status: "SUCCESS" | "FAILED" = "SUCCESS"): TaskStatusReport => ({
  id,
  status,
  duration: 12,
  errorMsg: status === "FAILED" ? "boom" : null,
  location: { host: "contract-agent", port: 8100, tlsPort: -1 },
});
const STALE: Counter = { counter: 999, hash: 1 };
/** Another agent's key (valid in shape). */
const otherKey = (d: WorkerPollDriver) => `other-${d.key}`.slice(0, 256);

export function defineWorkerPollContract(name: string, makeDriver: () => Promise<WorkerPollDriver>): void {
  describe(`worker poll protocol: ${name}`, () => {
    let d: WorkerPollDriver;
    let a: SimAgent;
    beforeEach(async () => {
      d = await makeDriver();
      a = new SimAgent(d);
    });
    afterEach(async () => {
      await d.close();
    });

    /** The agent's first poll, then one task assigned and delivered: its id. */
    async function deliveredTask(): Promise<string> {
      expect((await a.poll()).status).toBe(200);
      const id = await d.assign({ type: "noop" });
      const r = await a.poll();
      expect(assignedIds(r)).toEqual([id]);
      return id;
    }

    describe("snapshots and the change log", () => {
      it("answers a first poll (counter null, full) with a 200 snapshot: term, counter, leaseMs, no reset, and the worker's metadata", async () => {
        const r = await a.poll({ term: null, counter: null, full: true, tasks: [] });
        expect(r.status).toBe(200);
        expect(r.json).toMatchObject({ resetCounter: false, resetCause: null, acks: [] });
        expect(typeof r.json.term).toBe("number");
        expect(r.json.leaseMs).toBeGreaterThan(0);
        expect(r.json.counter).toEqual({ counter: expect.any(Number), hash: expect.any(Number) });
        expect(r.json.counter.counter).toBeGreaterThanOrEqual(0);
        expect(requestsOf(r)).toEqual([{ type: "metadata", disabled: false }]);
      });

      it("delivers an assignment in a later poll as {type: assign, task: the full task JSON with its id, credential}", async () => {
        await a.poll();
        const id = await d.assign({ type: "noop" });
        const r = await a.poll();
        expect(r.status).toBe(200);
        const assigns = assignsOf(r);
        expect(assigns).toHaveLength(1);
        expect(assigns[0]!.task).toMatchObject({ id, type: "noop" });
        expect(typeof assigns[0]!.credential).toBe("string");
        expect(assigns[0]!.credential.length).toBeGreaterThan(0);
        expect(r.json.counter.counter).toBeGreaterThan(0);
      });

      it("answers a poll naming the returned counter with only the changes after it", async () => {
        const first = await deliveredTask();
        const second = await d.assign({ type: "noop" });
        const r = await a.poll();
        expect(assignedIds(r)).toEqual([second]);
        expect(assignedIds(r)).not.toContain(first);
      });

      it("answers 204 once timeoutMs has passed when there is nothing newer than the counter", async () => {
        await deliveredTask();
        const t0 = Date.now();
        const r = await a.poll({ timeoutMs: 60 });
        expect(r.status).toBe(204);
        expect(Date.now() - t0).toBeGreaterThanOrEqual(50);
      });

      it("answers a held poll with an assignment made while it is held", async () => {
        await a.poll();
        const held = a.poll({ timeoutMs: 20_000 });
        await d.untilHeld(a.host);
        const id = await d.assign({ type: "noop" });
        const r = await held;
        expect(r.status).toBe(200);
        expect(assignedIds(r)).toEqual([id]);
      });

      it("answers a held poll 204 when a newer poll from the same worker supersedes it", async () => {
        await a.poll();
        const held = a.poll({ timeoutMs: 20_000 });
        await d.untilHeld(a.host);
        const newer = a.poll({ timeoutMs: 30 });
        expect((await held).status).toBe(204);
        expect((await newer).status).toBe(204);
      });

      it("loses nothing when an answer never reaches the agent: a poll from the same counter gets the same changes again", async () => {
        await a.poll();
        const before = a.counter;
        const id = await d.assign({ type: "noop" });
        const lost = await a.poll({ counter: before });
        expect(assignedIds(lost)).toEqual([id]);
        const again = await a.poll({ counter: before });
        expect(assignedIds(again)).toEqual([id]);
        expect(again.json.counter).toEqual(lost.json.counter);
      });
    });

    describe("task statuses and acks", () => {
      it("acknowledges a final status in acks (not RUNNING), and acknowledges a repeated final status again", async () => {
        const id = await deliveredTask();
        // a poll carrying statuses is answered once they are applied, not held for timeoutMs
        const run = await a.poll({ tasks: [running(id)], timeoutMs: 20_000 });
        expect(run.status).toBe(200);
        expect(run.json.acks).toEqual([]);
        const fin = await a.poll({ tasks: [ended(id)], timeoutMs: 20_000 });
        expect(fin.status).toBe(200);
        expect(fin.json.acks).toEqual([id]);
        const again = await a.poll({ tasks: [ended(id)], timeoutMs: 20_000 });
        expect(again.status).toBe(200);
        expect(again.json.acks).toEqual([id]);
      });

      it("acknowledges a final status of a task it never assigned, so the agent can forget it", async () => {
        await a.poll();
        const r = await a.poll({ tasks: [ended("contract-never-assigned", "FAILED")] });
        expect(r.status).toBe(200);
        expect(r.json.acks).toEqual(["contract-never-assigned"]);
      });

      it("answers a RUNNING status of a task this worker was never given with a shutdown for it", async () => {
        await a.poll();
        const r = await a.poll({ tasks: [running("contract-stray")] });
        expect(r.status).toBe(200);
        expect(r.json.acks).toEqual([]);
        expect(requestsOf(r)).toContainEqual({ type: "shutdown", taskId: "contract-stray" });
      });

      it("answers a full list naming a running task this worker was never given with a shutdown in the snapshot", async () => {
        const r = await a.poll({ counter: null, full: true, tasks: [running("contract-stray-full")] });
        expect(r.status).toBe(200);
        expect(requestsOf(r)).toContainEqual({ type: "shutdown", taskId: "contract-stray-full" });
      });

      it("tells the worker to stop a task shut down by an operator with {type: shutdown, taskId}, and acknowledges the FAILED status that follows", async () => {
        const id = await deliveredTask();
        await a.poll({ tasks: [running(id)] });
        await d.shutdown(id);
        const r = await a.poll();
        expect(requestsOf(r)).toContainEqual({ type: "shutdown", taskId: id });
        expect(assignedIds(r)).toEqual([]);
        const fin = await a.poll({ tasks: [ended(id, "FAILED")] });
        expect(fin.json.acks).toEqual([id]);
      });

      it("tells a disabled worker so with {type: metadata, disabled: true}, in a delta and in its next snapshot, and when it is enabled again", async () => {
        await a.poll();
        await d.setDisabled(true);
        const r = await a.poll();
        expect(requestsOf(r)).toContainEqual({ type: "metadata", disabled: true });
        const snap = await a.poll({ counter: null, full: true });
        expect(requestsOf(snap)[0]).toEqual({ type: "metadata", disabled: true });
        await d.setDisabled(false);
        expect(requestsOf(await a.poll())).toContainEqual({ type: "metadata", disabled: false });
      });
    });

    describe("resets", () => {
      it("answers a stale counter ({counter: 999, hash: 1}) with resetCounter true, a cause, and null counter and requests", async () => {
        await a.poll();
        const r = await a.poll({ counter: STALE, full: false });
        expect(r.status).toBe(200);
        expect(r.json).toMatchObject({ resetCounter: true, counter: null, requests: null, acks: [] });
        expect(typeof r.json.resetCause).toBe("string");
        expect(r.json.term).toBe(a.term);
      });

      it("resets a counter whose number is current but whose hash is not", async () => {
        await deliveredTask();
        const c = a.counter!;
        const r = await a.poll({ counter: { counter: c.counter, hash: c.hash + 1 }, full: false });
        expect(r.json).toMatchObject({ resetCounter: true, counter: null, requests: null });
      });

      it("resets a counter older than one the agent has since named (acknowledged changes are gone)", async () => {
        await a.poll();
        const before = a.counter;
        await d.assign({ type: "noop" });
        await a.poll(); // applies the assignment
        expect((await a.poll({ timeoutMs: 20 })).status).toBe(204); // names the newer counter
        const r = await a.poll({ counter: before, full: false });
        expect(r.json).toMatchObject({ resetCounter: true, counter: null, requests: null });
      });

      it("resets a delta poll that names another term than the Overlord's", async () => {
        await a.poll();
        const r = await a.poll({ term: a.term! - 1, full: false });
        expect(r.json).toMatchObject({ resetCounter: true, counter: null, requests: null });
        expect(r.json.term).toBe(a.term);
      });

      it("resets a delta poll from a worker that has not sent a full poll yet", async () => {
        const first = await a.poll();
        const b = new SimAgent(d, `b${d.host}`, { ...d.agentHeaders(), [WORKER_KEY_HEADER]: otherKey(d) });
        const r = await b.poll({ term: first.json.term, counter: first.json.counter, full: false });
        expect(r.status).toBe(200);
        expect(r.json).toMatchObject({ resetCounter: true, counter: null, requests: null });
      });

      it("after a reset, answers the full poll with a snapshot holding the metadata and every assignment still to run", async () => {
        const id = await deliveredTask();
        expect((await a.poll({ counter: STALE, full: false })).json.resetCounter).toBe(true);
        const snap = await a.poll({ counter: null, full: true, tasks: [] });
        expect(snap.json.resetCounter).toBe(false);
        expect(requestsOf(snap)[0]).toEqual({ type: "metadata", disabled: false });
        expect(assignedIds(snap)).toEqual([id]);
        expect(typeof assignsOf(snap)[0]!.credential).toBe("string");
        // and delta polls continue from the snapshot's counter
        expect((await a.poll({ timeoutMs: 20 })).status).toBe(204);
      });

      it("repeats, in a full snapshot, the assignment of a task the full list names as running (applying it again is a no-op)", async () => {
        const id = await deliveredTask();
        await a.poll({ tasks: [running(id)] });
        const snap = await a.poll({ counter: null, full: true, tasks: [running(id)] });
        expect(assignedIds(snap)).toEqual([id]);
        expect(snap.json.acks).toEqual([]);
      });

      it("does not send again a task it had confirmed RUNNING that a full list omits (it disappeared on the worker)", async () => {
        const id = await deliveredTask();
        await a.poll({ tasks: [running(id)] });
        const snap = await a.poll({ counter: null, full: true, tasks: [] });
        expect(snap.status).toBe(200);
        expect(assignedIds(snap)).toEqual([]);
      });

      it("acknowledges the final statuses a full list carries, and leaves those tasks out of the snapshot", async () => {
        const id = await deliveredTask();
        await a.poll({ tasks: [running(id)] });
        const snap = await a.poll({ counter: null, full: true, tasks: [ended(id)] });
        expect(snap.json.acks).toEqual([id]);
        expect(assignedIds(snap)).toEqual([]);
      });

      it("carries, in a full snapshot, the shutdown of a stopped task the agent still lists, not its assignment", async () => {
        const id = await deliveredTask();
        await a.poll({ tasks: [running(id)] });
        await d.shutdown(id);
        const snap = await a.poll({ counter: null, full: true, tasks: [running(id)] });
        expect(requestsOf(snap)).toContainEqual({ type: "shutdown", taskId: id });
        expect(assignedIds(snap)).toEqual([]);
      });
    });

    describe("identity and refusals", () => {
      const body = (d: WorkerPollDriver) => JSON.stringify(new SimAgent(d).body());
      const json = { "content-type": "application/json" };

      it("refuses a poll without X-Druid-Worker-Key, or with a malformed one, with 400 workerKeyRequired", async () => {
        const { [WORKER_KEY_HEADER]: _key, ...noKey } = d.agentHeaders();
        for (const headers of [noKey, { ...noKey, [WORKER_KEY_HEADER]: "short" }, { ...noKey, [WORKER_KEY_HEADER]: `bad key ${"x".repeat(40)}` }, { ...noKey, [WORKER_KEY_HEADER]: "k".repeat(257) }]) {
          const r = await d.post(POLL_PATH, body(d), { ...headers, ...json });
          expect(r.status).toBe(400);
          expect(r.json.errorCode).toBe("workerKeyRequired");
        }
      });

      it("refuses a wrong agent token with 401", async () => {
        const r = await d.post(POLL_PATH, body(d), { ...d.agentHeaders(), Authorization: "Bearer not-the-agent-token", ...json });
        expect(r.status).toBe(401);
      });

      it("refuses malformed polls with 400: not JSON, a bad host, capacity below 0, timeoutMs not above 0, an unknown status, JSON nested deeper than 100 levels", async () => {
        const h = { ...d.agentHeaders(), ...json };
        const ok = new SimAgent(d).body();
        const deep = JSON.stringify({ ...ok, extra: JSON.parse("[".repeat(101) + "]".repeat(101)) as unknown });
        const bad = [
          "{not json",
          JSON.stringify({ ...ok, worker: { ...ok.worker, host: "bad host" } }),
          JSON.stringify({ ...ok, worker: { ...ok.worker, capacity: -1 } }),
          JSON.stringify({ ...ok, timeoutMs: 0 }),
          JSON.stringify({ ...ok, tasks: [{ ...running("t"), status: "DONE" }] }),
          deep,
        ];
        for (const text of bad) expect((await d.post(POLL_PATH, text, h)).status, text.slice(0, 60)).toBe(400);
        expect((await d.post(POLL_PATH, deep, h)).json.errorCode).toBe("jsonTooDeep");
        // none of them registered the worker or moved anything: a well-formed first poll still gets a plain snapshot
        expect(requestsOf(await a.poll())).toEqual([{ type: "metadata", disabled: false }]);
      });

      it("refuses, with 409 workerHeldByAnotherAgent, another key's poll for a host whose lease holds, and that poll changes nothing", async () => {
        await a.poll();
        const held = a.poll({ timeoutMs: 20_000 });
        await d.untilHeld(a.host);
        const intruder = new SimAgent(d, a.host, { ...d.agentHeaders(), [WORKER_KEY_HEADER]: otherKey(d) });
        const r = await intruder.poll({ counter: null, full: true });
        expect(r.status).toBe(409);
        expect(r.json.errorCode).toBe("workerHeldByAnotherAgent");
        // the holder's held poll was not superseded: it gets the next assignment
        const id = await d.assign({ type: "noop" });
        expect(assignedIds(await held)).toEqual([id]);
      });

      it("accepts log and report uploads for a task assigned to this worker, answering {task: id}", async () => {
        const id = await deliveredTask();
        const h = { ...d.agentHeaders(), [WORKER_HEADER]: d.host };
        const log = await d.post(uploadPath(id, "log"), "line one\n", { ...h, "content-type": "text/plain" });
        expect(log.status).toBe(200);
        expect(log.json).toEqual({ task: id });
        const rep = await d.post(uploadPath(id, "reports"), JSON.stringify({ ingestionStatsAndErrors: { taskId: id } }), { ...h, ...json });
        expect(rep.status).toBe(200);
        expect(rep.json).toEqual({ task: id });
      });

      it("refuses an upload with 403 workerKeyRefused when the key does not hold the named worker, and with 404 for a task not assigned to it", async () => {
        const id = await deliveredTask();
        const wrongKey = { ...d.agentHeaders(), [WORKER_KEY_HEADER]: otherKey(d), [WORKER_HEADER]: d.host, "content-type": "text/plain" };
        const refused = await d.post(uploadPath(id, "log"), "x", wrongKey);
        expect(refused.status).toBe(403);
        expect(refused.json.errorCode).toBe("workerKeyRefused");
        const mine = { ...d.agentHeaders(), [WORKER_HEADER]: d.host, "content-type": "text/plain" };
        expect((await d.post(uploadPath("contract-not-assigned", "log"), "x", mine)).status).toBe(404);
        const noWorker = { ...d.agentHeaders(), "content-type": "text/plain" };
        expect((await d.post(uploadPath(id, "log"), "x", noWorker)).status).toBe(400);
      });
    });
  });
}
