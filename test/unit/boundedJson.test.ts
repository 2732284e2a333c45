import { describe, expect, it } from "vitest";
import { depthWithin, parseBoundedJson, scanJsonText } from "../../src/shared/boundedJson.ts";

const nested = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
const code = (text: string) => {
  try {
    parseBoundedJson(text);
    return "ok";
  } catch (err) {
    return (err as { errorCode?: string }).errorCode;
  }
};

describe("bounded JSON", () => {
  it("accepts nesting up to the limit and refuses one level more, before parsing", () => {
    expect(code(nested(100))).toBe("ok");
    expect(code(nested(101))).toBe("jsonTooDeep");
    expect(code(`{"a":${nested(1_000_000)}}`)).toBe("jsonTooDeep");
  });

  it("does not count brackets or digits inside strings, escaped quotes included", () => {
    expect(scanJsonText(`{"a":"${"[".repeat(500)}\\"${"{".repeat(500)}1e999"}`)).toEqual({ tooDeep: false, hugeNumber: null });
  });

  it("refuses numbers a double cannot hold, keeps those it can", () => {
    expect(code('{"x":1e308}')).toBe("ok");
    expect(code('{"x":-1.5e-400}')).toBe("ok"); // underflows to -0: a finite double
    expect(code('{"x":1e400}')).toBe("numberOutOfRange");
    expect(code(`[${"9".repeat(400)}]`)).toBe("numberOutOfRange");
    expect(code(`[${"9".repeat(300)}]`)).toBe("ok");
  });

  it("refuses a __proto__ key anywhere, spelled plainly or with escapes", () => {
    expect(code('{"a":[{"__proto__":1}]}')).toBe("protoKey");
    expect(code('{"\\u005f_proto__":1}')).toBe("protoKey");
    expect(code('{"proto":1,"constructor":2}')).toBe("ok");
  });

  it("checks the depth of a value already parsed without recursion", () => {
    let v: unknown = [];
    for (let i = 1; i < 200_000; i++) v = [v];
    expect(depthWithin(v)).toBe(false);
    expect(depthWithin(JSON.parse(nested(100)))).toBe(true);
    expect(depthWithin({ a: { b: [1, "x", null] } }, 3)).toBe(true);
    expect(depthWithin({ a: { b: [[1]] } }, 3)).toBe(false);
  });
});
