/**
 * RPC between the Worker and a Durable Object: a result envelope, and a typed stub that opens it.
 *
 * Expected failures (a 404, a duplicate id) travel as values rather than as thrown exceptions:
 * the runtime logs every exception an RPC method throws as "Uncaught (in promise)" with its
 * stack, which would fill `wrangler dev`'s console on every refused request. Unexpected ones
 * (a bug: anything that is not a DruidError) are still logged here with their stack, then
 * answered as RUNTIME_FAILURE. The Worker side turns the error back into a thrown DruidError
 * with its category, code, context and status.
 */
import { asDruidError, DruidError, type DruidErrorBody } from "../shared/errors.ts";

export type RpcResult<T> = { rpcResult: 1; ok: true; value: T } | { rpcResult: 1; ok: false; error: DruidErrorBody & { status: number } };

export function isRpcResult(v: unknown): v is RpcResult<unknown> {
  return typeof v === "object" && v !== null && (v as { rpcResult?: unknown }).rpcResult === 1;
}

/** Where unexpected errors are reported (tests replace it to observe). */
export const rpcLog = { unexpected: (err: unknown) => console.error("unexpected error in an RPC method:", err) };

/** Runs an RPC method's body; any failure becomes the error half of the result. */
export async function rpcResult<T>(fn: () => Promise<T> | T): Promise<RpcResult<T>> {
  try {
    return { rpcResult: 1, ok: true, value: await fn() };
  } catch (err) {
    if (!(err instanceof DruidError)) rpcLog.unexpected(err);
    const e = asDruidError(err);
    return { rpcResult: 1, ok: false, error: { ...e.toJSON(), status: e.status } };
  }
}

/** The value of an RPC result, or its error thrown as a DruidError. */
export function unwrapRpcResult<T>(r: RpcResult<T>): T {
  if (r.ok) return r.value;
  const { category, errorMessage, errorCode, context, status } = r.error;
  const e = new DruidError(category, errorMessage, errorCode, context);
  throw e.status === status ? e : new DruidError(category, errorMessage, errorCode, context, status);
}

type Unwrapped<R> = [R] extends [RpcResult<unknown>] ? Extract<R, { ok: true }>["value"] : R;

/** An object's public async methods, with their results unwrapped. */
export type UnwrappedApi<O> = {
  [K in keyof O as O[K] extends (...args: never[]) => Promise<unknown> ? K : never]: O[K] extends (...args: infer A) => Promise<infer R>
    ? (...args: A) => Promise<Unwrapped<R>>
    : never;
};

/** A stub whose methods throw a refused call's DruidError instead of returning its envelope. */
export function unwrappingStub<O>(stub: unknown): UnwrappedApi<O> {
  const target = stub as Record<string, (...args: unknown[]) => Promise<unknown>>;
  return new Proxy({} as UnwrappedApi<O>, {
    get: (_, method: string) =>
      async (...args: unknown[]) => {
        const r = await target[method]!(...args);
        return isRpcResult(r) ? unwrapRpcResult(r) : r;
      },
  });
}
