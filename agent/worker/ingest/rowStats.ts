/**
 * Row accounting as Druid's ingestionStatsAndErrors report shows it (`RowIngestionMeters`,
 * `ParseExceptionHandler`): processed, processedBytes, processedWithError, thrownAway,
 * unparseable, and the last `maxSavedParseExceptions` parse exceptions. Once unparseable +
 * processedWithError exceeds `maxParseExceptions`, ingestion fails with Druid's message.
 */
import { IngestionError } from "./errors.ts";

export interface RowStats {
  processed: number;
  processedBytes: number;
  processedWithError: number;
  thrownAway: number;
  unparseable: number;
}

/** Druid's ParseExceptionReport. */
export interface ParseExceptionReport {
  input: string;
  errorType: "unparseable" | "processedWithError";
  details: string[];
  timeOfExceptionMillis: number;
}

export class RowMeters {
  readonly stats: RowStats = { processed: 0, processedBytes: 0, processedWithError: 0, thrownAway: 0, unparseable: 0 };
  private readonly saved: ParseExceptionReport[] = [];

  constructor(
    private readonly maxParseExceptions: number,
    private readonly maxSavedParseExceptions: number,
    private readonly now: () => number = Date.now,
  ) {}

  processed(): void { this.stats.processed++; }
  thrownAway(): void { this.stats.thrownAway++; }
  bytes(n: number): void { this.stats.processedBytes += n; }

  /** A row that could not be parsed at all. */
  unparseable(input: string, message: string): void {
    this.stats.unparseable++;
    this.handle({ input, errorType: "unparseable", details: [message], timeOfExceptionMillis: this.now() });
  }

  /** A row that was indexed, but some of its columns could not be read. */
  processedWithError(input: string, details: string[]): void {
    this.stats.processedWithError++;
    this.handle({ input, errorType: "processedWithError", details, timeOfExceptionMillis: this.now() });
  }

  /** The saved parse exceptions, oldest first. */
  get unparseableEvents(): ParseExceptionReport[] {
    return [...this.saved];
  }

  private handle(report: ParseExceptionReport): void {
    if (this.maxSavedParseExceptions > 0) {
      this.saved.push(report);
      if (this.saved.length > this.maxSavedParseExceptions) this.saved.shift();
    }
    if (this.stats.unparseable + this.stats.processedWithError > this.maxParseExceptions) {
      throw new IngestionError(
        "maxParseExceptions",
        `Max parse exceptions[${this.maxParseExceptions}] exceeded (last: ${report.details.join("; ")})`,
      );
    }
  }
}
