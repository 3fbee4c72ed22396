/**
 * Why the results of the last `capacity` dropped jobs went, so asking for one answers NOT_FOUND with
 * its reason instead of "no such job". Bounded: the oldest record is forgotten first, so memory stays
 * fixed however many jobs the worker runs.
 */
export class DroppedResults {
  /** Insertion order is drop order: the first key is the oldest record. */
  private readonly reasons = new Map<string, string>();

  constructor(readonly capacity: number) {}

  record(jobId: string, reason: string): void {
    // Re-inserted, so a job id used again counts from its latest drop.
    this.reasons.delete(jobId);
    this.reasons.set(jobId, reason);
    if (this.reasons.size > this.capacity) this.reasons.delete(this.reasons.keys().next().value!);
  }

  /** The reason it was dropped, if it is among the records kept. */
  reasonFor(jobId: string): string | undefined {
    return this.reasons.get(jobId);
  }
}
