/**
 * Settings parsed from a Worker's variables once per environment object (the Worker and its
 * objects share one parse). A bad value is a configuration error: whoever asks gets a 503
 * "misconfigured" naming the variable, rather than a failure somewhere later.
 */
import { DruidError } from "../shared/errors.ts";

export function cachedPerEnv<T>(parse: (env: Record<string, unknown>) => T): (env: Record<string, unknown>) => T {
  const parsed = new WeakMap<object, T>();
  return (env) => {
    let cfg = parsed.get(env);
    if (cfg === undefined) {
      try {
        cfg = parse(env);
      } catch (err) {
        throw new DruidError("SERVICE_UNAVAILABLE", `Configuration error: ${err instanceof Error ? err.message : String(err)}`, "misconfigured");
      }
      parsed.set(env, cfg);
    }
    return cfg;
  };
}
