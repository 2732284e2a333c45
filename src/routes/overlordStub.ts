import type { Env } from "../env.ts";

/** The one Overlord in the world. */
export const overlord = (env: Env) => env.OVERLORD.getByName("overlord");
