/**
 * Who is calling: an operator (ADMIN_TOKEN, as Bearer or HTTP Basic with user "admin"), an agent
 * (AGENT_TOKEN, Bearer only) or nobody. Secrets are compared in constant time.
 */
export type Principal = "operator" | "agent" | "none";

/**
 * Constant-time string comparison over UTF-16 code units (no encoding, no allocation: it runs on
 * every request): the time taken depends only on the length of `expected`.
 */
export function timingSafeEqualStr(given: string, expected: string): boolean {
  const n = given.length;
  let diff = n ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= (n > 0 ? given.charCodeAt(i % n) : 0) ^ expected.charCodeAt(i);
  return diff === 0;
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
