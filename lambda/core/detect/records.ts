/**
 * Records keyed by text from the logs: principals, APIs, user agents, source IPs. Anyone who can call an API
 * chooses some of that text, and `constructor`, `toString` or `__proto__` are keys like any other: read own
 * properties only (`record.constructor` is Object's), and set `__proto__` as a property (plain assignment would
 * take it for the prototype and drop it). The records stay plain objects, so the state stays plain JSON
 * (JSON.parse makes `__proto__` an own property again).
 */

/**
 * The number at `key` in a record of numbers, own properties only. One look-up: what a record inherits from
 * Object.prototype is never a number (functions, and `__proto__`'s object), so a number found is the record's own.
 */
export function own(record: Readonly<Record<string, number>>, key: string): number | undefined {
  const v = record[key];
  return typeof v === 'number' ? v : undefined;
}

/** Sets `key` in a record, `__proto__` included. */
export function put<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(record, key, { value, writable: true, enumerable: true, configurable: true });
  else record[key] = value;
}

/** Adds `by` to the count of `key` (0 when absent). */
export function addTo(record: Record<string, number>, key: string, by: number): void {
  const v = record[key];
  // Assignment makes an own property over an inherited member ('constructor', 'toString': writable data
  // properties of Object.prototype), except over `__proto__`, an accessor: put defines it instead.
  if (typeof v === 'number') record[key] = v + by;
  else put(record, key, by);
}
