/** Overlord RPC results: refusals travel as values and come back out as the same DruidError. */
import { describe, expect, it } from "vitest";
import { DruidError, invalidInput, notFound } from "../../src/shared/errors.ts";
import { isRpcResult, rpcLog, rpcResult, unwrapRpcResult } from "../../src/platform/rpc.ts";

describe("RPC results", () => {
  it("carries a value through unchanged, null included", async () => {
    expect(unwrapRpcResult(await rpcResult(() => ["a", "b"]))).toEqual(["a", "b"]);
    expect(unwrapRpcResult(await rpcResult(async () => null))).toBeNull();
  });

  it("turns a thrown DruidError into a value, and back into a DruidError with its category, code, context and status", async () => {
    const r = await rpcResult(() => {
      throw new DruidError("INVALID_INPUT", "too big", "requestTooLarge", { limit: "1" }, 413);
    });
    expect(r).toMatchObject({ ok: false, error: { errorCode: "requestTooLarge", status: 413 } });
    expect(JSON.parse(JSON.stringify(r))).toEqual(r); // survives structured cloning / JSON
    let thrown: unknown;
    try {
      unwrapRpcResult(r);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(DruidError);
    expect((thrown as DruidError).toJSON()).toEqual(new DruidError("INVALID_INPUT", "too big", "requestTooLarge", { limit: "1" }).toJSON());
    expect((thrown as DruidError).status).toBe(413);
    expect(() => unwrapRpcResult({ rpcResult: 1, ok: false, error: { ...notFound("no such task").toJSON(), status: 404 } })).toThrow("no such task");
  });

  it("makes an unexpected error a runtime failure (500) and logs it with its stack; expected refusals are not logged", async () => {
    const logged: unknown[] = [];
    const original = rpcLog.unexpected;
    rpcLog.unexpected = (err) => logged.push(err);
    try {
      const r = await rpcResult(() => {
        throw new TypeError("boom");
      });
      expect(r).toMatchObject({ ok: false, error: { category: "RUNTIME_FAILURE", errorMessage: "boom", status: 500 } });
      await rpcResult(() => {
        throw notFound("no such task");
      });
    } finally {
      rpcLog.unexpected = original;
    }
    expect(logged).toHaveLength(1);
    expect((logged[0] as Error).stack).toContain("TypeError: boom");
  });

  it("tells its results from plain values", async () => {
    expect(isRpcResult(await rpcResult(() => 1))).toBe(true);
    expect(isRpcResult({ ok: true, value: 1 })).toBe(false);
    expect(isRpcResult(null)).toBe(false);
    expect(isRpcResult(invalidInput("x"))).toBe(false);
  });
});
