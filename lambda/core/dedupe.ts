/**
 * Drops repeated eventIDs within a bounded window. CloudTrail may deliver an event twice (cloudtrail.md §1.3),
 * usually in files delivered close together, so a window of recent IDs catches them without unbounded memory.
 *
 * Two generations: when the current one is full it becomes the previous one and the oldest is dropped, so
 * memory stays under 2 × capacity IDs and every ID is remembered for at least `capacity` further distinct IDs.
 * Cheaper than an LRU list and as good for this purpose.
 *
 * CloudTrail's eventIDs are lowercase UUIDs. Such an ID is kept as its 128 bits in a flat table rather than as
 * a string in a Set: a local run over a month of logs remembers hundreds of thousands of IDs, and holding each
 * as a string (fresh from its file's JSON.parse, so first hashed here) cost more than a third of the time
 * `trailsight summary` spends beyond parsing, most of it the garbage collector moving the retained strings.
 * The bits are the ID exactly (lowercase hex to bits is one-to-one), so this changes no answer; any other ID
 * (uppercase, another shape) is kept as a string.
 */
export class EventIdDeduper {
  private current = new Generation();
  private previous = new Generation();
  private duplicates = 0;
  /** The ID being looked up, as four 32-bit words (when it is a lowercase UUID). */
  private readonly words = new Int32Array(4);

  /** @param capacity IDs per generation; at least this many recent distinct IDs are remembered. */
  constructor(readonly capacity = 500_000) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  /**
   * Makes room for about `ids` more IDs (at most a generation's capacity) in one step. A caller that knows roughly
   * how many are coming (a local read of many files, from its first files' events per file) spares the table its
   * growth through every power of two, each a fresh array to map and a rehash: 400,000 IDs in a fresh process took
   * 150 ms growing and 85 ms with the room made first. Changes no answer.
   */
  reserve(ids: number): void {
    this.current.reserve(Math.min(this.capacity, this.current.size + Math.max(0, ids)));
  }

  /** Records the ID and returns true when it was already seen within the window. */
  isDuplicate(eventId: string): boolean {
    return parseUuid(eventId, this.words, 0) ? this.check('', this.words, 0) : this.check(eventId, undefined, 0);
  }

  /**
   * {@link isDuplicate} of a lowercase UUID already parsed by {@link parseUuid} into `words[at..at+3]` (reader
   * threads send eventIDs so, without a string per event).
   */
  isDuplicateUuid(words: Int32Array, at: number): boolean {
    return this.check('', words, at);
  }

  /** `words` set: the ID is the UUID at `words[at]`; otherwise it is the string `id`. */
  private check(id: string, words: Int32Array | undefined, at: number): boolean {
    if (this.previous.size > 0 && this.previous.has(id, words, at)) {
      // Refresh it so a frequently repeated ID does not age out.
      this.add(id, words, at);
      this.duplicates++;
      return true;
    }
    if (!this.add(id, words, at)) {
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

  /** Adds the ID to the current generation; false when it was already there. */
  private add(id: string, words: Int32Array | undefined, at: number): boolean {
    if (this.current.size >= this.capacity && !this.current.has(id, words, at)) {
      this.previous = this.current;
      this.current = new Generation();
    }
    return this.current.add(id, words, at);
  }
}

/** What the reader asks of a dedupe: an {@link EventIdDeduper} (one window for all) or {@link AccountDedupers}. */
export interface Deduper {
  /** Records the ID and returns true when it was already seen (in the event's account's window, if kept apart). */
  isDuplicate(eventId: string, account: string): boolean;
}

/**
 * An {@link EventIdDeduper} per account: an event belongs to one account, and a repeated delivery of it comes in
 * that account's files, so each account's IDs are kept apart (and `trailsight detect`, which replays accounts on
 * separate threads, dedupes alike on one thread or many).
 */
export class AccountDedupers implements Deduper {
  private readonly byAccount = new Map<string, EventIdDeduper>();

  constructor(readonly capacity?: number) {}

  /** The account's deduper. */
  of(account: string): EventIdDeduper {
    let d = this.byAccount.get(account);
    if (!d) {
      d = new EventIdDeduper(this.capacity);
      this.byAccount.set(account, d);
    }
    return d;
  }

  /** {@link EventIdDeduper.isDuplicate} in the account's own window. */
  isDuplicate(eventId: string, account: string): boolean {
    return this.of(account).isDuplicate(eventId);
  }
}

/** One generation of remembered IDs: UUIDs as bits, anything else as strings. */
class Generation {
  private readonly uuids = new UuidSet();
  private readonly others = new Set<string>();

  get size(): number {
    return this.uuids.size + this.others.size;
  }

  has(id: string, words: Int32Array | undefined, at: number): boolean {
    return words ? this.uuids.has(words, at) : this.others.has(id);
  }

  /** Room for `ids` IDs in all (CloudTrail's are UUIDs). */
  reserve(ids: number): void {
    this.uuids.reserve(ids);
  }

  /** False when the ID was already there. */
  add(id: string, words: Int32Array | undefined, at: number): boolean {
    if (words) return this.uuids.add(words, at);
    const before = this.others.size;
    this.others.add(id);
    return this.others.size !== before;
  }
}

/** Hex digit values by character code, -1 for anything else (uppercase included: see EventIdDeduper). */
const HEX = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) HEX[97 + c] = 10 + c;

/** Parses a lowercase UUID (8-4-4-4-12 hex digits) into four 32-bit words from `words[at]`; false for anything else. */
export function parseUuid(s: string, words: Int32Array, at: number): boolean {
  if (s.length !== 36) return false;
  let word = 0;
  let digits = 0;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
      continue;
    }
    const v = c < 128 ? HEX[c] : -1;
    if (v < 0) return false;
    word = (word << 4) | v;
    if (++digits === 8) {
      words[at++] = word;
      word = 0;
      digits = 0;
    }
  }
  return true;
}

