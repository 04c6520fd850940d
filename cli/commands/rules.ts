/**
 * `trailsight rules list|test`: the rule engine on a laptop. `list` shows the loaded rules, whether each runs
 * under the configuration and why not, and the load report (every construct that could not be loaded, per
 * rule). `test` runs rules over CloudTrail files and prints which rule matched which event, with the rule's
 * author and source (DRL 1.1 asks for both wherever a SigmaHQ rule's match is shown).
 */
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type LocalFile, listLocalFiles, openLocalRecords } from '../../lambda/adapters/local-files';
import { EventIdDeduper } from '../../lambda/core/dedupe';
import { createReadReport, readTrailEvents } from '../../lambda/core/reader';
import {
  type CompiledRule,
  DEFAULT_RULES_CONFIG,
  type LoadedRules,
  loadRules,
  planRules,
  RuleEngine,
  type RuleIssue,
  type RuleMatch,
  type RulesConfig,
  RulesConfigError,
  resolveRulesConfig,
} from '../../lambda/core/rules';
import { listRuleFiles } from '../../lambda/core/rules/load';
import { type CliCommand, type CliIo, choice, parseOrExit, UsageError, usageError } from '../io';

const HELP = `usage: trailsight rules list [<rules>...] [--config FILE] [--format table|json]
       trailsight rules test [<rules>...] <logs>... [--config FILE] [--format table|jsonl] [--alerts]

Sigma rules over CloudTrail records: Trailsight's built-in pack (CIS 4.1-4.15, trail tampering, KMS keys,
public buckets, console sign-in without MFA) and any folder of Sigma rules, such as SigmaHQ's
rules/cloud/aws/cloudtrail (see docs/rules.md).

<rules> are .yml/.yaml files, folders of them, or the word builtin (the built-in pack); without any, the
configured rules are used (the built-in pack and the configuration's folders). <logs> are CloudTrail files and
folders (.json.gz, .json, .jsonl; any depth).

  list   every loaded rule: level, whether it runs under the configuration (or why not), what the index files
         it under, its source and author; then the load report (rules rejected and why, notes)
  test   every match of every loaded rule on the logs, with credit; with --alerts, only what the pipeline
         would send: the configuration's levels, enable/disable, allow-lists and grouping applied

options:
  --config FILE         rules configuration (JSON, see docs/rules.md); relative folders are read from FILE's folder
  --format FORMAT       list: table|json (default table); test: table|jsonl (default table; jsonl is one
                        "Trailsight Rule Match" event per line)
  --alerts              test: apply the configuration as the pipeline does (see above)
  -h, --help            this text

exit status: 0 when every rule loaded and every file was read, 1 when a rule was rejected or a file could not
be read fully, 2 on bad usage or a bad configuration.
`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      format: { type: 'string' },
      alerts: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** A path names rules when it is `builtin`, a YAML file, or a folder holding YAML and no CloudTrail files. */
function isRulePath(path: string): boolean {
  if (path === 'builtin') return true;
  if (/\.ya?ml$/i.test(path)) return true;
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return false;
  return listRuleFiles(path).length > 0 && !hasLogFiles(path);
}

function hasLogFiles(dir: string): boolean {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.(json|jsonl|ndjson)(\.gz)?$/i.test(entry.name)) return true;
  }
  return false;
}

/** The configuration with its relative folders read from `base` (the configuration file's folder). */
export function withFoldersFrom(config: RulesConfig, base: string): RulesConfig {
  return {
    ...config,
    folders: config.folders.map((f) => (isAbsolute(f.path) ? f : { ...f, path: resolve(base, f.path) })),
  };
}

async function readConfig(path: string | undefined): Promise<RulesConfig> {
  if (!path) return DEFAULT_RULES_CONFIG;
  return withFoldersFrom(resolveRulesConfig(JSON.parse(await readFile(path, 'utf8'))), dirname(path));
}

/** Loads the rules named on the command line, or the configured ones when none is named. */
function load(rulePaths: readonly string[], config: RulesConfig): LoadedRules {
  if (rulePaths.length === 0) return loadRules(config);
  return loadRules({
    builtin: rulePaths.includes('builtin'),
    folders: rulePaths.filter((p) => p !== 'builtin').map((path) => ({ path })),
    placeholders: config.placeholders,
  });
}

