/** Leadership and status endpoints (`/leader`, `/isLeader`, `/status`, `/status/health`). */
import type { RouterType } from "itty-router";
import { json, text, type Ctx, type Req } from "./http.ts";
import { coordinator } from "./coordinatorStub.ts";
import { overlord } from "./overlordStub.ts";

export function statusRoutes(router: RouterType<Req, [Ctx]>) {
  // The Overlord object is the leader by construction: this service's own URL is the leader's.
  router.get("/druid/indexer/v1/leader", (req) => text(new URL(req.url).origin));
  router.get("/druid/indexer/v1/isLeader", () => json({ leader: true }));
  // Likewise the Coordinator object (Druid's web console needs isLeader 200 for its views).
  router.get("/druid/coordinator/v1/leader", (req) => text(new URL(req.url).origin));
  router.get("/druid/coordinator/v1/isLeader", () => json({ leader: true }));
  router.get("/status", async (_req, ctx) => {
    const [s, c] = await Promise.all([overlord(ctx.env).status(), coordinator(ctx.env).status()]);
    return json({
      version: s.version,
      modules: [],
      memory: { maxMemory: 134_217_728, totalMemory: 134_217_728, freeMemory: -1, usedMemory: -1, directMemory: -1 },
      overlord: { term: s.term, stage: s.stage, stages: s.stages, startedAt: s.startedAt, groupCommits: s.flushes, largestCommitGroup: s.largestGroup, avgCommitMs: s.avgCommitMs },
      coordinator: { term: c.term, stage: c.stage, stages: c.stages, startedAt: c.startedAt, segments: c.segments, view: c.view },
    });
  });
  router.get("/status/ready", () => json(true));
  router.get("/status/selfDiscovered/status", () => json({ selfDiscovered: true }));
}
