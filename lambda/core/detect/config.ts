/**
 * Detection configuration: thresholds, windows and suppressions, with defaults that work on an ordinary
 * account. A plain typed object (no schema library) so the pure core stays dependency-free; the CLI and
 * the Lambdas validate user input with {@link resolveDetectConfig}.
 */

/** The kinds of insight the engine emits (`trailsight.detector`). */
export type DetectorKind =
  | 'call-rate'
  | 'error-rate'
  | 'iam-burst'
  | 'recon'
  | 'access-denied'
  | 'gap'
  | 'delivery-gap'
  | 'unused-region'
  | 's3-exfiltration'
  | 'console-brute-force';

export const DETECTOR_KINDS: readonly DetectorKind[] = [
  'call-rate',
  'error-rate',
  'iam-burst',
  'recon',
  'access-denied',
  'gap',
  'delivery-gap',
  'unused-region',
  's3-exfiltration',
  'console-brute-force',
];

/** The rate detectors: a series' window against its own baseline (see rate.ts). */
export type RateDetectorKind = 'call-rate' | 'error-rate' | 'iam-burst' | 'recon' | 'access-denied';

/** Thresholds of one rate detector ({@link RateDetectorKind}). */
export interface RateDetectorConfig {
  /** Turn the detector off. */
  readonly enabled: boolean;
  /** Fewest calls in one window before an insight can start, whatever the p-value. */
  readonly minCount: number;
  /** Fewest distinct APIs in the window (cross-API detectors only; 1 = no requirement). */
  readonly minDistinctApis: number;
  /**
   * recon / access-denied: this many APIs the principal never read (was never denied on) before, in one
   * window, also start an insight once it has a day of history (0 = off).
   */
  readonly minNovelApis: number;
  /**
   * recon / iam-burst: a principal's habits. Once it has a day of history, a window made only of APIs it used
   * before, and no larger than this many times the largest window it made in the last weeks (decayed with
   * `halfLifeDays`, reported or not), starts no insight: the usual admin onboarding people, a weekly
   * Terraform apply, a person's regular wide reads (0 = off).
   */
  readonly habitFactor: number;
}

/** `unused-region`: provisioning in a Region where the account never provisioned (see provisioning.ts). */
export interface UnusedRegionConfig {
  readonly enabled: boolean;
  /** Fewest provisioning calls (attempts, failed ones included) in the Region within `longWindow.minutes`. */
  readonly minCalls: number;
  /**
   * A Region counts as one where the account provisions once its first provisioning call is this many hours
   * old: a first burst and a second one the same day are both news, a Region used since yesterday is not.
   */
  readonly establishedHours: number;
}

/** `s3-exfiltration`: bulk S3 object reads (data events) by one principal (see exfiltration.ts). */
export interface S3ExfiltrationConfig {
  readonly enabled: boolean;
  /** Fewest object reads in one window, with p < alpha under the principal's own object-read baseline. */
  readonly minCount: number;
  /**
   * Fewest object reads in one window when most of them come from source IPs the principal never read objects
   * from (it has read objects for at least a day); p < 0.01 is then enough.
   */
  readonly minCountNewSource: number;
  /** Source IPs remembered per principal (the most recently seen). */
  readonly knownSources: number;
}

/** `console-brute-force`: failed console sign-ins against one user (see signin.ts). */
export interface ConsoleBruteForceConfig {
  readonly enabled: boolean;
  /** Fewest failed sign-ins in one window, with p < alpha under the user's own failure baseline. */
  readonly minFailures: number;
  /**
   * Fewest failed sign-ins in the `longWindow.minutes` before a successful sign-in without MFA of the same
   * user (p < 0.01 is then enough): the password was guessed.
   */
  readonly minFailuresBeforeSuccess: number;
}