/**
 * A set of 128-bit keys: open addressing with linear probing over one Int32Array (four words per slot; all four
 * zero marks an empty slot, so a probe touches one array), at most half full, doubling as it grows. The all-zero
 * key itself is kept aside. Hand-written because no maintained package keeps fixed-width binary keys without a
 * string or object per key, which is the cost this avoids.
 */
export class UuidSet {
  private slots = 1024;
  private keys = new Int32Array(this.slots * 4);
  private hasZero = false;
  size = 0;

  /** Whether the key `w[at..at+3]` is there. */
  has(w: Int32Array, at: number): boolean {
    const a = w[at];
    const b = w[at + 1];
    const c = w[at + 2];
    const d = w[at + 3];
    if ((a | b | c | d) === 0) return this.hasZero;
    const j = this.slot(a, b, c, d);
    return (this.keys[j] | this.keys[j + 1] | this.keys[j + 2] | this.keys[j + 3]) !== 0;
  }

  /** Adds the key `w[at..at+3]`; false when it was already there. */
  add(w: Int32Array, at: number): boolean {
    const a = w[at];
    const b = w[at + 1];
    const c = w[at + 2];
    const d = w[at + 3];
    if ((a | b | c | d) === 0) {
      if (this.hasZero) return false;
      this.hasZero = true;
      this.size++;
      return true;
    }
    if ((this.size + 1) * 2 > this.slots) this.rehash(this.slots * 2);
    return this.insert(a, b, c, d);
  }

  /** Makes the table large enough for `keys` keys in all without growing again. */
  reserve(keys: number): void {
    let slots = this.slots;
    while ((keys + 1) * 2 > slots) slots *= 2;
    if (slots > this.slots) this.rehash(slots);
  }

  /** Inserts a key that is not all zero; false when it was already there. */
  private insert(a: number, b: number, c: number, d: number): boolean {
    const keys = this.keys;
    const j = this.slot(a, b, c, d);
    if ((keys[j] | keys[j + 1] | keys[j + 2] | keys[j + 3]) !== 0) return false;
    keys[j] = a;
    keys[j + 1] = b;
    keys[j + 2] = c;
    keys[j + 3] = d;
    this.size++;
    return true;
  }

  /** The first word of the slot holding a key that is not all zero, or of the empty slot where it would go. */
  private slot(a: number, b: number, c: number, d: number): number {
    const mask = this.slots - 1;
    const keys = this.keys;
    for (let i = slotOf(a, b, c, d) & mask; ; i = (i + 1) & mask) {
      const j = i * 4;
      const ka = keys[j];
      const kb = keys[j + 1];
      const kc = keys[j + 2];
      const kd = keys[j + 3];
      if ((ka === a && kb === b && kc === c && kd === d) || (ka | kb | kc | kd) === 0) return j;
    }
  }

  /** Moves every key into a table of `slots` slots. */
  private rehash(slots: number): void {
    const keys = this.keys;
    const old = this.slots;
    this.slots = slots;
    this.keys = new Int32Array(slots * 4);
    this.size = this.hasZero ? 1 : 0;
    for (let j = 0; j < old * 4; j += 4) {
      if ((keys[j] | keys[j + 1] | keys[j + 2] | keys[j + 3]) !== 0)
        this.insert(keys[j], keys[j + 1], keys[j + 2], keys[j + 3]);
    }
  }
}

/** Mixes all four words (IDs need not be random: generated or test IDs often differ in one word only). */
function slotOf(a: number, b: number, c: number, d: number): number {
  // The words combined, then MurmurHash3's 32-bit finalizer, so every input bit reaches the low bits the mask keeps.
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b) ^ Math.imul(c, 0xc2b2ae35) ^ d;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
