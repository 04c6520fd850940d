/**
 * `trailsight findings --format ocsf|asff <insights.jsonl|->`: converts insight and rule-match events (the JSONL
 * that `trailsight detect --format jsonl` prints, or the `detail` of bus events) into findings, one JSON object per
 * line: OCSF 1.6.0 Detection Finding records for Security Lake custom sources and OCSF SIEMs, or ASFF records
 * for `aws securityhub batch-import-findings`.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { type AsffTarget, asffTarget, defaultProductArn, partitionOf, toAsff } from '../../lambda/core/findings/asff';
import { toOcsf } from '../../lambda/core/findings/ocsf';
import { detectLineDetailType, findingFromEvent } from '../../lambda/core/findings/sources';
import { type CliCommand, choice, parseOrExit, usageError } from '../io';

const HELP = `usage: trailsight findings --format ocsf|asff [--product-arn ARN] <insights.jsonl|->

Converts insight and rule-match events, one JSON object per line (the output of \`trailsight detect --format
jsonl\`; "-" reads stdin), into findings, one JSON object per line:
  ocsf  OCSF 1.6.0 Detection Finding (class_uid 2004) records, for Security Lake custom sources and OCSF SIEMs
  asff  AWS Security Finding Format records, for Security Hub CSPM (BatchImportFindings, at most 100 per call:
        jq -s '.[0:100]' findings.jsonl > batch.json && aws securityhub batch-import-findings --findings file://batch.json)

The Start and the End of one insight are two versions of one finding (same id; the End resolves it).

options:
  --format ocsf|asff   output format (required)
  --product-arn ARN    asff: the Security Hub product to import with, an account's default product
                       arn:<partition>:securityhub:<region>:<account>:product/<account>/default
                       (default: the default product of each insight's own account and Region)
  -h, --help           this text

exit status: 0 when every line was converted, 1 when some line was skipped (named on stderr), 2 on bad usage.
`;

const MAX_WARNINGS = 20;

export const command: CliCommand = {
  summary: 'convert insight JSONL into OCSF Detection Findings or Security Hub ASFF findings',
  async run(argv, io) {
    const parsed = parseOrExit('findings', HELP, argv, parse, io);
    if (typeof parsed === 'number') return parsed;
    const { values, positionals } = parsed;
    const usage = (why: string) => usageError('findings', io, why);
    if (values.format === undefined) return usage('--format is required (ocsf or asff)');
    let format: 'ocsf' | 'asff';
    try {
      format = choice('--format', values.format, ['ocsf', 'asff'] as const, 'ocsf');
    } catch (e) {
      return usage((e as Error).message);
    }
    if (positionals.length !== 1)
      return usage(positionals.length === 0 ? 'no input given' : 'give one input file (or -)');
    let fixedTarget: AsffTarget | undefined;
    if (values['product-arn'] !== undefined) {
      if (format !== 'asff') return usage('--product-arn applies to --format asff only');
      try {
        fixedTarget = asffTarget(values['product-arn']);
      } catch (e) {
        return usage((e as Error).message);
      }
    }
    const [input] = positionals;
    const stream: Readable = input === '-' ? process.stdin : createReadStream(input);
    let converted = 0;
    let skipped = 0;
    let lineNo = 0;
    try {
      for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
        lineNo++;
        if (line.trim() === '') continue;
        try {
          const detail: unknown = JSON.parse(line);
          const finding = findingFromEvent(detectLineDetailType(detail), detail);
          const record =
            format === 'ocsf'
              ? toOcsf(finding)
              : toAsff(
                  finding,
                  fixedTarget ??
                    asffTarget(defaultProductArn(partitionOf(finding.region), finding.region, finding.account)),
                );
          io.stdout(`${JSON.stringify(record)}\n`);
          converted++;
        } catch (e) {
          skipped++;
          if (skipped <= MAX_WARNINGS) io.stderr(`warning: ${input}:${lineNo}: skipped: ${(e as Error).message}\n`);
        }
      }
    } catch (e) {
      io.stderr(`trailsight findings: cannot read ${input}: ${(e as Error).message}\n`);
      return 2;
    }
    if (skipped > MAX_WARNINGS) io.stderr(`warning: … ${skipped - MAX_WARNINGS} more lines skipped\n`);
    io.stderr(`${converted} findings written (${format}), ${skipped} lines skipped\n`);
    return skipped > 0 ? 1 : 0;
  },
};

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      format: { type: 'string' },
      'product-arn': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
