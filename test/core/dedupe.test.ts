import { randomUUID } from 'node:crypto';
import { AccountDedupers, EventIdDeduper, parseUuid } from '../../lambda/core/dedupe';

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

  test('keeps UUIDs apart from other IDs, and tells their case apart as strings do', () => {
    const d = new EventIdDeduper(10);
    const id = '3038ebd2-c98a-4c65-9b6e-e22506292313';
    expect(d.isDuplicate(id)).toBe(false);
    expect(d.isDuplicate(id.toUpperCase())).toBe(false);
    expect(d.isDuplicate(`${id} `)).toBe(false);
    expect(d.isDuplicate('3038ebd2c98a4c659b6ee22506292313')).toBe(false);
    expect(d.isDuplicate(id)).toBe(true);
    expect(d.isDuplicate(id.toUpperCase())).toBe(true);
    expect(d.duplicateCount).toBe(2);
  });

  test('a UUID given as words is the same ID as its string', () => {
    const d = new EventIdDeduper();
    const words = new Int32Array(8);
    const id = randomUUID();
    expect(parseUuid(id, words, 4)).toBe(true);
    expect(d.isDuplicateUuid(words, 4)).toBe(false);
    expect(d.isDuplicate(id)).toBe(true);
    expect(parseUuid(id.toUpperCase(), words, 0)).toBe(false);
    expect(parseUuid('3038ebd2-c98a-4c65-9b6e_e22506292313', words, 0)).toBe(false);
  });

  test('holds many UUIDs exactly (the table grows; IDs differing in one digit stay apart)', () => {
    const d = new EventIdDeduper(100_000);
    const ids: string[] = [];
    for (let i = 0; i < 50_000; i++) ids.push(`00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);
    for (const id of ids) expect(d.isDuplicate(id)).toBe(false);
    for (let i = 0; i < 50_000; i += 997) expect(d.isDuplicate(ids[i])).toBe(true);
    expect(d.isDuplicate('00000000-0000-4000-8000-1000000000ff')).toBe(false);
    // All zero bits is a UUID too (the table's empty slots are all zero: it is kept aside).
    const zero = '00000000-0000-0000-0000-000000000000';
    expect(d.isDuplicate(zero)).toBe(false);
    expect(d.isDuplicate(zero)).toBe(true);
    expect(d.size).toBe(50_002);
  });

  test('room made ahead (reserve) keeps every ID already there and changes no answer, however far off the estimate', () => {
    const ids = Array.from({ length: 3_000 }, () => randomUUID());
    for (const estimate of [0, 10, 3_000, 1e9]) {
      const d = new EventIdDeduper(5_000);
      for (const id of ids.slice(0, 1_000)) d.isDuplicate(id);
      d.reserve(estimate);
      for (const id of ids.slice(0, 1_000)) expect(d.isDuplicate(id)).toBe(true);
      for (const id of ids.slice(1_000)) expect(d.isDuplicate(id)).toBe(false);
      for (const id of ids.slice(2_990)) expect(d.isDuplicate(id)).toBe(true);
      expect(d.isDuplicate('00000000-0000-0000-0000-000000000000')).toBe(false);
      expect(d.size).toBe(3_001);
      expect(d.duplicateCount).toBe(1_010);
    }
  });

  test('ages out UUIDs like any ID: at least `capacity` remembered, at most twice that', () => {
    const d = new EventIdDeduper(100);
    const ids = Array.from({ length: 1000 }, () => randomUUID());
    for (const id of ids) d.isDuplicate(id);
    expect(d.size).toBeLessThanOrEqual(200);
    for (const id of ids.slice(900)) expect(d.isDuplicate(id)).toBe(true);
    expect(d.isDuplicate(ids[0])).toBe(false);
  });
});

describe('AccountDedupers', () => {
  test("keeps each account's eventIDs apart: a repeat within an account is a duplicate, across accounts not", () => {
    const d = new AccountDedupers();
    const id = '3038ebd2-c98a-4c65-9b6e-e22506292313';
    expect(d.isDuplicate(id, '111122223333')).toBe(false);
    expect(d.isDuplicate(id, '444455556666')).toBe(false);
    expect(d.isDuplicate(id, '111122223333')).toBe(true);
    expect(d.of('111122223333').duplicateCount).toBe(1);
    expect(d.of('444455556666').duplicateCount).toBe(0);
  });
});
