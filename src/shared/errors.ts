/**
 * One error type for the whole service, carrying a Druid error category. The category decides the
 * HTTP status and the body is Druid's DruidException JSON, so Druid tooling can read our errors.
 */
export type ErrorCategory =
  | "DEFENSIVE"
  | "INVALID_INPUT"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "CAPACITY_EXCEEDED"
  | "CANCELED"
  | "RUNTIME_FAILURE"
  | "SERVICE_UNAVAILABLE"
  | "TIMEOUT"
  | "UNSUPPORTED"
  | "UNCATEGORIZED";

const STATUS_BY_CATEGORY: Record<ErrorCategory, number> = {
  DEFENSIVE: 500,
  INVALID_INPUT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  CAPACITY_EXCEEDED: 429,
  CANCELED: 500,
  RUNTIME_FAILURE: 500,
  SERVICE_UNAVAILABLE: 503,
  TIMEOUT: 504,
  UNSUPPORTED: 501,
  UNCATEGORIZED: 500,
};

export interface DruidErrorBody {
  error: "druidException";
  errorCode: string;
  persona: "USER" | "ADMIN" | "OPERATOR" | "DEVELOPER";
  category: ErrorCategory;
  errorMessage: string;
  context: Record<string, string>;
}

export class DruidError extends Error {
  readonly category: ErrorCategory;
  readonly errorCode: string;
  readonly context: Record<string, string>;
  /** An HTTP status other than the category's (e.g. 413 for an oversized body). */
  readonly statusOverride: number | undefined;

  constructor(category: ErrorCategory, message: string, errorCode = "general", context: Record<string, string> = {}, statusOverride?: number) {
    super(message);
    this.name = "DruidError";
    this.category = category;
    this.errorCode = errorCode;
    this.context = context;
    this.statusOverride = statusOverride;
  }

  get status(): number {
    return this.statusOverride ?? STATUS_BY_CATEGORY[this.category];
  }

  toJSON(): DruidErrorBody {
    return {
      error: "druidException",
      errorCode: this.errorCode,
      persona: this.category === "DEFENSIVE" || this.category === "RUNTIME_FAILURE" ? "OPERATOR" : "USER",
      category: this.category,
      errorMessage: this.message,
      context: this.context,
    };
  }
}

export const invalidInput = (message: string, errorCode = "invalidInput") =>
  new DruidError("INVALID_INPUT", message, errorCode);
export const notFound = (message: string) => new DruidError("NOT_FOUND", message, "notFound");
export const capacityExceeded = (message: string) => new DruidError("CAPACITY_EXCEEDED", message, "capacityExceeded");
export const unauthorized = (message = "Unauthorized") => new DruidError("UNAUTHORIZED", message, "unauthorized");
export const forbidden = (message = "Forbidden") => new DruidError("FORBIDDEN", message, "forbidden");
export const unavailable = (message: string) => new DruidError("SERVICE_UNAVAILABLE", message, "serviceUnavailable");

/** Turns anything caught into a DruidError (an unexpected error is a runtime failure). */
export function asDruidError(err: unknown): DruidError {
  if (err instanceof DruidError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DruidError("RUNTIME_FAILURE", message || "Internal error", "runtimeFailure");
}
