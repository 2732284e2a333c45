/**
 * Druid's id rules (IdUtils.validateId) for task ids, group ids and data source names, and
 * Druid-style generated task ids.
 */
import { invalidInput } from "./errors.ts";

const MAX_ID_LENGTH = 255;

/** Throws Druid's invalidInput unless `value` is a usable id; returns it otherwise. */
export function validateId(value: unknown, what = "Task id"): string {
  if (typeof value !== "string" || value.length === 0) throw invalidInput(`${what} must be a non-empty string`);
  if (value.length > MAX_ID_LENGTH) throw invalidInput(`${what} [${value.slice(0, 40)}...] is longer than ${MAX_ID_LENGTH} characters`);
  if (value.startsWith(".")) throw invalidInput(`${what} [${value}] cannot start with the '.' character.`);
  if (value.includes("/")) throw invalidInput(`${what} [${value}] cannot contain the '/' character.`);
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (ch !== " " && /\s/u.test(ch)) throw invalidInput(`${what} [${printable(value)}] cannot contain whitespace character except space.`);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) throw invalidInput(`${what} [${printable(value)}] cannot contain control characters.`);
    if (c >= 0xd800 && c <= 0xdfff) throw invalidInput(`${what} [${printable(value)}] cannot contain surrogate characters.`);
  }
  return value;
}

export const validateTaskId = (value: unknown): string => validateId(value, "Task id");

function printable(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

const LETTERS = "abcdefghijklmnopqrstuvwxyz";

/** Eight random lowercase letters (Druid's RandomIdUtils-style suffix). */
export function randomSuffix(random: () => number = Math.random): string {
  let s = "";
  for (let i = 0; i < 8; i++) s += LETTERS[Math.floor(random() * LETTERS.length)];
  return s;
}

/**
 * Druid-style id (AbstractTask.getOrMakeId): `<type>_<dataSource>_<interval?>_<ISO now>_<random>`;
 * noop uses `noop_<ISO now>_<uuid>` as NoopTask does.
 */
export function generateTaskId(type: string, dataSource: string | null, nowMs: number, random: () => number = Math.random, interval?: string): string {
  const now = new Date(nowMs).toISOString();
  if (type === "noop") return `noop_${now}_${uuid(random)}`;
  const parts = [type, dataSource, interval?.replace("/", "_"), now, randomSuffix(random)].filter((p): p is string => !!p);
  return parts.join("_");
}

/** A kill task's id as Druid issues it on an operator's or its own behalf: `<prefix>_kill_<ds>_<start>_<end>_<ISO now>_<random>`. */
export function issuedKillTaskId(prefix: "api-issued" | "coordinator-issued", dataSource: string, interval: string, nowMs: number): string {
  return `${prefix}_${generateTaskId("kill", dataSource, nowMs, Math.random, interval)}`;
}

function uuid(random: () => number): string {
  // the runtime's own v4 UUID (one native call) unless a test injected its randomness
  if (random === Math.random) return crypto.randomUUID();
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join("");
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${"89ab"[Math.floor(random() * 4)]}${hex(3)}-${hex(12)}`;
}
