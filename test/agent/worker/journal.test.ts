import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openAgentState } from "../../../agent/worker/identity.ts";
import { StartJournal } from "../../../agent/worker/journal.ts";

const freshPath = () => join(mkdtempSync(join(tmpdir(), "journal-")), "journal");

describe("the journal of started tasks", () => {
  it("hands a reopened journal every task started and not acknowledged, with the outcome it had", () => {
    const path = freshPath();
    const { journal, unfinished } = StartJournal.open(path);
    expect(unfinished).toEqual([]);
    journal.started(["running", "finished", "acked"]);
    journal.finished("finished", { status: "SUCCESS", errorMsg: null, duration: 12 });
    journal.finished("acked", { status: "FAILED", errorMsg: "boom", duration: 3 });
    journal.acknowledged("acked");
    // no close: a killed agent never closes its journal
    const again = StartJournal.open(path);
    expect(again.unfinished).toEqual([
      { id: "running", outcome: null },
      { id: "finished", outcome: { status: "SUCCESS", errorMsg: null, duration: 12 } },
    ]);
    again.journal.acknowledged("running");
    again.journal.acknowledged("finished");
    again.journal.close();
    expect(StartJournal.open(path).unfinished).toEqual([]);
  });

  it("ignores a torn last line left by a crash mid-write", () => {
    const path = freshPath();
    const { journal } = StartJournal.open(path);
    journal.started(["whole"]);
    appendFileSync(path, '{"s":"tor');
    expect(StartJournal.open(path).unfinished).toEqual([{ id: "whole", outcome: null }]);
  });

  it("ignores outcomes and acknowledgements of tasks it never saw start", () => {
    const path = freshPath();
    writeFileSync(path, '{"f":"ghost","status":"SUCCESS","errorMsg":null,"duration":1}\n{"a":"nobody"}\n{"s":"real"}\n');
    expect(StartJournal.open(path).unfinished).toEqual([{ id: "real", outcome: null }]);
  });

  it("rewrites itself with only the live entries once it has grown large", () => {
    const path = freshPath();
    const { journal } = StartJournal.open(path);
    journal.started(["kept"]);
    for (let i = 0; i < 6000; i++) {
      journal.started([`t${i}`]);
      journal.acknowledged(`t${i}`);
    }
    expect(readFileSync(path, "utf8").split("\n").length).toBeLessThan(4000);
    expect(journal.liveIds()).toEqual(["kept"]);
    expect(StartJournal.open(path).unfinished).toEqual([{ id: "kept", outcome: null }]);
  });
});

describe("the agent's state directory", () => {
  it("keeps the worker key across restarts and starts a fresh directory with a new one", () => {
    const dir = mkdtempSync(join(tmpdir(), "state-"));
    const first = openAgentState(dir);
    expect(first.freshKey).toBe(true);
    expect(first.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    first.release();
    const second = openAgentState(dir);
    expect(second.freshKey).toBe(false);
    expect(second.key).toBe(first.key);
    second.release();
    const other = openAgentState(mkdtempSync(join(tmpdir(), "state-")));
    expect(other.key).not.toBe(first.key);
    other.release();
  });

  it("refuses a work directory held by another live agent, and takes over one whose agent died", () => {
    const dir = mkdtempSync(join(tmpdir(), "state-"));
    openAgentState(dir).release();
    writeFileSync(join(dir, ".agent", "lock"), `${process.ppid}\n`); // a live process that is not us
    expect(() => openAgentState(dir)).toThrow(/Another agent \(pid \d+\) is using this work directory/);
    writeFileSync(join(dir, ".agent", "lock"), "999999999\n"); // no such process
    const taken = openAgentState(dir);
    expect(readFileSync(join(dir, ".agent", "lock"), "utf8").trim()).toBe(String(process.pid));
    taken.release();
  });
});
