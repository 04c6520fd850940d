/** The bench's round-by-round ratios: each run against the baseline run of its own round. */
import { type Measurement, roundRatios } from '../../bench/lib/measure';

const run = (ms: number): Measurement => ({ ms, cpuMs: ms, rssMB: 0, status: 0, stdout: '', stderr: '' });

describe('roundRatios', () => {
  test('pairs each run with the baseline run of its round, not with the baseline median', () => {
    // The machine slowed down in round 2: both runs of that round took twice as long.
    const baseline = [run(1000), run(2000), run(1000)];
    const runs = [run(900), run(1800), run(1200)];
    expect(roundRatios(runs, baseline, 1)).toEqual({ min: 0.9, max: 1.2, met: 2, rounds: 3 });
  });

  test('a ratio equal to the target meets it', () => {
    expect(roundRatios([run(1300)], [run(1000)], 1.3).met).toBe(1);
    expect(roundRatios([run(1301)], [run(1000)], 1.3).met).toBe(0);
  });

  test('rounds that do not pair up are an error, not a silent partial answer', () => {
    expect(() => roundRatios([run(1), run(2)], [run(1)], 1)).toThrow('2 runs against 1 baseline runs');
    expect(() => roundRatios([], [], 1)).toThrow('0 runs against 0');
  });
});
