/**
 * Folding windows into a baseline (baseline.ts): a compaction adds every window weighed at the sums' reference
 * time and decays the totals once, to the last window's end.
 */
import { resolveDetectConfig, settingsOf } from '../../lambda/core/detect';
import { foldWindow, packSums, unpackSums } from '../../lambda/core/detect/baseline';
import { slotOf } from '../../lambda/core/detect/context';
import type { SeriesBaseline } from '../../lambda/core/detect/state';
import { DAY, T0 } from './helpers';

const settings = settingsOf(resolveDetectConfig({}));
const ctx = { settings } as Parameters<typeof foldWindow>[0];
const { binMs, halfLifeMs } = settings;
const firstBin = T0 / binMs;

/** The sums folded one window at a time without rounding: every slot decayed to each window's end. */
function reference(series: SeriesBaseline, windows: [number, number][]): SeriesBaseline {
  const out = structuredClone(series);
  for (const [w, count] of windows) {
    const t = (w + 1) * binMs;
    if (t > out.ref) {
      const f = 2 ** (-(t - out.ref) / halfLifeMs);
      for (const k of Object.keys(out.s1)) out.s1[k] *= f;
      for (const k of Object.keys(out.s2)) out.s2[k] *= f;
      out.ref = t;
    }
    const slot = String(slotOf(w * binMs, settings.config.utcOffsetMinutes));
    out.s1[slot] = (out.s1[slot] ?? 0) + count;
    out.s2[slot] = (out.s2[slot] ?? 0) + count * count;
  }
  return out;
}

function fold(series: SeriesBaseline, windows: [number, number][]): void {
  const sums = unpackSums(series);
  for (const [w, count] of windows) foldWindow(ctx, sums, w, count);
  packSums(sums, series, halfLifeMs);
}

describe('folding windows into a baseline', () => {
  test('equals folding one window at a time, to the 6 digits the sums keep', () => {
    const series: SeriesBaseline = {
      ref: T0,
      s1: { '3': 12.5, '30': 4 },
      s2: { '3': 80.25, '30': 16 },
      fw: firstBin - 1,
    };
    // Three days of windows, a count every 25 minutes, folded by compactions of about 7 hours.
    const windows: [number, number][] = [];
    for (let w = firstBin; w < firstBin + (3 * DAY) / binMs; w += 5) windows.push([w, 1 + (w % 7)]);
    const expected = reference(series, windows);
    for (let i = 0; i < windows.length; i += 17) fold(series, windows.slice(i, i + 17));
    expect(series.ref).toBe(expected.ref);
    expect(Object.keys(series.s1)).toEqual(Object.keys(expected.s1));
    expect(Object.keys(series.s2)).toEqual(Object.keys(expected.s2));
    for (const k of Object.keys(expected.s1)) {
      expect(Math.abs(series.s1[k] / expected.s1[k] - 1)).toBeLessThan(2e-5);
      expect(Math.abs(series.s2[k] / expected.s2[k] - 1)).toBeLessThan(2e-5);
    }
    // Stored with 6 significant digits.
    for (const v of [...Object.values(series.s1), ...Object.values(series.s2)])
      expect(Number(v.toPrecision(6))).toBe(v);
  });

  test('a window ending before the reference time is counted in full, and moves the reference nowhere', () => {
    const series: SeriesBaseline = { ref: T0 + DAY, s1: {}, s2: {}, fw: firstBin + DAY / binMs };
    fold(series, [[firstBin + 10, 3]]);
    const slot = String(slotOf((firstBin + 10) * binMs, 0));
    expect(series).toEqual({ ref: T0 + DAY, s1: { [slot]: 3 }, s2: { [slot]: 9 }, fw: firstBin + DAY / binMs });
  });

  test('a compaction without windows leaves the sums as they were', () => {
    const series: SeriesBaseline = { ref: T0, s1: { '5': 1.23457 }, s2: { '5': 2 }, fw: firstBin };
    fold(series, []);
    expect(series).toEqual({ ref: T0, s1: { '5': 1.23457 }, s2: { '5': 2 }, fw: firstBin });
  });
});
