/**
 * The headers, identifier shapes and defaults of the agent protocols, shared by the Worker's routes, the
 * Overlord and the agents (no dependencies, so task processes can import it for free).
 */

/** The agent's secret identity (docs/agent-protocol.md, "Identity"). */
export const WORKER_KEY_HEADER = "X-Druid-Worker-Key";
/** The worker a log or report upload speaks for. */
export const WORKER_HEADER = "X-Druid-Worker";
/** A running task's credential, from its assignment (task actions, deep-storage writes). */
export const TASK_CREDENTIAL_HEADER = "X-Druid-Task-Credential";
/** The task a deep-storage write is made for. */
export const TASK_ID_HEADER = "X-Druid-Task-Id";

/** Druid's default worker category (WorkerConfig.DEFAULT_CATEGORY). */
export const DEFAULT_WORKER_CATEGORY = "_default_worker_category";

/** A worker's id, `name:port` (a host name or bracketed IPv6 address). */
export const WORKER_HOST_PATTERN = /^[A-Za-z0-9._~:[\]-]{1,255}$/;
/** A worker key: 32 to 256 characters of base64/base64url and a few unreserved marks. */
export const WORKER_KEY_PATTERN = /^[A-Za-z0-9._~+/=-]{32,256}$/;
