/** The evaluations' latency breakdown: the delivery-lag histogram's median and the detector families. */
import { addLag, emptyScore, type LagHistogram, latencyLine, medianLagMinutes } from '../../bench/scenarios/score';

describe('latency breakdown of the evaluations', () => {
  test('the median delivery lag spans the histograms of every seed', () => {
    const a: LagHistogram = [];
    const b: LagHistogram = [];
    for (const s of [60, 120, 180]) addLag(a, s * 1000);
    for (const s of [600, 660]) addLag(b, s * 1000);
    expect(medianLagMinutes([a])).toBe(2);
    // 60, 120, 180, 600, 660 s: the third of five.
    expect(medianLagMinutes([a, b])).toBe(3);
    expect(medianLagMinutes([])).toBeNaN();
  });

  test('activity and missing-activity detectors are reported apart', () => {
    const s = emptyScore();
    s.byKind.recon = {
      detector: 'recon',
      labels: 3,
      detected: 3,
      detectedByKind: 3,
      latencies: [9, 10, 11],
      missed: [],
    };
    s.byKind.gap = { detector: 'gap', labels: 2, detected: 2, detectedByKind: 2, latencies: [90, 100], missed: [] };
    s.latencies.push(9, 10, 11, 90, 100);
    const lags: LagHistogram = [];
    addLag(lags, 6 * 60_000);
    expect(latencyLine(s, [lags], 2)).toBe(
      "latency: median 11.0 min from the first call; CloudTrail's delivery alone takes 6.0 (median event → file in this model), the reorder window 2; by detector family: activity 10.0 min (floor 8.0), missing activity (gap, delivery-gap: they must wait out late files) 95.0 min",
    );
  });
});
