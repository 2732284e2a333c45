import { describe, expect, it } from "vitest";
import { configOf, DEFAULT_CONFIG } from "../../src/overlord/config.ts";
import { DruidError } from "../../src/shared/errors.ts";

describe("the Overlord's settings", () => {
  it("parses an environment once and hands every caller the same settings", () => {
    const env = { DRUID_TASK_ASSIGNMENT_TIMEOUT: "PT1M", DRUID_DEFAULT_TASK_CONTEXT: '{"priority":7}', DRUID_TEST_TASK_TYPES: "test_sleep, bad type ,test_crash" };
    const a = configOf(env);
    expect(a).toBe(configOf(env));
    expect(a.taskAssignmentTimeoutMs).toBe(60_000);
    expect(a.defaultContext).toEqual({ priority: 7 });
    expect(a.testTaskTypes).toEqual(["test_sleep", "test_crash"]);
    expect(configOf({}).maxBodyBytes).toBe(DEFAULT_CONFIG.maxBodyBytes);
  });

  it("answers a bad setting as a configuration error naming the variable (503), not a failure per request", () => {
    for (const env of [{ DRUID_DEFAULT_TASK_CONTEXT: "{not json" }, { DRUID_DEFAULT_TASK_CONTEXT: "[1]" }, { DRUID_DEFAULT_TASK_CONTEXT: `{"x":${"[".repeat(200)}${"]".repeat(200)}}` }, { DRUID_QUEUE_MAX_SIZE: "-1" }]) {
      let err: unknown;
      try {
        configOf(env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DruidError);
      expect((err as DruidError).status).toBe(503);
      expect((err as DruidError).message).toMatch(/Configuration error: DRUID_/);
    }
  });
});
