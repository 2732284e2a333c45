/** The message of a Druid error answer (`{"errorMessage": …}` or `{"error": …}`), else the body itself. */
export function druidErrorMessage(body: string, maxChars = 500): string {
  try {
    const j = JSON.parse(body) as { error?: unknown; errorMessage?: unknown };
    const m = j.errorMessage ?? j.error;
    if (typeof m === "string") return m.slice(0, maxChars);
  } catch {
    // not JSON
  }
  return body.slice(0, maxChars);
}
