/**
 * The one Overlord in the world, as the routes call it: refused calls throw their DruidError
 * (src/platform/rpc.ts). `OVERLORD_NAME` names the object (tests give each test its own).
 */
import type { Env } from "../../env.ts";
import type { Overlord } from "../../objects/Overlord.ts";
import { overlordName } from "../../objects/names.ts";
import { unwrappingStub, type UnwrappedApi } from "../../platform/rpc.ts";

export type OverlordApi = UnwrappedApi<Overlord>;


export const overlord = (env: Env): OverlordApi => unwrappingStub<Overlord>(env.OVERLORD.getByName(overlordName(env)));