function formatIssues(issues: readonly RuleIssue[]): string {
  if (issues.length === 0) return 'load report: every rule loaded, no notes\n';
  const rejected = issues.filter((i) => i.severity === 'rejected').length;
  const lines = issues.map(
    (i) =>
      `  ${i.severity.padEnd(8)}  ${i.pack}/${i.file}${i.rule ? ` (${i.rule})` : ''}: ${i.construct}: ${i.message}`,
  );
  return `load report: ${rejected} rejected, ${issues.length - rejected} notes\n${lines.join('\n')}\n`;
}

function indexedAs(rule: CompiledRule): string {
  if (rule.eventNames) return `${rule.eventNames.size} eventName${rule.eventNames.size === 1 ? '' : 's'}`;
  if (rule.eventSources) return `${rule.eventSources.size} eventSource${rule.eventSources.size === 1 ? '' : 's'}`;
  return 'every event';
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** The credit DRL 1.1 asks for with a match: the rule's author and its source. */
export function credit(match: Pick<RuleMatch, 'rule'>): string {
  const { author, source } = match.rule;
  return `${author} / ${source.pack}${source.license ? ` (${source.license})` : ''} ${source.file}`;
}

/**
 * One line per rule-match event, oldest first, with credit; `countOf` gives the count column (default: the
 * event's own count).
 */
export function formatRuleMatchTable(
  matches: readonly RuleMatch[],
  countOf: (match: RuleMatch) => number = (m) => m.group.count,
): string {
  if (matches.length === 0) return 'no rule matches\n';
  return table(
    ['time (UTC)', 'level', 'rule', 'event', 'principal', 'account/region', 'count', 'author / source'],
    matches.map((m) => [
      m.event.eventTime.replace('T', ' ').slice(0, 19),
      m.rule.level,
      m.rule.name,
      `${m.event.eventName}${m.event.errorCode ? ` (${m.event.errorCode})` : ''}`,
      m.event.principal,
      `${m.event.account}/${m.event.region}`,
      String(countOf(m)),
      credit(m),
    ]),
  );
}

function readable(f: LocalFile): boolean {
  return (
    f.format !== 'other' && (f.info.kind === 'log' || (f.info.kind === 'foreign' && !/(^|\/)AWSLogs\//.test(f.key)))
  );
}

async function list(rulePaths: string[], config: RulesConfig, format: string, io: CliIo): Promise<number> {
  const loaded = load(rulePaths, config);
  const plan = planRules(loaded.rules, config);
  if (format === 'json') {
    io.stdout(
      `${JSON.stringify(
        {
          rules: plan.map(({ rule, status }) => ({ ...rule.ref, status, indexedOn: indexedAs(rule) })),
          issues: loaded.issues,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    const status = (s: (typeof plan)[number]['status']) =>
      s.state === 'superseded' ? `superseded by ${s.by}` : s.state;
    io.stdout(
      table(
        ['rule', 'level', 'runs', 'tested on', 'author / source'],
        plan.map(({ rule, status: s }) => [
          rule.ref.name,
          rule.ref.level,
          status(s),
          indexedAs(rule),
          credit({ rule: rule.ref }),
        ]),
      ),
    );
    io.stdout(`\n${formatIssues(loaded.issues)}`);
  }
  const running = plan.filter((p) => p.status.state === 'active').length;
  io.stderr(`${loaded.rules.length} rules loaded from ${loaded.files} files, ${running} run under the configuration\n`);
  return loaded.issues.some((i) => i.severity === 'rejected') ? 1 : 0;
}

async function test(
  rulePaths: string[],
  logPaths: string[],
  config: RulesConfig,
  format: string,
  alerts: boolean,
  io: CliIo,
): Promise<number> {
  const loaded = load(rulePaths, config);
  const rejected = loaded.issues.filter((i) => i.severity === 'rejected');
  for (const i of rejected) io.stderr(`warning: rule rejected: ${i.pack}/${i.file}: ${i.construct}: ${i.message}\n`);
  // Testing rules shows every match of every rule; --alerts shows what the pipeline would send.
  const effective: RulesConfig = alerts
    ? config
    : { ...config, minLevel: 'informational', enable: ['*'], disable: [], allow: [] };
  const engine = new RuleEngine(loaded.rules, effective);
  const files = await listLocalFiles(logPaths);
  // The pipeline groups matches in delivery order: so does --alerts (files without a delivery time last).
  if (alerts) {
    const at = (f: (typeof files)[number]) => f.info.deliveredAt ?? Number.POSITIVE_INFINITY;
    files.sort((a, b) => at(a) - at(b) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
  const dedupe = new EventIdDeduper();
  const matches: RuleMatch[] = [];
  let failed = 0;
  let read = 0;
  for (const f of files) {
    if (!readable(f)) continue;
    read++;
    const report = createReadReport(f.path);
    for await (const _ of readTrailEvents(openLocalRecords(f), {
      file: f.path,
      report,
      dedupe,
      fallbackAccount: f.info.account,
      onEvent: engine.observe,
    })) {
      // events are tested by onEvent as they are read
    }
    for (const e of report.errors) io.stderr(`warning: ${e.message}\n`);
    if (report.errors.length > 0) {
      // The pipeline sends nothing of a file it cannot read whole (it is retried, then dead-lettered).
      failed++;
      if (alerts) engine.takeGroups();
    } else if (alerts) matches.push(...engine.flush(f.path));
  }
  if (!alerts) matches.push(...engine.flushEach());
  if (format === 'jsonl') for (const m of matches) io.stdout(`${JSON.stringify(m)}\n`);
  else io.stdout(formatRuleMatchTable(matches));
  const s = engine.stats;
  io.stderr(
    `${engine.ruleSet.rules.length} rules on ${read} files, ${s.events} events: ${s.hits} matches` +
      (alerts ? `, ${s.suppressed} allow-listed, the rest grouped into ${s.matches} rule-match events` : '') +
      `${failed > 0 ? `; ${failed} files unreadable` : ''}\n`,
  );
  return failed > 0 || rejected.length > 0 ? 1 : 0;
}

export const command: CliCommand = {
  summary: 'list the detection rules (built-in, SigmaHQ, your own) or test them on CloudTrail files',
  async run(argv, io) {
    const parsed = parseOrExit('rules', HELP, argv, parse, io);
    if (typeof parsed === 'number') return parsed;
    const { values, positionals } = parsed;
    const [sub, ...paths] = positionals;
    try {
      if (sub !== 'list' && sub !== 'test')
        throw new UsageError(sub ? `unknown sub-command '${sub}'` : 'no sub-command');
      const format = choice(
        '--format',
        values.format,
        sub === 'list' ? ['table', 'json'] : ['table', 'jsonl'],
        'table',
      );
      if (sub === 'list' && values.alerts) throw new UsageError('--alerts applies to test only');
      for (const p of paths) {
        if (p !== 'builtin' && statSync(p, { throwIfNoEntry: false }) === undefined) {
          throw new UsageError(`no such file or folder: ${p}`);
        }
      }
      const rulePaths = paths.filter(isRulePath);
      const logPaths = paths.filter((p) => !isRulePath(p));
      let config: RulesConfig;
      try {
        config = await readConfig(values.config);
      } catch (e) {
        io.stderr(`trailsight rules: bad config: ${(e as Error).message}\n`);
        return 2;
      }
      if (sub === 'list') {
        if (logPaths.length > 0) throw new UsageError(`not a rule file or folder: ${logPaths[0]}`);
        return await list(rulePaths, config, format, io);
      }
      if (logPaths.length === 0) throw new UsageError('no CloudTrail file or folder given');
      return await test(rulePaths, logPaths, config, format, values.alerts ?? false, io);
    } catch (e) {
      if (e instanceof UsageError) return usageError('rules', io, e.message);
      if (e instanceof RulesConfigError) {
        io.stderr(`trailsight rules: bad config: ${e.message}\n`);
        return 2;
      }
      io.stderr(`trailsight rules: ${(e as Error).message}\n`);
      return 2;
    }
  },
};
