/**
 * Records keyed by text from the logs: principals, APIs, user agents, source IPs. Anyone who can call an API
 * chooses some of that text, and `constructor`, `toString` or `__proto__` are keys like any other: read own
 * properties only (`record.constructor` is Object's), and set `__proto__` as a property (plain assignment would
 * take it for the prototype and drop it). The records stay plain objects, so the state stays plain JSON
 * (JSON.parse makes `__proto__` an own property again).
 */

/** The value of `key` in a record, own properties only. */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Sets `key` in a record, `__proto__` included. */
export function put<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(record, key, { value, writable: true, enumerable: true, configurable: true });
  else record[key] = value;
}

/** Adds `by` to the count of `key` (0 when absent). */
export function addTo(record: Record<string, number>, key: string, by: number): void {
  put(record, key, (own(record, key) ?? 0) + by);
}