export interface DetectConfig {
  /** Width of one counting bin, minutes. */
  readonly binMinutes: number;
  /** Bins per test window (the window slides by one bin). */
  readonly windowBins: number;
  /** Half-life of the baselines, days: old behaviour fades, the baseline follows slow drift. */
  readonly halfLifeDays: number;
  /** Tail probability under the baseline below which an insight starts. */
  readonly alpha: number;
  /** Tail probability below which a window keeps an open episode alive. */
  readonly alphaContinue: number;
  /** An insight also needs observed ≥ minRatio × expected (guards against "significant but trivial"). */
  readonly minRatio: number;
  /** Strength of the prior that pulls a sparse seasonal slot toward the key's overall rate, in windows. */
  readonly priorWindows: number;
  /** Prior negative-binomial dispersion (1/r) for keys with little history. */
  readonly priorDispersion: number;
  /** Floor of the learned dispersion. */
  readonly minDispersion: number;
  /** Bins whose end is older than (clock − settleMinutes) are folded into the baselines. */
  readonly settleMinutes: number;
  /** An episode ends after this long (delivery clock) without an anomalous window. */
  readonly endQuietMinutes: number;
  /** No Start insight for an account/region until this much of its history has been replayed. */
  readonly learningHours: number;
  /** UTC offset of the accounts' working day, minutes (seasonal slots use local hour and weekday). */
  readonly utcOffsetMinutes: number;
  /**
   * Period of the evaluator's clock, minutes: the deployed evaluator ticks every `tickMinutes`, and
   * `trailsight detect` replays the same ticks between files, so both end episodes, report missed jobs and
   * silent accounts at the same instants. The stack sets it from `detection.scheduleMinutes`.
   */
  readonly tickMinutes: number;
  /**
   * Files and ticks are applied in delivery order once this many minutes have passed behind them, so files
   * delivered in the same minute, or a little out of order, give the same insights whatever order they
   * were processed in. Insights are published (and `detectedAt` says) this much after the delivery.
   */
  readonly reorderMinutes: number;
  /** Calls older than this when their file is delivered still teach the baselines but are not tested. */
  readonly maxLateHours: number;
  /** When the cold state is folded (see compaction.ts). */
  readonly compaction: {
    /**
     * Fold once the deltas applied since the last compaction weigh this many times the pages (JSON
     * characters; deltas compress about twice as well as pages, so 2 makes a file's share of the page writes
     * about its own compressed delta, whatever the size of the partition)…
     */
    readonly deltaRatio: number;
    /** …counting the pages as at least this many characters… */
    readonly minBaseChars: number;
    /** …but no more often than this… */
    readonly minIntervalMinutes: number;
    /**
     * …and no less often than this while files arrive: what is learned (baselines, first-seen sets, job
     * schedules) is at most this old. A week keeps the page writes per file flat up to 5,000 active principals
     * (`npm run bench`, state section); deltas are kept at least twice as long.
     */
    readonly maxIntervalHours: number;
    /** A page larger than this (serialized characters) is split in two. */
    readonly maxPageChars: number;
  };
  /** What the state forgets, so it stays proportional to what is active. */
  readonly retention: {
    /** Principals not seen for this many days lose their series, first-seen sets and jobs. */
    readonly principalDays: number;
    /** Series whose decayed weight (calls) fell below this are dropped. */
    readonly minSeriesWeight: number;
  };
  /**
   * The long test window: `call-rate` also tests the provisioning APIs (`PROVISIONING_APIS`) over it, so
   * low-and-slow provisioning (a few calls every 10 minutes for an hour) is caught; `unused-region` and the
   * sign-in-after-failures rule of `console-brute-force` look this far back. Its expectation is derived from
   * the series' 10-minute baseline (no second baseline is kept).
   */
  readonly longWindow: {
    readonly enabled: boolean;
    /** Width, minutes: a multiple of `binMinutes`, longer than the short window. */
    readonly minutes: number;
    /** Fewest calls in the long window before call-rate can start an insight from it. */
    readonly minCount: number;
  };
  readonly detectors: {
    readonly 'call-rate': RateDetectorConfig;
    readonly 'error-rate': RateDetectorConfig;
    readonly 'iam-burst': RateDetectorConfig;
    readonly recon: RateDetectorConfig;
    readonly 'access-denied': RateDetectorConfig;
    readonly 'unused-region': UnusedRegionConfig;
    readonly 's3-exfiltration': S3ExfiltrationConfig;
    readonly 'console-brute-force': ConsoleBruteForceConfig;
  };
  readonly gap: {
    readonly enabled: boolean;
    /** Events of one (principal, API) further apart than this start a new run. */
    readonly runGapMinutes: number;
    /** Runs needed before a schedule is trusted. */
    readonly minRuns: number;
    /** Shortest and longest schedule periods considered. */
    readonly minPeriodMinutes: number;
    readonly maxPeriodMinutes: number;
    /** Allowed jitter of a run: max(jitterFloorMinutes, jitterFraction × period). */
    readonly jitterFloorMinutes: number;
    readonly jitterFraction: number;
    /**
     * Around daylight-saving changes (jobs.ts lists the zones), a job of 6 hours or more that runs an hour
     * early or late keeps its schedule, and a run is only called missed an hour later than usual.
     */
    readonly clockChanges: boolean;
  };
  readonly deliveryGap: {
    readonly enabled: boolean;
    /** Shortest silence reported. */
    readonly minSilentMinutes: number;
    /** A silence is reported when longer than factor × the longest silence learned for that hour… */
    readonly factor: number;
    /** …and less likely than this if files arrived as a Poisson process at the hour's mean pace. */
    readonly alpha: number;
    /** Longer silences are archive boundaries or retired accounts, not outages (the evaluator ticks report outages within hours). */
    readonly maxSilentHours: number;
    /**
     * In a Region whose trail delivers digest files (log file validation: one every hour, with or without
     * activity), a gap is this long without a digest; log-file silences there are never reported.
     */
    readonly digestGapMinutes: number;
    /**
     * After a logged `StopLogging` or `DeleteTrail`, a gap is this long without any event logged after it (the
     * files of the events before it arrive within CloudTrail's usual delivery time, 5 minutes on average and
     * rarely over 15): the direct evidence, whatever the account's usual silences or digests.
     */
    readonly afterStopMinutes: number;
  };
  /** Insights about these are never emitted (they still feed the baselines). */
  readonly suppress: {
    /** Principal ARNs or names; `*` matches any run of characters. */
    readonly principals: readonly string[];
    /** eventNames or `source:eventName`; `*` wildcards allowed. */
    readonly eventNames: readonly string[];
    readonly accounts: readonly string[];
    readonly regions: readonly string[];
    readonly detectors: readonly DetectorKind[];
  };
}

