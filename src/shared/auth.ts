/**
 * Who is calling: an operator (ADMIN_TOKEN, as Bearer or HTTP Basic with user "admin"), an agent
 * (AGENT_TOKEN, Bearer only) or nobody. Secrets are compared in constant time.
 */
export type Principal = "operator" | "agent" | "none";

const encoder = new TextEncoder();

/** Constant-time string comparison: the time taken depends only on the length of `expected`. */
export function timingSafeEqualStr(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i % Math.max(a.length, 1)] ?? 0) ^ b[i]!;
  return diff === 0 && a.length === b.length;
}

export function principalOf(authorization: string | null, adminToken: string, agentToken: string): Principal {
  if (!authorization) return "none";
  const space = authorization.indexOf(" ");
  if (space < 0) return "none";
  const scheme = authorization.slice(0, space).toLowerCase();
  const value = authorization.slice(space + 1).trim();
  if (scheme === "bearer") {
    if (adminToken && timingSafeEqualStr(value, adminToken)) return "operator";
    if (agentToken && timingSafeEqualStr(value, agentToken)) return "agent";
    return "none";
  }
  if (scheme === "basic") {
    let decoded: string;
    try {
      decoded = atob(value);
    } catch {
      return "none";
    }
    const colon = decoded.indexOf(":");
    if (colon < 0) return "none";
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const userOk = timingSafeEqualStr(user, "admin");
    const passOk = adminToken !== "" && timingSafeEqualStr(password, adminToken);
    return userOk && passOk ? "operator" : "none";
  }
  return "none";
}
