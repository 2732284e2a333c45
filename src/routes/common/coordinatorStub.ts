/** The one Coordinator in the world, as the routes call it. `COORDINATOR_NAME` names the object (tests give each test its own). */
import type { Env } from "../../env.ts";
import type { Coordinator } from "../../objects/Coordinator.ts";
import { coordinatorName } from "../../objects/names.ts";
import { unwrappingStub, type UnwrappedApi } from "../../platform/rpc.ts";

export type CoordinatorApi = UnwrappedApi<Coordinator>;


export const coordinator = (env: Env): CoordinatorApi => unwrappingStub<Coordinator>(env.COORDINATOR.getByName(coordinatorName(env)));
