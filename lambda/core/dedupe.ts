/**
 * Drops repeated eventIDs within a bounded window. CloudTrail may deliver an event twice (cloudtrail.md §1.3),
 * usually in files delivered close together, so a window of recent IDs catches them without unbounded memory.
 *
 * Two generations of sets: when the current one is full it becomes the previous one and the oldest is
 * dropped, so memory stays under 2 × capacity IDs and every ID is remembered for at least `capacity`
 * further distinct IDs. Cheaper than an LRU list and as good for this purpose.
 */
export class EventIdDeduper {
  private current = new Set<string>();
  private previous = new Set<string>();
  private duplicates = 0;

  /** @param capacity IDs per generation; at least this many recent distinct IDs are remembered. */
  constructor(readonly capacity = 500_000) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  /** Records the ID and returns true when it was already seen within the window. */
  isDuplicate(eventId: string): boolean {
    if (this.previous.size > 0 && this.previous.has(eventId)) {
      // Refresh it so a frequently repeated ID does not age out.
      this.add(eventId);
      this.duplicates++;
      return true;
    }
    // One hash lookup for the common case: add, and see whether the set grew.
    const before = this.current.size;
    this.add(eventId);
    if (this.current.size === before) {
      this.duplicates++;
      return true;
    }
    return false;
  }

  /** Duplicates seen so far. */
  get duplicateCount(): number {
    return this.duplicates;
  }

  /** IDs currently remembered. */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  private add(eventId: string): void {
    if (this.current.size >= this.capacity && !this.current.has(eventId)) {
      this.previous = this.current;
      this.current = new Set();
    }
    this.current.add(eventId);
  }
}
