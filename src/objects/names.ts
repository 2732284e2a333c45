/**
 * The names of the two objects: one each in the world, "overlord" and "coordinator" (or the
 * OVERLORD_NAME / COORDINATOR_NAME variables). Each object finds its partner from its own name —
 * "coordinator-x" talks to "overlord-x" — so tests, which give each test its own pair, keep a
 * pair's calls and nudges inside the pair.
 */
import type { Env } from "../env.ts";

const given = (v: unknown): string | null => (typeof v === "string" && v ? v : null);

export const overlordName = (env: Env): string => given(env.OVERLORD_NAME) ?? "overlord";
export const coordinatorName = (env: Env): string => given(env.COORDINATOR_NAME) ?? "coordinator";

/** The Overlord of the Coordinator named `own`. */
export function overlordOf(env: Env, own: string | undefined): string {
  return given(env.OVERLORD_NAME) ?? (own?.startsWith("coordinator") ? `overlord${own.slice("coordinator".length)}` : "overlord");
}

/** The Coordinator of the Overlord named `own`. */
export function coordinatorOf(env: Env, own: string | undefined): string {
  return given(env.COORDINATOR_NAME) ?? (own?.startsWith("overlord") ? `coordinator${own.slice("overlord".length)}` : "coordinator");
}
