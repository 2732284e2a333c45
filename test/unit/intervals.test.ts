import { describe, expect, it } from "vitest";
import { DruidError } from "../../src/shared/errors.ts";
import { MAX_INSTANT, MIN_INSTANT, parseInstant, parseInterval, parsePeriod } from "../../src/shared/intervals.ts";
import { parseSegmentId } from "../../src/segments/segmentId.ts";

/** The DruidError a call throws (fails the test when it does not throw one). */
function refusal(fn: () => unknown): DruidError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DruidError);
    expect((err as DruidError).status).toBe(400);
    return err as DruidError;
  }
  throw new Error("expected a refusal");
}

const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) => Date.UTC(y, mo - 1, d, h, mi, s, ms);

describe("parseInstant reads the instants Druid's Joda parser reads", () => {
  it.each([
    ["2020-01-01", utc(2020, 1, 1)],
    ["2020-01", utc(2020, 1, 1)],
    ["2020", utc(2020, 1, 1)],
    ["2020-01-01T10", utc(2020, 1, 1, 10)],
    ["2020-01-01T10:20", utc(2020, 1, 1, 10, 20)],
    ["2020-01-01T10:20:30", utc(2020, 1, 1, 10, 20, 30)],
    ["2020-01-01T10:20:30Z", utc(2020, 1, 1, 10, 20, 30)],
    ["2020-01-01T10:20:30.123Z", utc(2020, 1, 1, 10, 20, 30, 123)],
    ["2020-01-01T10:20:30.5Z", utc(2020, 1, 1, 10, 20, 30, 500)],
    ["2020-01-01T10:20:30,5Z", utc(2020, 1, 1, 10, 20, 30, 500)],
    ["2020-01-01T10:20:30.123456789Z", utc(2020, 1, 1, 10, 20, 30, 123)],
    ["2020-01-01T10:00:00+05:30", utc(2020, 1, 1, 4, 30)],
    ["2020-01-01T10:00:00+0530", utc(2020, 1, 1, 4, 30)],
    ["2020-01-01T10:00:00-05", utc(2020, 1, 1, 15)],
    ["2020-01-01T00:00:00+23:59", utc(2019, 12, 31, 0, 1)],
    ["2020-01-01T00:00:00-23:59", utc(2020, 1, 1, 23, 59)],
    ["2020-01-01t10:00z", utc(2020, 1, 1, 10)],
    ["2020-001", utc(2020, 1, 1)],
    ["2020-W01-1", utc(2019, 12, 30)],
    ["T10:00", utc(1970, 1, 1, 10)],
    ["+2020-01-01", utc(2020, 1, 1)],
    ["10000-01-01", Date.parse("+010000-01-01T00:00:00Z")],
    ["-0001-01-01", Date.parse("-000001-01-01T00:00:00Z")],
  ])("reads %s", (text, ms) => {
    expect(parseInstant(text)).toBe(ms);
  });

  it("maps Druid's eternity strings onto the extremes", () => {
    expect(parseInstant("-146136543-09-08T08:23:32.096Z")).toBe(MIN_INSTANT);
    expect(parseInstant("146140482-04-24T15:36:27.903Z")).toBe(MAX_INSTANT);
  });

  it.each(["+25:00", "-24:00", "+24", "+23:60", "+99:99"])("refuses the offset %s (Joda allows -23:59:59.999 to +23:59:59.999)", (offset) => {
    expect(refusal(() => parseInstant(`2020-01-01T00:00:00${offset}`)).message).toContain("offset");
  });

  it.each(["2020-01-01T24:00", "2020-01-01T24:00:00Z", "2020-01-01T24:00:00.000Z", "2020-01-01T23:60", "2020-01-01T23:59:60Z"])(
    "refuses the time %s (Joda's hours are 0-23, minutes and seconds 0-59)",
    (text) => {
      refusal(() => parseInstant(text));
    },
  );

  it.each(["2020-02-30", "2020-02-30T00:00:00.000Z", "2019-02-29T00:00:00.000Z", "2020-13-01", "2020-00-10", "2020-W54-1", "2020-367"])("refuses the date %s", (text) => {
    refusal(() => parseInstant(text));
  });

  it.each([
    "20200101", // Joda reads the digits as the year 20200101, which is outside the range
    "20200101T000000Z",
    "10:00", // luxon would read a bare time as today
    "2020-01-01 10:00",
    "2020-1-1",
    "2020-01-01Z",
    "2020-01-01T10:00:00.1234567890Z",
    "2020-01-01T10:00:00+05:30:15",
    " 2020-01-01",
    "",
    "now",
  ])("refuses %j", (text) => {
    refusal(() => parseInstant(text));
  });

  it("refuses years beyond what the service can represent with a clear message", () => {
    expect(refusal(() => parseInstant("292278993-01-01")).message).toMatch(/range/);
    expect(refusal(() => parseInstant("-300000-01-01")).message).toMatch(/range/);
  });
});

