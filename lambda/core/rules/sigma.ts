/**
 * One Sigma rule file → a compiled rule (metadata, credit, a predicate over raw records, index keys), or the
 * reasons it cannot be used. Parsing uses the `yaml` package (YAML 1.2, so `date: 2020-02-12` stays a string);
 * the detection logic is compiled by detection.ts and condition.ts.
 */
import { basename, extname } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConditionError, type ConditionNode, parseCondition, referencedIdentifiers } from './condition';
import { RULE_LEVELS, type RuleLevel, type RuleRef } from './contract';
import {
  allOf,
  anyOf,
  type CompiledSearch,
  type CompileOptions,
  compileSearch,
  DetectionError,
  type ExactValues,
  type Predicate,
} from './detection';
import { fieldPath } from './fields';

/** Who publishes a folder of rules: shown with every match (DRL 1.1 asks for the author and the source). */
export interface RulePack {
  /** Shown as the source: `Trailsight`, `SigmaHQ`, or the name of your folder. */
  readonly name: string;
  readonly url?: string;
  /** SPDX-style licence of the rules (a rule's own `license` field wins). */
  readonly license?: string;
}

/** A rule file's text and where it came from. */
export interface RuleText {
  readonly text: string;
  /** The file, relative to its pack's folder (shown in the credit and the load report). */
  readonly file: string;
  readonly pack: RulePack;
}

export interface CompiledRule {
  readonly ref: RuleRef;
  readonly description?: string;
  /** True when the rule matches the raw record. */
  readonly test: Predicate;
  /** Lower-cased eventNames the rule can match; undefined when it does not constrain eventName. */
  readonly eventNames?: ExactValues;
  /** Lower-cased eventSources the rule can match (used when eventName is unconstrained). */
  readonly eventSources?: ExactValues;
  /**
   * Ids of the rules this one makes obsolete (Sigma `related` entries of type `obsolete`): they are not run while
   * this rule runs, so one question raises one alert.
   */
  readonly obsoletes: readonly string[];
  /** Every field the detection reads, in order of first use, and their paths. */
  readonly fields: readonly string[];
  readonly paths: readonly (readonly string[])[];
}

/** A problem with a rule: `rejected` rules are not loaded; `note`s are loaded rules with a caveat. */
export interface RuleIssue {
  readonly pack: string;
  readonly file: string;
  /** The rule's title (or id) when it could be read. */
  readonly rule?: string;
  readonly severity: 'rejected' | 'note';
  /** A short name of the construct (`modifier windash`, `keywords`, `condition`, `yaml`, `logsource`, …). */
  readonly construct: string;
  readonly message: string;
}