export const DEFAULT_DETECT_CONFIG: DetectConfig = {
  binMinutes: 5,
  windowBins: 2,
  halfLifeDays: 14,
  alpha: 1e-6,
  alphaContinue: 1e-3,
  minRatio: 3,
  priorWindows: 6,
  priorDispersion: 1,
  minDispersion: 0.05,
  settleMinutes: 30,
  endQuietMinutes: 15,
  learningHours: 48,
  utcOffsetMinutes: 0,
  tickMinutes: 1,
  reorderMinutes: 2,
  maxLateHours: 6,
  compaction: {
    deltaRatio: 2,
    minBaseChars: 20_000,
    minIntervalMinutes: 60,
    maxIntervalHours: 168,
    maxPageChars: 200_000,
  },
  retention: { principalDays: 30, minSeriesWeight: 1 },
  longWindow: { enabled: true, minutes: 60, minCount: 15 },
  detectors: {
    'call-rate': { enabled: true, minCount: 10, minDistinctApis: 1, minNovelApis: 0, habitFactor: 0 },
    'error-rate': { enabled: true, minCount: 10, minDistinctApis: 1, minNovelApis: 0, habitFactor: 0 },
    'iam-burst': { enabled: true, minCount: 5, minDistinctApis: 2, minNovelApis: 0, habitFactor: 2 },
    recon: { enabled: true, minCount: 25, minDistinctApis: 10, minNovelApis: 8, habitFactor: 2 },
    'access-denied': { enabled: true, minCount: 10, minDistinctApis: 3, minNovelApis: 4, habitFactor: 0 },
    'unused-region': { enabled: true, minCalls: 3, establishedHours: 24 },
    's3-exfiltration': { enabled: true, minCount: 50, minCountNewSource: 20, knownSources: 8 },
    'console-brute-force': { enabled: true, minFailures: 6, minFailuresBeforeSuccess: 5 },
  },
  gap: {
    enabled: true,
    runGapMinutes: 30,
    minRuns: 5,
    minPeriodMinutes: 30,
    maxPeriodMinutes: 8 * 24 * 60,
    jitterFloorMinutes: 5,
    jitterFraction: 0.005,
    clockChanges: true,
  },
  deliveryGap: {
    enabled: true,
    minSilentMinutes: 45,
    factor: 1.5,
    alpha: 1e-3,
    maxSilentHours: 48,
    digestGapMinutes: 130,
    afterStopMinutes: 15,
  },
  suppress: { principals: [], eventNames: [], accounts: [], regions: [], detectors: [] },
};

/** A partial configuration as a user writes it (any level may be omitted). */
export type DetectConfigInput = {
  [K in keyof DetectConfig]?: DetectConfig[K] extends readonly unknown[]
    ? DetectConfig[K]
    : DetectConfig[K] extends object
      ? {
          [L in keyof DetectConfig[K]]?: DetectConfig[K][L] extends object
            ? Partial<DetectConfig[K][L]>
            : DetectConfig[K][L];
        }
      : DetectConfig[K];
};

