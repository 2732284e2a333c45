/**
 * What the Coordinator asks of the Overlord: one fenced entry point (`Overlord.forCoordinator`,
 * carrying the Coordinator's term) over these requests, so every write the Coordinator makes
 * through the Overlord — the one writer of segments, pending segments and tasks — is refused
 * once a newer Coordinator incarnation has spoken, and the reads its duties need come the same
 * way. Defined once here for both sides.
 */
import type { MarkRequest } from "../overlord/segmentMarking.ts";

export interface KillSlots {
  /** Task slots of the enabled, live workers. */
  totalSlots: number;
  /** Active kill tasks the Coordinator issued (id prefix coordinator-issued). */
  activeKillTasks: number;
}

export interface CoordinatorRequests {
  /** Marks segments used or unused; answers how many changed. */
  markSegments: { req: { dataSource: string; request: MarkRequest }; answer: number };
  /** Submits a kill task (its JSON, id included); answers its id. */
  submitTask: { req: { task: Record<string, unknown> }; answer: string };
  killSlots: { req: object; answer: KillSlots };
  /** Creation of the data source's oldest active task and newest completed task (null: none). */
  taskCreatedTimes: { req: { dataSource: string }; answer: { earliestActiveMs: number | null; latestCompletedMs: number | null } };
  /** Deletes the data source's pending segments created before the time; answers how many. */
  deletePendingSegments: { req: { dataSource: string; createdBeforeMs: number }; answer: number };
  /** Deletes the Overlord's audit entries created before the time; answers how many. */
  deleteAudit: { req: { beforeMs: number }; answer: number };
}

export type CoordinatorRequestKind = keyof CoordinatorRequests;
export type CoordinatorRequest = { [K in CoordinatorRequestKind]: { kind: K } & CoordinatorRequests[K]["req"] }[CoordinatorRequestKind];
export type CoordinatorAnswer<K extends CoordinatorRequestKind> = CoordinatorRequests[K]["answer"];