export interface CompileResult {
  readonly rule?: CompiledRule;
  readonly issues: RuleIssue[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

const TECHNIQUE_TAG = /^attack\.(t\d{4}(?:\.\d{3})?)$/i;
/** ATT&CK groups (gNNNN) and software (sNNNN) are neither tactics nor techniques. */
const OTHER_ATTACK_TAG = /^attack\.[gs]\d{4}$/i;

/**
 * Top-level fields of CloudTrail records (CloudTrail record contents, eventVersion 1.11), for the load-time check
 * that a rule tests fields that exist.
 */
const CLOUDTRAIL_FIELDS = new Set([
  'eventVersion',
  'userIdentity',
  'eventTime',
  'eventSource',
  'eventName',
  'awsRegion',
  'sourceIPAddress',
  'userAgent',
  'errorCode',
  'errorMessage',
  'requestParameters',
  'responseElements',
  'additionalEventData',
  'requestID',
  'eventID',
  'eventType',
  'apiVersion',
  'managementEvent',
  'readOnly',
  'resources',
  'recipientAccountId',
  'serviceEventDetails',
  'sharedEventID',
  'vpcEndpointId',
  'vpcEndpointAccountId',
  'eventCategory',
  'addendum',
  'sessionCredentialFromConsole',
  'edgeDeviceDetails',
  'tlsDetails',
  'insightDetails',
]);

class Rejected extends Error {
  constructor(
    readonly construct: string,
    message: string,
  ) {
    super(message);
  }
}

/** Compiles one rule file. Never throws: every problem is an issue in the result. */
export function compileSigmaRule(source: RuleText, options: CompileOptions): CompileResult {
  const issues: RuleIssue[] = [];
  let label: string | undefined;
  const issue = (severity: RuleIssue['severity'], construct: string, message: string) =>
    issues.push({ pack: source.pack.name, file: source.file, rule: label, severity, construct, message });
  try {
    const rule = compile(
      source,
      options,
      (l) => {
        label = l;
      },
      (construct, message) => issue('note', construct, message),
    );
    return { rule, issues };
  } catch (e) {
    if (e instanceof Rejected) issue('rejected', e.construct, e.message);
    else if (e instanceof DetectionError) issue('rejected', e.construct, e.message);
    else if (e instanceof ConditionError) issue('rejected', 'condition', e.message);
    else issue('rejected', 'internal', `unexpected error: ${(e as Error).message}`);
    return { issues };
  }
}

function compile(
  source: RuleText,
  options: CompileOptions,
  setLabel: (label: string) => void,
  note: (construct: string, message: string) => void,
): CompiledRule {
  const docs = parseAllDocuments(source.text, { uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [];
  if (list.length === 0) throw new Rejected('yaml', 'the file holds no YAML document');
  const firstError = list.flatMap((d) => d.errors)[0];
  if (firstError) throw new Rejected('yaml', `not valid YAML: ${firstError.message.split('\n')[0]}`);
  if (list.length > 1) {
    throw new Rejected('multi-document', 'multi-document rule files (action: global/repeat) are not supported');
  }
  let doc: unknown;
  try {
    // The alias limit stops "billion laughs" documents before they expand.
    doc = list[0].toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new Rejected('yaml', `cannot be read: ${(e as Error).message}`);
  }
  if (!isRecord(doc)) throw new Rejected('yaml', 'a Sigma rule is a YAML map');
  if (typeof doc.title === 'string') setLabel(doc.title);
  if (doc.correlation !== undefined) {
    throw new Rejected('correlation', 'Sigma correlation rules are not supported (the anomaly detectors count events)');
  }
  if (doc.filter !== undefined && doc.detection === undefined) {
    throw new Rejected('filter', 'Sigma filter files are not supported (use allow-lists in the configuration)');
  }
  const title = doc.title;
  if (typeof title !== 'string' || title.trim() === '') throw new Rejected('title', 'the rule has no title');

  const logsource = doc.logsource;
  if (!isRecord(logsource)) throw new Rejected('logsource', 'the rule has no logsource');
  const product = String(logsource.product ?? '').toLowerCase();
  const service = String(logsource.service ?? '').toLowerCase();
  if (product !== 'aws' || service !== 'cloudtrail') {
    throw new Rejected(
      'logsource',
      `not a CloudTrail rule (logsource product '${logsource.product ?? ''}', service '${logsource.service ?? ''}'; expected aws/cloudtrail)`,
    );
  }
  const status = typeof doc.status === 'string' ? doc.status : undefined;
  if (status === 'deprecated' || status === 'unsupported') {
    throw new Rejected(`status ${status}`, `the rule's status is '${status}'`);
  }

  let level: RuleLevel = 'medium';
  if (doc.level === undefined) note('level', "the rule has no level: 'medium' is assumed");
  else if (typeof doc.level === 'string' && (RULE_LEVELS as readonly string[]).includes(doc.level)) {
    level = doc.level as RuleLevel;
  } else {
    throw new Rejected('level', `unknown level '${String(doc.level)}' (expected ${RULE_LEVELS.join(', ')})`);
  }

  const stem = basename(source.file, extname(source.file));
  const id = typeof doc.id === 'string' && doc.id.trim() !== '' ? doc.id : stem;
  if (id === stem) note('id', `the rule has no id: its file name '${stem}' is used`);
  const name = typeof doc.name === 'string' && doc.name.trim() !== '' ? doc.name : stem;
  const author = Array.isArray(doc.author)
    ? stringList(doc.author).join(', ')
    : typeof doc.author === 'string' && doc.author.trim() !== ''
      ? doc.author
      : 'unknown';
  if (author === 'unknown') note('author', 'the rule names no author: matches are credited to "unknown"');
  const tags = stringList(doc.tags);
  const license = typeof doc.license === 'string' ? doc.license : source.pack.license;

  const detection = doc.detection;
  if (!isRecord(detection)) throw new Rejected('detection', 'the rule has no detection map');
  if (detection.timeframe !== undefined) {
    throw new Rejected('timeframe', 'timeframe (Sigma 1 aggregation) is not supported');
  }
  const rawCondition = detection.condition;
  const conditions = typeof rawCondition === 'string' ? [rawCondition] : stringList(rawCondition);
  if (conditions.length === 0 || (Array.isArray(rawCondition) && conditions.length !== rawCondition.length)) {
    throw new Rejected('condition', 'the detection has no condition (a string or a list of strings)');
  }
  const identifiers = Object.keys(detection).filter((k) => k !== 'condition');
  const searches = new Map<string, CompiledSearch>();
  for (const identifier of identifiers) {
    const search = compileSearch(detection[identifier], options);
    for (const n of search.notes) note('value', `${identifier}: ${n}`);
    searches.set(identifier, search);
  }
  // A list of conditions is ORed (specification, "Condition").
  const trees = conditions.map((c) => parseCondition(c, identifiers));
  const tree: ConditionNode = trees.length === 1 ? trees[0] : { kind: 'or', operands: trees };
  const used = referencedIdentifiers(tree);
  for (const identifier of identifiers) {
    if (!used.has(identifier)) note('unused', `search identifier '${identifier}' is not used by the condition`);
  }

  const fields = [
    ...new Set(identifiers.filter((i) => used.has(i)).flatMap((i) => (searches.get(i) as CompiledSearch).fields)),
  ];
  for (const field of fields) {
    const top = field.split('.')[0];
    if (!CLOUDTRAIL_FIELDS.has(top)) {
      note('field', `'${field}' is not a CloudTrail record field: the selections testing it never match`);
    }
  }
  const obsoletes = (Array.isArray(doc.related) ? doc.related : [])
    .filter((r): r is Record<string, unknown> => isRecord(r) && r.type === 'obsolete' && typeof r.id === 'string')
    .map((r) => r.id as string);
  const eventNames = constraint(tree, 'eventName', searches);
  const eventSources = eventNames ? undefined : constraint(tree, 'eventSource', searches);
  if (eventNames?.size === 0)
    note('condition', 'the selections require contradictory eventNames: the rule never matches');

  return {
    ref: {
      id,
      name,
      title,
      level,
      ...(status ? { status } : {}),
      author,
      source: {
        pack: source.pack.name,
        file: source.file,
        ...(source.pack.url ? { url: source.pack.url } : {}),
        ...(license ? { license } : {}),
      },
      tags,
      mitreTechniques: tags.flatMap((t) => TECHNIQUE_TAG.exec(t)?.[1].toUpperCase() ?? []),
      mitreTactics: tags
        .filter((t) => t.toLowerCase().startsWith('attack.') && !TECHNIQUE_TAG.test(t) && !OTHER_ATTACK_TAG.test(t))
        .map((t) => t.slice('attack.'.length)),
      references: stringList(doc.references),
      falsePositives: stringList(doc.falsepositives),
    },
    ...(typeof doc.description === 'string' ? { description: doc.description.trim() } : {}),
    test: predicate(tree, searches),
    obsoletes,
    ...(eventNames ? { eventNames } : {}),
    ...(eventSources ? { eventSources } : {}),
    fields,
    paths: fields.map(fieldPath),
  };
}

function predicate(node: ConditionNode, searches: ReadonlyMap<string, CompiledSearch>): Predicate {
  switch (node.kind) {
    case 'ref':
      return (searches.get(node.name) as CompiledSearch).test;
    case 'not': {
      const inner = predicate(node.operand, searches);
      return (r) => !inner(r);
    }
    case 'and':
      return allOf(node.operands.map((o) => predicate(o, searches)));
    case 'or':
      return anyOf(node.operands.map((o) => predicate(o, searches)));
  }
}

/**
 * The exact values `field` must take for the condition to hold, or undefined when it is not constrained:
 * what lets the rule set test an event only against the rules that can match its eventName/eventSource.
 */
function constraint(
  node: ConditionNode,
  field: string,
  searches: ReadonlyMap<string, CompiledSearch>,
): ExactValues | undefined {
  switch (node.kind) {
    case 'ref':
      return searches.get(node.name)?.requires.get(field);
    case 'not':
      return undefined;
    case 'and': {
      let out: ExactValues | undefined;
      for (const o of node.operands) {
        const c = constraint(o, field, searches);
        if (c) out = out ? new Set([...out].filter((x) => c.has(x))) : c;
      }
      return out;
    }
    case 'or': {
      const out = new Set<string>();
      for (const o of node.operands) {
        const c = constraint(o, field, searches);
        if (!c) return undefined;
        for (const x of c) out.add(x);
      }
      return out;
    }
  }
}