/** Thrown for a configuration that is not usable; the message names the offending path. */
export class DetectConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DetectConfigError';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep-merges `input` over `base`, checking that every key exists and every leaf has the base's type. */
function mergeChecked(base: unknown, input: unknown, path: string): unknown {
  if (input === undefined) return base;
  if (Array.isArray(base)) {
    if (!Array.isArray(input) || !input.every((x) => typeof x === 'string')) {
      throw new DetectConfigError(`${path}: expected a list of strings`);
    }
    return [...input];
  }
  if (isRecord(base)) {
    if (!isRecord(input)) throw new DetectConfigError(`${path}: expected an object`);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(input)) {
      if (!(key in base)) throw new DetectConfigError(`${path ? `${path}.` : ''}${key}: unknown setting`);
    }
    for (const [key, value] of Object.entries(base)) {
      out[key] = mergeChecked(value, input[key], path ? `${path}.${key}` : key);
    }
    return out;
  }
  if (typeof base === 'number') {
    if (typeof input !== 'number' || !Number.isFinite(input) || input < 0) {
      throw new DetectConfigError(`${path}: expected a non-negative number`);
    }
    return input;
  }
  if (typeof base === 'boolean') {
    if (typeof input !== 'boolean') throw new DetectConfigError(`${path}: expected true or false`);
    return input;
  }
  return input;
}

/**
 * Returns the defaults with `input` applied. Unknown keys, wrong types, out-of-range numbers and unknown
 * detector names fail with a {@link DetectConfigError} naming the setting.
 */
export function resolveDetectConfig(input: unknown = {}): DetectConfig {
  const merged = mergeChecked(DEFAULT_DETECT_CONFIG, input, '') as DetectConfig;
  for (const d of merged.suppress.detectors) {
    if (!DETECTOR_KINDS.includes(d)) throw new DetectConfigError(`suppress.detectors: unknown detector '${d}'`);
  }
  const probabilities: [string, number][] = [
    ['alpha', merged.alpha],
    ['alphaContinue', merged.alphaContinue],
    ['deliveryGap.alpha', merged.deliveryGap.alpha],
  ];
  for (const [name, p] of probabilities) {
    if (!(p > 0 && p < 1)) throw new DetectConfigError(`${name}: expected a probability between 0 and 1`);
  }
  if (merged.binMinutes < 1 || !Number.isInteger(merged.binMinutes) || 60 % merged.binMinutes !== 0) {
    throw new DetectConfigError('binMinutes: expected a whole number of minutes that divides 60');
  }
  if (merged.windowBins < 1 || !Number.isInteger(merged.windowBins)) {
    throw new DetectConfigError('windowBins: expected a whole number ≥ 1');
  }
  const { longWindow } = merged;
  if (
    longWindow.minutes % merged.binMinutes !== 0 ||
    longWindow.minutes <= merged.binMinutes * merged.windowBins ||
    longWindow.minutes > merged.maxLateHours * 60
  ) {
    throw new DetectConfigError(
      'longWindow.minutes: expected a multiple of binMinutes, longer than the short window and at most maxLateHours',
    );
  }
  if (longWindow.minCount < 1) throw new DetectConfigError('longWindow.minCount: expected at least 1');
  if (
    merged.detectors['s3-exfiltration'].knownSources < 1 ||
    !Number.isInteger(merged.detectors['s3-exfiltration'].knownSources)
  ) {
    throw new DetectConfigError('detectors.s3-exfiltration.knownSources: expected a whole number ≥ 1');
  }
  if (merged.halfLifeDays <= 0) throw new DetectConfigError('halfLifeDays: expected a positive number');
  if (merged.tickMinutes < 1 || !Number.isInteger(merged.tickMinutes)) {
    throw new DetectConfigError('tickMinutes: expected a whole number of minutes ≥ 1');
  }
  if (merged.compaction.minIntervalMinutes > merged.compaction.maxIntervalHours * 60) {
    throw new DetectConfigError('compaction.minIntervalMinutes: must not exceed compaction.maxIntervalHours');
  }
  if (merged.compaction.maxPageChars < 10_000) {
    throw new DetectConfigError('compaction.maxPageChars: expected at least 10000 characters');
  }
  return merged;
}

/** Compiles a `*` wildcard pattern into an anchored, case-sensitive matcher. */
export function wildcardMatcher(patterns: readonly string[]): (value: string) => boolean {
  if (patterns.length === 0) return () => false;
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split('*')
          .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      ),
  );
  return (value) => res.some((re) => re.test(value));
}
