/**
 * Agent log lines on stdout: readable (`2026-11-24T03:40:00.123Z INFO  task started task=t1`)
 * or, with --json, one JSON object per line (`{"time":..., "level":..., "message":..., ...}`).
 */
/**
 * stdout, written once per turn of the event loop: a busy agent logs several lines per task, and
 * one write per line (stdout is synchronous for pipes and files) cost more than the task. Lines
 * still pending are written when the process exits.
 */
export function batchedStdout(): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join("\n") + "\n";
    pending = [];
    process.stdout.write(text);
  };
  process.on("exit", flush);
  return (line) => {
    if (pending.length === 0) setImmediate(flush);
    pending.push(line);
  };
}

export type Level = "DEBUG" | "INFO" | "WARN" | "ERROR";

export class Logger {
  constructor(
    private readonly jsonLines: boolean,
    private readonly out: (line: string) => void = (l) => process.stdout.write(l + "\n"),
  ) {}

  log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
    const time = new Date().toISOString();
    if (this.jsonLines) {
      this.out(JSON.stringify({ time, level, message, ...fields }));
      return;
    }
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    this.out(`${time} ${level.padEnd(5)} ${message}${extra ? " " + extra : ""}`);
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.log("INFO", message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.log("WARN", message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.log("ERROR", message, fields);
  }
}
