/**
 * Run statistics of duty groups, in Druid's DutyGroupStatus shape (`GET /druid/coordinator/v1/duties`):
 * each group's period, duties, last run and the averages of its run time and of the gaps between runs.
 */
export interface DutyGroupStatusJson {
  name: string;
  period: string;
  dutyNames: string[];
  lastRunStart: string | null;
  lastRunEnd: string | null;
  avgRuntimeMillis: number;
  avgRunGapMillis: number;
}

export class DutyGroupStats {
  private lastStart: number | null = null;
  private lastEnd: number | null = null;
  private runs = 0;
  private totalRuntime = 0;
  private gaps = 0;
  private totalGap = 0;

  constructor(
    readonly name: string,
    readonly periodMs: number,
    readonly dutyNames: string[],
  ) {}

  ran(start: number, end: number): void {
    if (this.lastStart !== null) {
      this.gaps++;
      this.totalGap += start - this.lastStart;
    }
    this.lastStart = start;
    this.lastEnd = end;
    this.runs++;
    this.totalRuntime += end - start;
  }

  toJSON(toIso: (ms: number) => string): DutyGroupStatusJson {
    return {
      name: this.name,
      period: `PT${this.periodMs / 1000}S`,
      dutyNames: this.dutyNames,
      lastRunStart: this.lastStart === null ? null : toIso(this.lastStart),
      lastRunEnd: this.lastEnd === null ? null : toIso(this.lastEnd),
      avgRuntimeMillis: this.runs === 0 ? 0 : Math.round(this.totalRuntime / this.runs),
      avgRunGapMillis: this.gaps === 0 ? 0 : Math.round(this.totalGap / this.gaps),
    };
  }
}
