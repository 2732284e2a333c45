import type { Overlord } from "./objects/Overlord.ts";

/** Bindings and variables of the Worker (wrangler.jsonc, secrets, .dev.vars). */
export interface Env {
  OVERLORD: DurableObjectNamespace<Overlord>;
  DB: D1Database;
  DEEP_STORAGE: R2Bucket;
  ADMIN_TOKEN: string;
  AGENT_TOKEN: string;
  DRUID_QUEUE_MAX_SIZE?: string;
  DRUID_MAX_BODY_BYTES?: string;
  DRUID_MAX_BULK_TASKS?: string;
  /** The Overlord object's name (default "overlord"; tests give each test its own). */
  OVERLORD_NAME?: string;
  [key: string]: unknown;
}
