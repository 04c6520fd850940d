import { DEFAULT_DETECT_CONFIG, DetectConfigError, resolveDetectConfig } from '../../lambda/core/detect';
import { arn, burst, DAY, ev, HOUR, MIN, scenario, starts, T0 } from './helpers';

const AT = T0 + 3 * DAY + 14 * HOUR + 2 * MIN;
const spike = () => burst(AT, 30, 5, (t) => ev(t, 'RunInstances', { who: 'user/mallory' }));

describe('resolveDetectConfig', () => {
  test('returns the defaults for an empty config and applies a partial one', () => {
    expect(resolveDetectConfig({})).toEqual(DEFAULT_DETECT_CONFIG);
    const c = resolveDetectConfig({ alpha: 1e-8, detectors: { recon: { minCount: 100 } } });
    expect(c.alpha).toBe(1e-8);
    expect(c.detectors.recon.minCount).toBe(100);
    expect(c.detectors.recon.minDistinctApis).toBe(DEFAULT_DETECT_CONFIG.detectors.recon.minDistinctApis);
  });

  test.each([
    [{ alhpa: 1 }, /alhpa: unknown setting/],
    [{ alpha: 2 }, /alpha: expected a probability/],
    [{ detectors: { recon: { minCount: 'many' } } }, /detectors.recon.minCount: expected a non-negative number/],
    [{ suppress: { principals: 'alice' } }, /suppress.principals: expected a list of strings/],
    [{ suppress: { detectors: ['psychic'] } }, /unknown detector 'psychic'/],
    [{ binMinutes: 7 }, /binMinutes/],
    [{ gap: { enabled: 'yes' } }, /gap.enabled: expected true or false/],
    [{ longWindow: { minutes: 62 } }, /longWindow.minutes: expected a multiple of binMinutes/],
    [{ longWindow: { minutes: 10 } }, /longer than the short window/],
    [{ longWindow: { minutes: 24 * 60 } }, /at most maxLateHours/],
    [{ longWindow: { minCount: 0 } }, /longWindow.minCount: expected at least 1/],
    [{ detectors: { 's3-exfiltration': { knownSources: 2.5 } } }, /knownSources: expected a whole number/],
    [[], /expected an object/],
  ])('fails on %j', (input, message) => {
    expect(() => resolveDetectConfig(input)).toThrow(DetectConfigError);
    expect(() => resolveDetectConfig(input)).toThrow(message);
  });
});

describe('suppressions', () => {
  test('an insight fires without suppressions (control)', () => {
    expect(starts(scenario(spike()).insights, 'call-rate')).toHaveLength(1);
  });

  test('suppress.principals silences insights about that principal, by ARN or short name with wildcards', () => {
    for (const p of [arn('user/mallory'), 'user/mal*']) {
      expect(starts(scenario(spike(), { config: { suppress: { principals: [p] } } }).insights)).toHaveLength(0);
    }
  });

  test('suppress.eventNames, accounts and detectors silence what they name and nothing else', () => {
    expect(starts(scenario(spike(), { config: { suppress: { eventNames: ['RunInst*'] } } }).insights)).toHaveLength(0);
    expect(
      starts(scenario(spike(), { config: { suppress: { eventNames: ['ec2.amazonaws.com:RunInstances'] } } }).insights),
    ).toHaveLength(0);
    expect(starts(scenario(spike(), { config: { suppress: { accounts: ['1111*'] } } }).insights)).toHaveLength(0);
    // The spike is also provisioning in a Region where the account never provisioned: two detectors see it.
    const callRateOff = starts(scenario(spike(), { config: { suppress: { detectors: ['call-rate'] } } }).insights);
    expect(callRateOff.map((i) => i.trailsight.detector)).toEqual(['unused-region']);
    const bothOff = starts(
      scenario(spike(), { config: { suppress: { detectors: ['call-rate', 'unused-region'] } } }).insights,
    );
    expect(bothOff).toHaveLength(0);
    expect(starts(scenario(spike(), { config: { suppress: { eventNames: ['CreateUser'] } } }).insights)).toHaveLength(
      2,
    );
  });

  test('a disabled detector emits nothing', () => {
    const config = { detectors: { 'call-rate': { enabled: false } } };
    expect(starts(scenario(spike(), { config }).insights, 'call-rate')).toHaveLength(0);
  });
});
