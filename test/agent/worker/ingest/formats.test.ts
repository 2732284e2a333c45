import { writeFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { splitCsv } from "../../../../agent/worker/ingest/inputFormat.ts";
import { ingest, jsonl, tempDir, withoutTime } from "./helpers.ts";

const T = "2024-01-01T00:00:00.000Z";
let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => { await cleanup?.(); cleanup = null; });

describe("csv parsing (RFC 4180)", () => {
  it("splits plain fields, keeps empty ones", () => {
    expect(splitCsv("a,b,,d,")).toEqual(["a", "b", "", "d", ""]);
  });

  it("unquotes fields holding the delimiter, doubled quotes and line breaks", () => {
    expect(splitCsv('"a,b","say ""hi""","two\nlines",x')).toEqual(["a,b", 'say "hi"', "two\nlines", "x"]);
  });

  it("reports an open quoted field as incomplete", () => {
    expect(splitCsv('a,"b')).toBeNull();
  });

  it("ingests quoted values, including one spanning two lines", async () => {
    const data = `ts,name,note\n${T},"Smith, J","line one\nline two"\n${T},plain,"with ""quotes"""`;
    const r = await ingest(data, {
      inputFormat: { type: "csv", findColumnsFromHeader: true },
      dataSchema: { timestampSpec: { column: "ts", format: "iso" } },
    });
    expect(r.rowStats).toMatchObject({ processed: 2, unparseable: 0 });
    expect(withoutTime(r.rows)).toEqual([
      { name: "Smith, J", note: "line one\nline two" },
      { name: "plain", note: 'with "quotes"' },
    ]);
  });

  it("takes columns from the spec, skips header rows, and splits multi-values on listDelimiter", async () => {
    const data = `# exported by a tool\n# another comment\n${T},a|c|b,1\n${T},solo,2`;
    const r = await ingest(data, {
      inputFormat: { type: "csv", columns: ["ts", "tags", "n"], skipHeaderRows: 2, listDelimiter: "|" },
      dataSchema: { timestampSpec: { column: "ts" }, dimensionsSpec: { dimensions: ["tags", "n"] } },
    });
    expect(withoutTime(r.rows)).toEqual([{ tags: ["a", "b", "c"], n: "1" }, { tags: ["solo"], n: "2" }]);
    expect(r.segments[0]!.meta.dimensions[0]).toEqual({ name: "tags", type: "string", multiValue: true });
  });

  it("skips rows before the header, then reads the header", async () => {
    const data = `junk line\nts,x\n${T},1`;
    const r = await ingest(data, { inputFormat: { type: "csv", findColumnsFromHeader: true, skipHeaderRows: 1 }, dataSchema: { timestampSpec: { column: "ts" } } });
    expect(withoutTime(r.rows)).toEqual([{ x: "1" }]);
  });

  it("fills missing trailing columns with null and ignores extra values", async () => {
    const r = await ingest(`${T},a\n${T},b,c,extra`, {
      inputFormat: { type: "csv", columns: ["ts", "x", "y"] },
      dataSchema: { timestampSpec: { column: "ts" }, dimensionsSpec: { dimensions: ["x", "y"] } },
    });
    expect(withoutTime(r.rows)).toEqual([{ x: "a", y: null }, { x: "b", y: "c" }]);
  });

  it("reports an unterminated quote at the end of the input as unparseable", async () => {
    const r = await ingest(`${T},ok\n${T},"never closed`, { inputFormat: { type: "csv", columns: ["ts", "x"] }, dataSchema: { timestampSpec: { column: "ts" } } });
    expect(r.rowStats).toMatchObject({ processed: 1, unparseable: 1 });
  });

  it("handles CRLF line endings", async () => {
    const r = await ingest(`ts,x\r\n${T},a\r\n${T},b\r\n`, { inputFormat: { type: "csv", findColumnsFromHeader: true }, dataSchema: { timestampSpec: { column: "ts" } } });
    expect(withoutTime(r.rows)).toEqual([{ x: "a" }, { x: "b" }]);
  });

  it("needs columns or findColumnsFromHeader", async () => {
    await expect(ingest("x", { inputFormat: { type: "csv" } })).rejects.toThrow(/needs columns/);
  });
});

describe("tsv parsing", () => {
  it("splits on tab by default without treating quotes specially", async () => {
    const r = await ingest(`ts\tx\ty\n${T}\t"q"\ta,b`, { inputFormat: { type: "tsv", findColumnsFromHeader: true }, dataSchema: { timestampSpec: { column: "ts" } } });
    expect(withoutTime(r.rows)).toEqual([{ x: '"q"', y: "a,b" }]);
  });

  it("uses a custom delimiter", async () => {
    const r = await ingest(`${T}|a|b`, { inputFormat: { type: "tsv", delimiter: "|", columns: ["ts", "x", "y"] }, dataSchema: { timestampSpec: { column: "ts" } } });
    expect(withoutTime(r.rows)).toEqual([{ x: "a", y: "b" }]);
  });
});

describe("json lines", () => {
  it("reads one object per line and counts broken or non-object lines as unparseable", async () => {
    const r = await ingest(`{"timestamp":"${T}","a":"x"}\n{not json}\n[1,2]\n\n{"timestamp":"${T}","a":"y"}`, { tuningConfig: { maxSavedParseExceptions: 10 } });
    expect(r.rowStats).toMatchObject({ processed: 2, unparseable: 3 });
    expect(r.unparseableEvents[0]).toEqual({ input: "{not json}", errorType: "unparseable", details: ["Unable to parse row [{not json}]"], timeOfExceptionMillis: 42 });
  });

  it("streams .gz files through gunzip and counts the compressed bytes", async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    const rows = Array.from({ length: 3000 }, (_, i) => ({ timestamp: Date.UTC(2024, 0, 1) + i * 1000, n: `v${i % 7}`, text: "é☃".repeat(i % 50) }));
    const gz = gzipSync(jsonl(rows));
    await writeFile(path.join(t.dir, "events.json.gz"), gz);
    const r = await ingest("", { inputSource: { type: "local", baseDir: ".", filter: "*.gz" } }, t.dir);
    expect(r.rowStats).toMatchObject({ processed: 3000, processedBytes: gz.length, unparseable: 0 });
    expect(r.rows.map((x) => x.text)).toEqual(rows.map((x) => (x.text === "" ? "" : x.text)));
  });
});
