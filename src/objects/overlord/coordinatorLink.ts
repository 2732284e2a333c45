/**
 * The Overlord's side of its link to the Coordinator: fencing the Coordinator's writes by its
 * term (the highest term seen is persisted in the Overlord's own storage, so a superseded
 * Coordinator incarnation is refused even after the Overlord restarts), and nudging the
 * Coordinator after a commit that changed segments, so its view catches up at once instead of
 * at its next poll.
 */
import type { Env } from "../../env.ts";
import { DruidError } from "../../shared/errors.ts";
import { coordinatorOf } from "../names.ts";

const TERM_KEY = "coordinatorTerm";

export class CoordinatorLink {
  private highestTerm = 0;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly env: Env,
    /** The Overlord's own object name (its Coordinator is named after it: objects/names.ts). */
    private readonly ownName: string | undefined,
  ) {}

  /** Reads the highest Coordinator term seen (at the Overlord's start). */
  async load(): Promise<void> {
    this.highestTerm = (await this.storage.get<number>(TERM_KEY)) ?? 0;
  }

  /** Refuses a write from an incarnation older than one already seen; a newer term is persisted first. */
  async fence(term: number): Promise<void> {
    if (!Number.isInteger(term) || term < this.highestTerm) {
      throw new DruidError("CONFLICT", `Coordinator term [${term}] is older than [${this.highestTerm}]: a superseded Coordinator cannot write`, "staleCoordinatorTerm");
    }
    if (term > this.highestTerm) {
      this.highestTerm = term;
      await this.storage.put(TERM_KEY, term);
    }
  }

  /** After segment rows changed (fire and forget: the Coordinator's poll is the safety net). */
  nudge(): void {
    void this.env.COORDINATOR.getByName(coordinatorOf(this.env, this.ownName))
      .segmentsChanged()
      .catch((err: unknown) => console.warn("could not nudge the Coordinator after a segment change (its poll will catch up):", err));
  }
}
