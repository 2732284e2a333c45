/** The names of the two objects: one each in the world (tests give each test its own through the variables). */
import type { Env } from "../env.ts";

export const overlordName = (env: Env): string => (typeof env.OVERLORD_NAME === "string" && env.OVERLORD_NAME) || "overlord";
export const coordinatorName = (env: Env): string => (typeof env.COORDINATOR_NAME === "string" && env.COORDINATOR_NAME) || "coordinator";
