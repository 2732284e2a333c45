/**
 * The one Overlord in the world, as the routes call it: each RPC method's result envelope
 * (shared/errors.ts RpcResult) is unwrapped here, so a refused call throws a DruidError in the
 * Worker while the object itself never throws for an expected failure.
 */
import type { Env } from "../env.ts";
import type { Overlord } from "../objects/Overlord.ts";
import { isRpcResult, unwrapRpcResult, type RpcResult } from "../shared/errors.ts";

type Unwrapped<R> = [R] extends [RpcResult<unknown>] ? Extract<R, { ok: true }>["value"] : R;

/** The Overlord's public methods with their results unwrapped. */
export type OverlordApi = {
  [K in keyof Overlord as Overlord[K] extends (...args: never[]) => Promise<unknown> ? K : never]: Overlord[K] extends (
    ...args: infer A
  ) => Promise<infer R>
    ? (...args: A) => Promise<Unwrapped<R>>
    : never;
};

export const overlord = (env: Env): OverlordApi => {
  const stub = env.OVERLORD.getByName("overlord") as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  return new Proxy({} as OverlordApi, {
    get: (_, method: string) =>
      async (...args: unknown[]) => {
        const r = await stub[method]!(...args);
        return isRpcResult(r) ? unwrapRpcResult(r) : r;
      },
  });
};
