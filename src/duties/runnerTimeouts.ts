/**
 * The Overlord's runner timeouts as a duty on the alarm: leases, taskAssignmentTimeout,
 * taskCleanupTimeout and the blacklist's end, run when the earliest of them is due.
 */
import type { Duty } from "../platform/alarms.ts";
import type { OverlordCore } from "../overlord/overlordCore.ts";

export function runnerTimeoutsDuty(core: () => OverlordCore): Duty {
  return { name: "runnerTimeouts", nextRunAt: () => core().nextDeadline(), run: () => core().runner.tick() };
}
