/**
 * Rule configuration: which rules run, who is allowed to do what they flag, and how repeated matches are
 * grouped. A plain typed object validated by {@link resolveRulesConfig} (no schema library, so the pure core
 * stays small), carried by the CLI (`--config`) and by the CDK configuration alike.
 *
 * Example (JSON):
 * ```json
 * {
 *   "folders": [{ "path": "sigma/rules/cloud/aws/cloudtrail", "pack": "SigmaHQ" }],
 *   "minLevel": "medium",
 *   "disable": ["aws_sts_assumerole_misuse"],
 *   "placeholders": { "archive_bucket": ["trailsight-archive-111122223333-eu-west-1"] },
 *   "allow": [{ "rules": ["cis-4.1*"], "principals": ["arn:aws:iam::*:role/ci-deployer"], "reason": "CI deploys" }],
 *   "grouping": { "windowMinutes": 60 }
 * }
 * ```
 */
import { RULE_LEVELS, type RuleLevel } from './contract';

/** A folder of Sigma rules to load (every `.yml`/`.yaml` below it). */
export interface RuleFolder {
  /** The folder; the CLI resolves a relative path against the configuration file's folder. */
  readonly path: string;
  /**
   * Name shown as the rules' source.
   * @default - `SigmaHQ` when the folder is (inside) a copy of the SigmaHQ repository, else the folder's name
   */
  readonly pack?: string;
  /** @default - https://github.com/SigmaHQ/sigma for SigmaHQ, else none */
  readonly url?: string;
  /** @default - DRL-1.1 for SigmaHQ, else the rules' own `license` field */
  readonly license?: string;
}

/** Matches that are expected: they are counted as suppressed, never sent. Every list may use `*` wildcards. */
export interface AllowEntry {
  /** Rule ids or names this entry applies to. @default ['*'] (every rule) */
  readonly rules: readonly string[];
  /** Folded principals (role ARN for assumed roles, user ARN, `arn:aws:iam::<acct>:root`). @default - any */
  readonly principals: readonly string[];
  /** Account ids. @default - any */
  readonly accounts: readonly string[];
  /** Why this is expected (kept with the configuration for reviewers). */
  readonly reason: string;
}

export interface RulesConfig {
  /** Load Trailsight's built-in pack (`rules/` in this repository). @default true */
  readonly builtin: boolean;
  /** Sigma rule folders loaded beside the built-in pack: the SigmaHQ CloudTrail folder, your own. @default [] */
  readonly folders: readonly RuleFolder[];
  /**
   * Rules below this level are not run (Sigma levels: informational, low, medium, high, critical). `low`
   * rules are, in Sigma's words, "notable but rarely an incident": hunting material, not alerts.
   * @default 'medium'
   */
  readonly minLevel: RuleLevel;
  /** Rule ids or names (wildcards allowed) run whatever their level. @default [] */
  readonly enable: readonly string[];
  /** Rule ids or names (wildcards allowed) never run. Wins over `enable`. @default [] */
  readonly disable: readonly string[];
  /** Values of the rules' `%name%` placeholders (`field|expand: '%archive_bucket%'`). @default {} */
  readonly placeholders: Readonly<Record<string, readonly string[]>>;
  /** Expected matches, suppressed and counted. @default [] */
  readonly allow: readonly AllowEntry[];
  readonly grouping: {
    /**
     * One event per rule + account + principal per aligned window of this many minutes (event time; 60 = the
     * UTC hours); later matches of the window are counted on the group's marker, not sent again.
     * @default 60
     */
    readonly windowMinutes: number;
  };
}

export const DEFAULT_RULES_CONFIG: RulesConfig = {
  builtin: true,
  folders: [],
  minLevel: 'medium',
  enable: [],
  disable: [],
  placeholders: {},
  allow: [],
  grouping: { windowMinutes: 60 },
};

/** Thrown for a configuration that is not usable; the message names the offending setting. */
export class RulesConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RulesConfigError';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(path: string, why: string): never {
  throw new RulesConfigError(`${path}: ${why}`);
}

function only(obj: Record<string, unknown>, keys: readonly string[], path: string): void {
  for (const k of Object.keys(obj)) if (!keys.includes(k)) fail(path ? `${path}.${k}` : k, 'unknown setting');
}

function strings(v: unknown, path: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.length > 0)) {
    fail(path, 'expected a list of non-empty strings');
  }
  return [...(v as string[])];
}

