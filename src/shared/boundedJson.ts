/**
 * JSON with a nesting-depth bound, checked before anything recursive touches the value.
 *
 * The runtime's recursive algorithms (JSON.stringify, structured clone across RPC, zod) run out
 * of stack somewhere between 2,000 and 4,000 levels, and not all at the same depth: a body that
 * parses may still fail to be stored, read back or delivered to an agent. So depth is bounded
 * where input enters (the text is scanned iteratively, before JSON.parse) and checked again,
 * iteratively, on values read back from storage that may predate the bound.
 */
import { invalidInput } from "./errors.ts";

/** Deepest nesting of arrays/objects accepted anywhere (Druid specs need well under 20). */
export const MAX_JSON_DEPTH = 100;

/**
 * The deepest array/object nesting of JSON text, found without recursion. Brackets inside
 * strings do not count; malformed text is left for JSON.parse to refuse.
 */
export function jsonTextDepth(text: string, stopAbove = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) {
        max = depth;
        if (max > stopAbove) return max;
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return max;
}

/** JSON.parse, refusing text nested deeper than `maxDepth` with a 400 naming `what`. */
export function parseBoundedJson(text: string, what = "Request body", maxDepth = MAX_JSON_DEPTH): unknown {
  if (jsonTextDepth(text, maxDepth) > maxDepth) {
    throw invalidInput(`${what} is nested deeper than the limit of [${maxDepth}] levels`, "jsonTooDeep");
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw invalidInput(`${what} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Whether a value's array/object nesting is at most `maxDepth` (iterative: safe on any value). */
export function depthWithin(value: unknown, maxDepth = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== "object") return true;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (d > maxDepth) return false;
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const c of children) if (c !== null && typeof c === "object") stack.push([c, d + 1]);
  }
  return true;
}
