import { EventIdDeduper } from '../../lambda/core/dedupe';

describe('EventIdDeduper', () => {
  test('reports a repeated ID as a duplicate and counts it', () => {
    const d = new EventIdDeduper(10);
    expect(d.isDuplicate('a')).toBe(false);
    expect(d.isDuplicate('b')).toBe(false);
    expect(d.isDuplicate('a')).toBe(true);
    expect(d.duplicateCount).toBe(1);
  });

  test('remembers at least `capacity` recent IDs and at most twice that', () => {
    const d = new EventIdDeduper(100);
    for (let i = 0; i < 1000; i++) d.isDuplicate(`id-${i}`);
    expect(d.size).toBeLessThanOrEqual(200);
    for (let i = 900; i < 1000; i++) expect(d.isDuplicate(`id-${i}`)).toBe(true);
    expect(d.isDuplicate('id-0')).toBe(false);
  });

  test('fails when the capacity is not a positive integer', () => {
    expect(() => new EventIdDeduper(0)).toThrow(/capacity/);
    expect(() => new EventIdDeduper(1.5)).toThrow(/capacity/);
  });
});
