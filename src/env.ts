import type { Coordinator } from "./objects/Coordinator.ts";
import type { Overlord } from "./objects/Overlord.ts";

/** Bindings and variables of the Worker (wrangler.jsonc, secrets, .dev.vars). */
export interface Env {
  OVERLORD: DurableObjectNamespace<Overlord>;
  COORDINATOR: DurableObjectNamespace<Coordinator>;
  DB: D1Database;
  DEEP_STORAGE: R2Bucket;
  ADMIN_TOKEN: string;
  AGENT_TOKEN: string;
  DRUID_QUEUE_MAX_SIZE?: string;
  DRUID_MAX_BODY_BYTES?: string;
  DRUID_MAX_BULK_TASKS?: string;
  /** The Overlord object's name (default "overlord"; tests give each test its own). */
  OVERLORD_NAME?: string;
  /** The Coordinator object's name (default "coordinator"; tests give each test its own). */
  COORDINATOR_NAME?: string;
  [key: string]: unknown;
}
