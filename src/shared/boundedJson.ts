/**
 * JSON with a nesting-depth bound, checked before anything recursive touches the value, and
 * without the values JavaScript cannot keep as sent (non-finite numbers, "__proto__" keys).
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
 * One pass over JSON text, without recursion, for what JSON.parse would accept but the service
 * could not keep: nesting deeper than `maxDepth` (it stops there), and the first number literal
 * that does not fit a double (1e400, a 400-digit integer: JSON.parse makes it ±Infinity, which
 * JSON.stringify writes as `null`, so it would read back as something else than was sent; only
 * literals with an exponent or over 300 characters can overflow, so only those are converted).
 * Brackets and digits inside strings do not count; malformed text is left for JSON.parse.
 */
export function scanJsonText(text: string, maxDepth = MAX_JSON_DEPTH): { tooDeep: boolean; hugeNumber: string | null } {
  let depth = 0;
  let inString = false;
  let hugeNumber: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) return { tooDeep: true, hugeNumber };
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
    else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      let exponent = false;
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j);
        if (d === 0x65 || d === 0x45 /* e E */) exponent = true;
        else if (!((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x2b || d === 0x2d)) break;
      }
      if (hugeNumber === null && (exponent || j - i > 300) && !Number.isFinite(Number(text.slice(i, j)))) hugeNumber = text.slice(i, j);
      i = j - 1;
    }
  }
  return { tooDeep: false, hugeNumber };
}

/**
 * Whether a parsed value has an object key "__proto__" anywhere (iterative). JSON.parse makes it
 * an own key, but zod drops it from every object and record it outputs, and a plain assignment
 * would set a prototype instead: such a key would be accepted and then silently lost (or worse).
 */
export function hasProtoKey(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== "object") continue;
    if (Array.isArray(v)) {
      for (const c of v) if (c !== null && typeof c === "object") stack.push(c);
      continue;
    }
    if (Object.hasOwn(v, "__proto__")) return true;
    for (const c of Object.values(v)) if (c !== null && typeof c === "object") stack.push(c);
  }
  return false;
}

/**
 * JSON.parse, refusing with a 400 naming `what`: text nested deeper than `maxDepth`, numbers a
 * double cannot hold (they would read back as null) and "__proto__" keys (they would be lost).
 */
export function parseBoundedJson(text: string, what = "Request body", maxDepth = MAX_JSON_DEPTH): unknown {
  const scan = scanJsonText(text, maxDepth);
  if (scan.tooDeep) throw invalidInput(`${what} is nested deeper than the limit of [${maxDepth}] levels`, "jsonTooDeep");
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    throw invalidInput(`${what} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const huge = scan.hugeNumber;
  if (huge !== null) {
    const shown = huge.length > 40 ? `${huge.slice(0, 20)}...(${huge.length} characters)` : huge;
    throw invalidInput(`${what} has a number out of range [${shown}]: JSON numbers must be finite doubles (at most 1.7976931348623157e308 in magnitude)`, "numberOutOfRange");
  }
  // only text that spells "__proto__" (or could, with \u escapes) needs the walk
  if ((text.includes("__proto__") || text.includes("\\u")) && hasProtoKey(value)) {
    throw invalidInput(`${what} has a "__proto__" key, which is not accepted anywhere`, "protoKey");
  }
  return value;
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
