/**
 * A bounded heavy-hitters counter (Misra–Gries), mergeable as in Agarwal et al., "Mergeable Summaries" (2012).
 *
 * Reports at most `capacity` keys. Every reported count is an under-estimate by at most
 * `(total − Σreported) / (capacity + 1)`, and every key whose true count exceeds `total / (capacity + 1)` is
 * reported, whatever the order of adds and merges. Merge is exactly commutative; it is exactly associative while
 * the keys fit in `capacity`, and beyond that every merge order keeps the same guarantee
 * (tested in test/core/aggregate.test.ts).
 *
 * Speed: adds count exactly into a buffer of up to `4 × capacity` keys (a Map increment per add) and prune
 * to `capacity` only when the buffer fills or a result is read. Pruning is the mergeable-summary step, so the
 * guarantee above is unchanged; it just runs rarely instead of on every new key.
 */
export class TopK {
  /** Weight of everything added, kept or not. */
  total = 0;
  // Boxed counts: a hit is one Map lookup and a field increment instead of a lookup plus a set.
  private readonly buffer = new Map<string, { n: number }>();
  private readonly limit: number;

  constructor(readonly capacity: number) {
    this.limit = Math.max(capacity * 4, 16);
  }

  add(key: string, weight = 1): void {
    this.total += weight;
    const c = this.buffer.get(key);
    if (c !== undefined) {
      c.n += weight;
      return;
    }
    this.buffer.set(key, { n: weight });
    if (this.buffer.size > this.limit) this.prune();
  }

  /** The kept keys and counts (at most `capacity`), as a new map. */
  get counts(): ReadonlyMap<string, number> {
    if (this.buffer.size > this.capacity) this.prune();
    const out = new Map<string, number>();
    for (const [k, c] of this.buffer) out.set(k, c.n);
    return out;
  }

  /** The largest possible under-count of any reported key. */
  get errorBound(): number {
    let kept = 0;
    for (const c of this.counts.values()) kept += c;
    return (this.total - kept) / (this.capacity + 1);
  }

  /** Kept keys, largest first (ties by key, so output is deterministic). */
  top(n = this.capacity): Array<[string, number]> {
    return [...this.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, n);
  }

  /** A new summary of both inputs (their reported content is unchanged). */
  static merge(a: TopK, b: TopK): TopK {
    const out = new TopK(Math.min(a.capacity, b.capacity));
    out.total = a.total + b.total;
    for (const [k, c] of a.counts) out.buffer.set(k, { n: c });
    for (const [k, c] of b.counts) {
      const have = out.buffer.get(k);
      if (have) have.n += c;
      else out.buffer.set(k, { n: c });
    }
    if (out.buffer.size > out.capacity) out.prune();
    return out;
  }

  /** Subtracts the (capacity+1)-th largest count from all and drops what reaches zero. */
  private prune(): void {
    const values = [...this.buffer.values()].map((c) => c.n).sort((x, y) => y - x);
    const cut = values[this.capacity];
    for (const [k, c] of this.buffer) {
      if (c.n <= cut) this.buffer.delete(k);
      else c.n -= cut;
    }
  }

  /**
   * `[total, key1, count1, key2, count2, …]` with keys sorted; with `strings`, each key is replaced by its index
   * in that table (shared by every sketch of an aggregate, so a user agent seen in fifty series is stored once).
   */
  toJSON(strings?: Map<string, number>): Array<string | number> {
    const counts = this.counts;
    const out: Array<string | number> = [this.total];
    for (const k of [...counts.keys()].sort())
      out.push(strings ? (strings.get(k) as number) : k, counts.get(k) as number);
    return out;
  }

  static fromJSON(capacity: number, json: ReadonlyArray<string | number>, strings?: readonly string[]): TopK {
    const t = new TopK(capacity);
    t.total = Number(json[0]);
    for (let i = 1; i + 1 < json.length; i += 2) {
      const k = json[i];
      t.buffer.set(strings && typeof k === 'number' ? strings[k] : String(k), { n: Number(json[i + 1]) });
    }
    return t;
  }
}
