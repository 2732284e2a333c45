import { describe, expect, it } from "vitest";
import { createTimestampExtractor, createTimestampParser } from "../../../../agent/worker/ingest/timestamp.ts";
import { compileJodaPattern } from "../../../../agent/worker/ingest/jodaPattern.ts";
import { ingest, iso } from "./helpers.ts";

const at = (s: string) => Date.parse(s);

describe("timestampSpec formats", () => {
  it("iso: dates, date-times, fractions and offsets; not a space separator", () => {
    const p = createTimestampParser("iso");
    expect(p("2015-09-12T00:46:58.771Z")).toBe(at("2015-09-12T00:46:58.771Z"));
    expect(p("2015-09-12")).toBe(at("2015-09-12T00:00:00Z"));
    expect(p("2015-09-12T10:00")).toBe(at("2015-09-12T10:00:00Z"));
    expect(p("2015-09-12T10:00:00+02:00")).toBe(at("2015-09-12T08:00:00Z"));
    expect(p("2015-09-12T10:00:00.123456-0130")).toBe(at("2015-09-12T11:30:00.123Z"));
    expect(p("2015-09-12 10:00:00")).toBeNull();
    expect(p("2015-02-30T00:00:00.000Z")).toBeNull();
    expect(p("2015-09-12T24:00:00.000Z")).toBeNull();
    expect(p("yesterday")).toBeNull();
  });

  it("auto: digits are millis, otherwise ISO with T or space and an optional zone", () => {
    const p = createTimestampParser("auto");
    expect(p("1442018818771")).toBe(1442018818771);
    expect(p(1442018818771)).toBe(1442018818771);
    expect(p("2015-09-12 00:46:58")).toBe(at("2015-09-12T00:46:58Z"));
    expect(p("2015-09-12T00:46:58.771Z")).toBe(at("2015-09-12T00:46:58.771Z"));
    expect(p("2015-09-12 10:00:00 America/New_York")).toBe(at("2015-09-12T14:00:00Z"));
    expect(p("-5")).toBeNull();
  });

  it("millis, posix, micro, nano and ruby from text and from numbers", () => {
    expect(createTimestampParser("millis")("1442018818771")).toBe(1442018818771);
    expect(createTimestampParser("millis")("14420.5")).toBeNull();
    expect(createTimestampParser("posix")("1442018818")).toBe(1442018818000);
    expect(createTimestampParser("posix")(1442018818.9)).toBe(1442018818000);
    expect(createTimestampParser("micro")("1442018818771123")).toBe(1442018818771);
    expect(createTimestampParser("nano")(1442018818771123456)).toBe(1442018818771);
    expect(createTimestampParser("ruby")("1442018818.771")).toBe(1442018818771);
    expect(createTimestampParser("iso")(1442018818771)).toBe(1442018818771); // numbers are millis for other formats
  });

  it("Joda patterns: common layouts", () => {
    const p = (pattern: string, text: string) => compileJodaPattern(pattern)(text);
    expect(p("yyyy-MM-dd HH:mm:ss", "2015-09-12 07:08:09")).toBe(at("2015-09-12T07:08:09Z"));
    expect(p("dd/MMM/yyyy:HH:mm:ss Z", "12/Sep/2015:07:08:09 -0700")).toBe(at("2015-09-12T14:08:09Z"));
    expect(p("yyyyMMddHHmmss", "20150912070809")).toBe(at("2015-09-12T07:08:09Z"));
    expect(p("MM/dd/yyyy h:mm a", "9/12/2015 7:08 PM")).toBe(at("2015-09-12T19:08:00Z"));
    expect(p("MM/dd/yyyy h:mm a", "9/12/2015 12:08 AM")).toBe(at("2015-09-12T00:08:00Z"));
    expect(p("yyyy-MM-dd'T'HH:mm:ss.SSSZZ", "2015-09-12T07:08:09.5+02:00")).toBe(at("2015-09-12T05:08:09.500Z"));
    expect(p("yyyy-MM-dd'T'HH:mm:ss.SSSZ", "2015-09-12T07:08:09.123Z")).toBe(at("2015-09-12T07:08:09.123Z"));
    expect(p("EEE, dd MMMM yyyy", "Sat, 12 September 2015")).toBe(at("2015-09-12T00:00:00Z"));
    expect(p("yyyy-DDD", "2016-060")).toBe(at("2016-02-29T00:00:00Z"));
    expect(p("yyyy-MM-dd HH:mm:ss ZZZ", "2015-09-12 07:00:00 Europe/Paris")).toBe(at("2015-09-12T05:00:00Z"));
    expect(p("dd.MM.yy", "12.09.15")).toBe(at("2015-09-12T00:00:00Z"));
  });

  it("Joda patterns: mismatches and impossible dates are unparseable", () => {
    const p = compileJodaPattern("yyyy-MM-dd");
    expect(p("2015/09/12")).toBeNull();
    expect(p("2015-02-30")).toBeNull();
    expect(p("2015-13-01")).toBeNull();
  });

  it("rejects unsupported pattern letters up front", () => {
    expect(() => compileJodaPattern("yyyy-ww")).toThrow(/Unsupported timestamp format letter \[w\]/);
  });
});

describe("timestamp extraction from rows", () => {
  it("reads the default column 'timestamp' with format auto", () => {
    expect(createTimestampExtractor()({ timestamp: "2024-01-01" })).toBe(at("2024-01-01T00:00:00Z"));
  });

  it("uses missingValue when the column is absent or null", () => {
    const x = createTimestampExtractor({ column: "t", missingValue: "2010-01-01T00:00:00Z" });
    expect(x({})).toBe(at("2010-01-01T00:00:00Z"));
    expect(x({ t: null })).toBe(at("2010-01-01T00:00:00Z"));
  });

  it("throws Druid's message for a missing or unreadable timestamp", () => {
    const x = createTimestampExtractor({ column: "t" });
    expect(() => x({ a: 1 })).toThrow("Timestamp[null] is unparseable! Event: {a=1}");
    expect(() => x({ t: "soon", a: [1, 2] })).toThrow("Timestamp[soon] is unparseable! Event: {t=soon, a=[1, 2]}");
  });

  it("ingests rows with a Joda-pattern timestamp and counts unreadable ones", async () => {
    const r = await ingest(`{"when":"2015-09-12 07:08:09","x":"a"}\n{"when":"12 Sep 2015","x":"b"}`, {
      dataSchema: { timestampSpec: { column: "when", format: "yyyy-MM-dd HH:mm:ss" } },
      tuningConfig: { maxSavedParseExceptions: 5 },
    });
    expect(r.rows.map((x) => iso(x.__time))).toEqual(["2015-09-12T07:08:09.000Z"]);
    expect(r.rowStats).toMatchObject({ processed: 1, unparseable: 1 });
    expect(r.unparseableEvents[0]!.details[0]).toBe("Timestamp[12 Sep 2015] is unparseable! Event: {when=12 Sep 2015, x=b}");
  });
});
