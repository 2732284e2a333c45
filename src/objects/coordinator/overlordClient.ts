/**
 * The Coordinator's side of its link to the Overlord: every request carries the term of the
 * incarnation (and duty run) that makes it, and a refusal comes back as the Overlord's error.
 */
import type { Env } from "../../env.ts";
import type { CoordinatorAnswer, CoordinatorRequest, CoordinatorRequestKind } from "../../protocol/coordinatorRequests.ts";
import { unwrapRpcResult } from "../../platform/rpc.ts";

export class OverlordClient {
  constructor(
    private readonly env: Env,
    /** The Overlord's object name (objects/names.ts overlordOf). */
    private readonly overlord: string,
    readonly term: number,
  ) {}

  async ask<K extends CoordinatorRequestKind>(req: CoordinatorRequest & { kind: K }): Promise<CoordinatorAnswer<K>> {
    const r = await this.env.OVERLORD.getByName(this.overlord).forCoordinator(this.term, req);
    return unwrapRpcResult(r) as CoordinatorAnswer<K>;
  }
}
