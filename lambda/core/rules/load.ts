/**
 * Loads rule packs: the built-in pack (`rules/` at the repository root) and Sigma folders from configuration.
 * Every problem is an entry of the load report, never an exception and never a silent skip: a file that cannot
 * be read, YAML that does not parse, a construct the engine does not support, a duplicate id.
 *
 * Node built-ins only (fs, path, and crypto for the digest of the texts), like the query catalog; {@link compileRules}
 * is the pure part (no I/O), for callers that bring the texts themselves (a bundled Lambda).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { RuleFolder, RulesConfig } from './config';
import type { CompileOptions } from './detection';
import { type CompiledRule, compileSigmaRule, type RuleIssue, type RulePack, type RuleText } from './sigma';

/**
 * Set by the CLI build (cli/build.mjs) to the pack's place relative to the bundled command; undefined when this
 * module runs from source.
 */
declare const TRAILSIGHT_RULES_DIR: string | undefined;

/** The built-in pack's folder: in a checkout of this repository, or the copy that ships beside the built CLI. */
export const BUILTIN_RULES_DIR =
  typeof TRAILSIGHT_RULES_DIR === 'string'
    ? resolve(__dirname, TRAILSIGHT_RULES_DIR)
    : resolve(__dirname, '../../../rules');

export const BUILTIN_PACK: RulePack = { name: 'Trailsight', license: 'Apache-2.0' };

/** SigmaHQ's rules are under the Detection Rule License 1.1: author and source go with every match. */
export const SIGMAHQ_PACK: RulePack = { name: 'SigmaHQ', url: 'https://github.com/SigmaHQ/sigma', license: 'DRL-1.1' };

/** Rule files larger than this are rejected unread (the largest SigmaHQ rule is a few KB). */
export const MAX_RULE_FILE_BYTES = 256 * 1024;

export interface LoadedRules {
  /** Rules that compiled, in load order (built-in pack first, then folders in configuration order). */
  readonly rules: CompiledRule[];
  /** The load report: rejected rules and notes, per file. */
  readonly issues: RuleIssue[];
  /** Rule files read. */
  readonly files: number;
  /**
   * SHA-256 of every rule text compiled (pack, file and text, in order): equal digests mean the same rules, which
   * is how a thread that loads them again knows no rule file changed in between.
   */
  readonly digest: string;
}

/** Compiles rule texts; a rule whose id was already loaded is rejected (ids key grouping and configuration). */
export function compileRules(texts: readonly RuleText[], options: CompileOptions): LoadedRules {
  const rules: CompiledRule[] = [];
  const issues: RuleIssue[] = [];
  const seen = new Map<string, RuleText>();
  for (const text of texts) {
    const result = compileSigmaRule(text, options);
    issues.push(...result.issues);
    if (!result.rule) continue;
    const first = seen.get(result.rule.ref.id);
    if (first) {
      issues.push({
        pack: text.pack.name,
        file: text.file,
        rule: result.rule.ref.title,
        severity: 'rejected',
        construct: 'duplicate id',
        message: `id ${result.rule.ref.id} is already used by ${first.pack.name} ${first.file}`,
      });
      continue;
    }
    seen.set(result.rule.ref.id, text);
    rules.push(result.rule);
  }
  const digest = createHash('sha256')
    .update(JSON.stringify(texts.map((t) => [t.pack.name, t.file, t.text])))
    .digest('hex');
  return { rules, issues, files: texts.length, digest };
}

/** Every `.yml`/`.yaml` file below `dir`, sorted; throws naming the folder when it cannot be listed. */
export function listRuleFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch (e) {
      throw new Error(`cannot read the rule folder ${d}: ${(e as Error).message}`);
    }
    for (const entry of entries) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.ya?ml$/i.test(entry.name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * A folder is credited as SigmaHQ when it is (inside) a copy of SigmaHQ's rules: a parent holds SigmaHQ's licence
 * notice, `LICENSE-SigmaHQ.md` (as in ../shared/data) or the `LICENSE` of a clone of SigmaHQ/sigma.
 */
function isSigmaHq(dir: string): boolean {
  let d = resolve(dir);
  for (let depth = 0; depth < 8; depth++) {
    if (existsSync(join(d, 'LICENSE-SigmaHQ.md'))) return true;
    const license = join(d, 'LICENSE');
    if (existsSync(license) && statSync(license).size < 16_384) {
      const text = readFileSync(license, 'utf8');
      if (text.includes('SigmaHQ') && text.includes('Detection Rule License')) return true;
    }
    const parent = dirname(d);
    if (parent === d) break;
    d = parent;
  }
  return false;
}

/** Who to credit for a folder's rules: the configured names, else SigmaHQ or the folder's own name. */
export function describePack(folder: RuleFolder): RulePack {
  const base = isSigmaHq(folder.path) ? SIGMAHQ_PACK : { name: basename(resolve(folder.path)) };
  return {
    name: folder.pack ?? base.name,
    ...((folder.url ?? base.url) ? { url: folder.url ?? base.url } : {}),
    ...((folder.license ?? base.license) ? { license: folder.license ?? base.license } : {}),
  };
}

/** Reads a folder's rule files (or a single file) as texts; unreadable and oversized files become issues. */
export function readRuleFolder(
  folder: RuleFolder,
  pack: RulePack = describePack(folder),
): {
  texts: RuleText[];
  issues: RuleIssue[];
} {
  const texts: RuleText[] = [];
  const issues: RuleIssue[] = [];
  const root = resolve(folder.path);
  const isFile = statSync(root, { throwIfNoEntry: false })?.isFile() ?? false;
  const files = isFile ? [root] : listRuleFiles(root);
  for (const path of files) {
    const file = isFile ? basename(path) : relative(root, path).split(sep).join('/');
    const problem = (message: string) =>
      issues.push({ pack: pack.name, file, severity: 'rejected', construct: 'file', message });
    try {
      const size = statSync(path).size;
      if (size > MAX_RULE_FILE_BYTES) {
        problem(`${size} bytes: larger than ${MAX_RULE_FILE_BYTES} bytes, not read`);
        continue;
      }
      texts.push({ text: readFileSync(path, 'utf8'), file, pack });
    } catch (e) {
      problem(`cannot read: ${(e as Error).message}`);
    }
  }
  return { texts, issues };
}

/**
 * Loads the rules a configuration names: the built-in pack (unless `builtin` is false), then every folder.
 * A folder that does not exist or cannot be listed throws (a configuration error the caller reports at once).
 */
export function loadRules(
  config: Pick<RulesConfig, 'builtin' | 'folders' | 'placeholders'>,
  builtinDir: string = BUILTIN_RULES_DIR,
): LoadedRules {
  const sources: { folder: RuleFolder; pack?: RulePack }[] = [
    ...(config.builtin ? [{ folder: { path: builtinDir }, pack: BUILTIN_PACK }] : []),
    ...config.folders.map((folder) => ({ folder })),
  ];
  const texts: RuleText[] = [];
  const issues: RuleIssue[] = [];
  for (const { folder, pack } of sources) {
    if (!existsSync(folder.path)) throw new Error(`rule folder not found: ${folder.path}`);
    const read = readRuleFolder(folder, pack);
    texts.push(...read.texts);
    issues.push(...read.issues);
  }
  const compiled = compileRules(texts, { placeholders: config.placeholders });
  return { ...compiled, issues: [...issues, ...compiled.issues], files: texts.length + issues.length };
}