function minutes(v: unknown, path: string): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 1440) {
    fail(path, 'expected a whole number of minutes from 1 to 1440');
  }
  return v as number;
}

function folder(v: unknown, path: string): RuleFolder {
  if (typeof v === 'string' && v.length > 0) return { path: v };
  if (!isRecord(v)) fail(path, 'expected a folder path or { path, pack?, url?, license? }');
  const f = v as Record<string, unknown>;
  only(f, ['path', 'pack', 'url', 'license'], path);
  const out: { path: string; pack?: string; url?: string; license?: string } = { path: '' };
  for (const key of ['path', 'pack', 'url', 'license'] as const) {
    if (f[key] === undefined) continue;
    if (typeof f[key] !== 'string' || f[key] === '') fail(`${path}.${key}`, 'expected a non-empty string');
    out[key] = f[key] as string;
  }
  if (!out.path) fail(`${path}.path`, 'the folder has no path');
  return out;
}

function allowEntry(v: unknown, path: string): AllowEntry {
  if (!isRecord(v)) fail(path, 'expected { rules?, principals?, accounts?, reason }');
  const e = v as Record<string, unknown>;
  only(e, ['rules', 'principals', 'accounts', 'reason'], path);
  if (typeof e.reason !== 'string' || e.reason.trim() === '')
    fail(`${path}.reason`, 'say why these matches are expected');
  const principals = e.principals === undefined ? [] : strings(e.principals, `${path}.principals`);
  const accounts = e.accounts === undefined ? [] : strings(e.accounts, `${path}.accounts`);
  if (principals.length === 0 && accounts.length === 0) {
    fail(path, 'name principals or accounts (to turn a rule off everywhere, use disable)');
  }
  return {
    rules: e.rules === undefined ? ['*'] : strings(e.rules, `${path}.rules`),
    principals,
    accounts,
    reason: e.reason as string,
  };
}

/**
 * Returns the defaults with `input` applied. Unknown keys, wrong types and unknown levels fail with a
 * {@link RulesConfigError} naming the setting.
 */
export function resolveRulesConfig(input: unknown = {}): RulesConfig {
  if (!isRecord(input)) fail('rules', 'expected an object');
  const i = input as Record<string, unknown>;
  only(i, Object.keys(DEFAULT_RULES_CONFIG), '');
  const d = DEFAULT_RULES_CONFIG;
  if (i.builtin !== undefined && typeof i.builtin !== 'boolean') fail('builtin', 'expected true or false');
  if (i.minLevel !== undefined && !(RULE_LEVELS as readonly unknown[]).includes(i.minLevel)) {
    fail('minLevel', `expected one of ${RULE_LEVELS.join(', ')}`);
  }
  let placeholders = d.placeholders;
  if (i.placeholders !== undefined) {
    if (!isRecord(i.placeholders)) fail('placeholders', 'expected an object of name → value or list of values');
    placeholders = Object.fromEntries(
      Object.entries(i.placeholders as Record<string, unknown>).map(([name, value]) => [
        name,
        typeof value === 'string' ? [value] : strings(value, `placeholders.${name}`),
      ]),
    );
  }
  let grouping = d.grouping;
  if (i.grouping !== undefined) {
    if (!isRecord(i.grouping)) fail('grouping', 'expected { windowMinutes? }');
    const g = i.grouping as Record<string, unknown>;
    only(g, ['windowMinutes'], 'grouping');
    grouping = {
      windowMinutes:
        g.windowMinutes === undefined ? d.grouping.windowMinutes : minutes(g.windowMinutes, 'grouping.windowMinutes'),
    };
  }
  const list = <T>(key: string, each: (v: unknown, path: string) => T, fallback: readonly T[]): readonly T[] => {
    const v = i[key];
    if (v === undefined) return fallback;
    if (!Array.isArray(v)) fail(key, 'expected a list');
    return (v as unknown[]).map((x, n) => each(x, `${key}[${n}]`));
  };
  return {
    builtin: (i.builtin as boolean | undefined) ?? d.builtin,
    folders: list('folders', folder, d.folders),
    minLevel: (i.minLevel as RuleLevel | undefined) ?? d.minLevel,
    enable: i.enable === undefined ? d.enable : strings(i.enable, 'enable'),
    disable: i.disable === undefined ? d.disable : strings(i.disable, 'disable'),
    placeholders,
    allow: list('allow', allowEntry, d.allow),
    grouping,
  };
}
