import { describe, expect, it } from "vitest";
import { readLines } from "../../../../agent/worker/ingest/lines.ts";

async function linesOf(chunks: (string | number[])[], name = "data.json"): Promise<string[]> {
  async function* source() {
    for (const c of chunks) yield typeof c === "string" ? new TextEncoder().encode(c) : Uint8Array.from(c);
  }
  const out: string[] = [];
  for await (const batch of readLines(source(), name, () => {})) out.push(...batch);
  return out;
}

describe("readLines", () => {
  it("splits on newlines across chunks, keeps empty lines and a last line without a newline", async () => {
    expect(await linesOf(["a\nb", "c\n\nd"])).toEqual(["a", "bc", "", "d"]);
    expect(await linesOf(["a\n"])).toEqual(["a"]);
    expect(await linesOf(["x\r\ny\r\n"])).toEqual(["x", "y"]);
  });

  it("decodes non-ASCII lines, also when a character is split between chunks, next to ASCII ones", async () => {
    const bytes = [...new TextEncoder().encode('{"city":"Zürich","page":"日本"}\n{"ascii":true}\n')];
    const at = bytes.indexOf(0xc3) + 1; // inside ü
    expect(await linesOf([bytes.slice(0, at), bytes.slice(at)])).toEqual(['{"city":"Zürich","page":"日本"}', '{"ascii":true}']);
  });

  it("turns invalid UTF-8 into U+FFFD and drops a leading byte order mark", async () => {
    expect(await linesOf([[0x61, 0xff, 0x62, 0x0a]])).toEqual(["a\ufffdb"]);
    expect(await linesOf([[0xef, 0xbb], [0xbf, 0x7b, 0x7d, 0x0a, 0x7b, 0x7d]])).toEqual(["{}", "{}"]);
    expect(await linesOf([[0xef, 0xbb, 0xbf, 0x61]])).toEqual(["a"]);
  });
});
