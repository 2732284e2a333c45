/**
 * The agent's graceful stop (SIGTERM/SIGINT): report capacity 0 at once (the Overlord assigns
 * nothing more; an assignment already on its way fails with "Agent is shutting down", as do the
 * tasks still queued here), let running tasks finish for up to --shutdown-grace-ms, stop the
 * rest ("Agent shut down"), let their logs ship, report every final status (waiting up to 15 s
 * for acknowledgements), then end the poll loop, the task processes and the state directory.
 */
import type { Logger } from "../common/logger.ts";
import type { PollLoop } from "../common/pollLoop.ts";
import type { Waiters } from "../common/waiters.ts";
import type { AgentConfig } from "./config.ts";
import type { EventSink } from "./events.ts";
import type { AgentState } from "./identity.ts";
import type { TaskPool } from "./pool.ts";
import { UPLOAD_GIVE_UP_MS } from "./shipping.ts";
import type { TaskSlots } from "./taskSlots.ts";

/** How long to wait for the Overlord to acknowledge the last statuses. */
const FINAL_REPORT_WAIT_MS = 15_000;

export interface Stoppable {
  cfg: AgentConfig;
  logger: Logger;
  slots: TaskSlots;
  waiters: Waiters;
  loop: Pick<PollLoop<unknown>, "pollNow" | "stop">;
  pool: TaskPool;
  state: AgentState;
  events: EventSink;
}

export async function stopGracefully({ cfg, logger, slots, waiters, loop, pool, state, events }: Stoppable): Promise<void> {
  slots.stopAccepting();
  logger.info("stopping: taking no new tasks, waiting for running ones", { graceMs: cfg.shutdownGraceMs, running: slots.usedCapacity });
  loop.pollNow(); // capacity 0 goes out now
  slots.stopQueued("Agent is shutting down");
  if (!(await waiters.waitUntil(() => !slots.busy(), cfg.shutdownGraceMs))) {
    slots.stopAll("Agent shut down");
    await waiters.waitUntil(() => !slots.busy(), cfg.taskStopGraceMs + 10_000);
  }
  await waiters.waitUntil(() => !slots.shipping(), UPLOAD_GIVE_UP_MS + 5000);
  const reported = await waiters.waitUntil(() => slots.size === 0, FINAL_REPORT_WAIT_MS);
  if (!reported) logger.warn("stopping without acknowledgement of some statuses", { tasks: slots.ids() });
  await loop.stop();
  await pool.close();
  state.release();
  events.emit("agent.stopped", { host: cfg.host });
  events.close();
  logger.info("agent stopped");
}