describe("parseInterval", () => {
  it("reads start/end, start/period and period/end", () => {
    expect(parseInterval("2020-01-01/2020-01-02")).toEqual({ start: utc(2020, 1, 1), end: utc(2020, 1, 2) });
    expect(parseInterval("2020-01-01T00:00:00.000Z/P1D")).toEqual({ start: utc(2020, 1, 1), end: utc(2020, 1, 2) });
    expect(parseInterval("P1M/2020-03-01")).toEqual({ start: utc(2020, 2, 1), end: utc(2020, 3, 1) });
    expect(parseInterval("2020-01-01_2020-01-02", "interval", true)).toEqual({ start: utc(2020, 1, 1), end: utc(2020, 1, 2) });
    expect(parseInterval("2020-01-01_2020-01-02", "interval", { allowUnderscore: true })).toEqual({ start: utc(2020, 1, 1), end: utc(2020, 1, 2) });
  });

  it.each(["2020-01-01/2020-01-01", "2020-01-01T00:00:00Z/2020-01-01T00:00:00.000Z", "2020-01-01T05:30:00+05:30/2020-01-01T00:00:00Z", "2020-01-01/PT0S", "P0D/2020-01-01", "2020-01-01/P0Y0M"])(
    "refuses the empty interval %s by default, naming the field",
    (text) => {
      const err = refusal(() => parseInterval(text, "spec.dataSchema.granularitySpec.intervals"));
      expect(err.message).toContain("spec.dataSchema.granularitySpec.intervals");
      expect(err.message).toContain(`[${text}]`);
      expect(err.message).toContain("the interval is empty (start equals end)");
    },
  );

  it("accepts an empty interval when the caller opts in", () => {
    expect(parseInterval("2020-01-01/2020-01-01", "interval", { allowEmpty: true })).toEqual({ start: utc(2020, 1, 1), end: utc(2020, 1, 1) });
    expect(parseInterval("2020-01-01_PT0S", "interval", { allowEmpty: true, allowUnderscore: true })).toEqual({ start: utc(2020, 1, 1), end: utc(2020, 1, 1) });
  });

  it("still refuses a reversed interval when empty ones are allowed", () => {
    expect(refusal(() => parseInterval("2020-01-02/2020-01-01", "interval", { allowEmpty: true })).message).toContain("end is before start");
  });

  it.each(["2020-01-01/P1000000000Y", "P1000000000Y/2020-01-01", "2020-01-01/PT9999999999999999H", "146140482-04-24T15:36:27.903Z/P1D", "P1D/-146136543-09-08T08:23:32.096Z"])(
    "refuses %s cleanly (a period that leaves the representable range)",
    (text) => {
      expect(refusal(() => parseInterval(text)).message).toContain(`[${text}]`);
    },
  );

  it.each(["P1D/P1D", "2020-01-01/P", "2020-01-01/PT", "2020-01-01/P1DT", "2020-01-01/P1.5Y", "2020-01-01/PT1.5H", "2020-01-01/2020-01-02/2020-01-03", "2020-01-01", "/2020-01-01"])(
    "refuses the malformed interval %s",
    (text) => {
      refusal(() => parseInterval(text));
    },
  );

  it("refuses an offset Joda refuses inside an interval", () => {
    expect(refusal(() => parseInterval("2020-01-01T00:00:00+25:00/2020-01-02")).message).toContain("offset");
  });

  it("accepts Druid's eternity", () => {
    expect(parseInterval("-146136543-09-08T08:23:32.096Z/146140482-04-24T15:36:27.903Z")).toEqual({ start: MIN_INSTANT, end: MAX_INSTANT });
  });
});

describe("parsePeriod (Joda's ISOPeriodFormat.standard)", () => {
  it("reads the standard form, with fractions only on seconds", () => {
    expect(parsePeriod("P1Y2M3W4DT5H6M7.89S").toObject()).toEqual({ years: 1, months: 2, weeks: 3, days: 4, hours: 5, minutes: 6, seconds: 7, milliseconds: 890 });
    expect(parsePeriod("PT0.5S").as("milliseconds")).toBe(500);
    expect(parsePeriod("PT30S").as("milliseconds")).toBe(30_000);
  });

  it.each(["P", "PT", "P1DT", "P1.5Y", "PT1.5H", "1D", "P1D ", "P1H"])("refuses %j", (text) => {
    refusal(() => parsePeriod(text));
  });
});

describe("segment ids read their instants as parseInstant does", () => {
  it("does not read impossible canonical instants (Feb 30, 24:00) as rolled-over dates", () => {
    expect(parseSegmentId("ds_2020-02-30T00:00:00.000Z_2020-03-02T00:00:00.000Z_v", "ds")).toBeNull();
    expect(parseSegmentId("ds_2020-01-01T00:00:00.000Z_2020-01-01T24:00:00.000Z_v", "ds")).toBeNull();
    expect(parseSegmentId("ds_2020-01-01T00:00:00+25:00_2020-01-02T00:00:00.000Z_v", "ds")).toBeNull();
  });

  it("reads ids of segments over Druid's eternity", () => {
    expect(parseSegmentId("ds_-146136543-09-08T08:23:32.096Z_146140482-04-24T15:36:27.903Z_v", "ds")).toEqual({
      dataSource: "ds",
      interval: { start: MIN_INSTANT, end: MAX_INSTANT },
      version: "v",
      partitionNum: 0,
    });
  });

  it("still reads canonical ids and offsets", () => {
    expect(parseSegmentId("ds_2020-01-01T00:00:00.000Z_2020-01-02T00:00:00.000+05:30_v_2", "ds")).toEqual({
      dataSource: "ds",
      interval: { start: utc(2020, 1, 1), end: utc(2020, 1, 1, 18, 30) },
      version: "v",
      partitionNum: 2,
    });
  });
});
