/**
 * `trailsight verify`: CloudTrail digest-chain verification, offline over a local copy of the archive or online over
 * the archive bucket, with a report an auditor can attach (table or JSON) and an exit status a pipeline can gate on.
 */
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { CloudTrailPublicKeys } from '../../lambda/adapters/cloudtrail-public-keys';
import { LocalArchiveReader, METADATA_SUFFIX } from '../../lambda/adapters/local-archive-reader';
import { PublicKeyFiles } from '../../lambda/adapters/public-key-file';
import { S3ArchiveReader } from '../../lambda/adapters/s3-archive-reader';
import { type IntegrityReport, parseDigestKey } from '../../lambda/core/digest';
import { classifyKey } from '../../lambda/core/keys';
import type { PublicKeySource } from '../../lambda/integrity/ports';
import { verifyFiles, verifyWindow } from '../../lambda/integrity/verify-archive';
import { type CliCommand, choice, parseOrExit, usageError } from '../io';

const HELP = `usage: trailsight verify <path...> --public-keys FILE [--format table|json]
       trailsight verify --bucket NAME --from TIME [--to TIME] [--prefix P] [--public-keys FILE] [--format table|json]

Verifies CloudTrail log file integrity: each digest file's signature (RSA SHA-256, key chosen by its fingerprint),
the chain of digests (previous signature and hash, no hour missing), each listed log file's SHA-256, log files no
digest lists (planted), and digests missing from the chain. Findings name the file and the kind (docs/integrity.md).

Offline (paths): a local copy of the archive, any folder layout that keeps the keys from AWSLogs/ on. Digest
signatures live in S3 object metadata; save the newest digest's of each chain beside it as <digest>${METADATA_SUFFIX}
(aws s3api head-object --bucket B --key K --query Metadata > K${METADATA_SUFFIX}); older digests are authenticated
through the chain. --public-keys is the output of "aws cloudtrail list-public-keys" for each Region (repeatable).

Online (--bucket): reads the archive with your AWS credentials, the digests that end between --from and --to and
the log files delivered then, in every account and Region under --prefix (default AWSLogs/). Public keys come from
CloudTrail ListPublicKeys in each digest's Region unless --public-keys is given. Needs s3:ListBucket, s3:GetObject,
kms:Decrypt on the archive key (through S3) and cloudtrail:ListPublicKeys.

options:
  --public-keys FILE    list-public-keys output (offline: required; online: instead of ListPublicKeys)
  --bucket NAME         verify the archive bucket online
  --from TIME, --to TIME  ISO-8601 delivery window (online; --to defaults to now)
  --prefix P            key prefix to verify, containing AWSLogs/ (online)
  --region R            Region of the S3 client (online; default: your AWS configuration)
  --no-hash             online: check that listed log files exist, without reading them
  --format table|json   output format (default: table)
  -h, --help            this text

exit status: 0 when no finding is an error (warnings allowed), 1 when some is, 2 on bad usage or when the
archive or the public keys could not be read.
`;

export const command: CliCommand = {
  summary: 'verify CloudTrail digest chains and log file integrity, offline or online',
  async run(argv, io) {
    const parsed = parseOrExit('verify', HELP, argv, parse, io);
    if (typeof parsed === 'number') return parsed;
    const { values, positionals } = parsed;
    const usage = (why: string) => usageError('verify', io, why);
    let format: 'table' | 'json';
    try {
      format = choice('--format', values.format, ['table', 'json'] as const, 'table');
    } catch (e) {
      return usage((e as Error).message);
    }
    const online = values.bucket !== undefined;
    if (online === positionals.length > 0) return usage('give either local paths or --bucket, not both or neither');
    const keyFiles = values['public-keys'] ?? [];
    if (!online && keyFiles.length === 0) return usage('offline verification needs --public-keys FILE');

    let report: IntegrityReport;
    let scope: string;
    try {
      let keys: PublicKeySource;
      if (keyFiles.length > 0) {
        const files = await PublicKeyFiles.load(keyFiles);
        for (const problem of files.ring.problems) io.stderr(`warning: ${problem}\n`);
        keys = files;
      } else {
        keys = new CloudTrailPublicKeys();
      }
      if (online) {
        const from = Date.parse(values.from ?? '');
        const to = values.to === undefined ? Date.now() : Date.parse(values.to);
        if (Number.isNaN(from) || Number.isNaN(to) || from > to)
          return usage('--from (and --to) must be ISO-8601 times such as 2024-03-01T00:00:00Z, --from first');
        const reader = new S3ArchiveReader(
          new S3Client(values.region ? { region: values.region } : {}),
          values.bucket!,
        );
        report = await verifyWindow(
          reader,
          keys,
          { from, to, prefix: values.prefix },
          { hashLogs: !values['no-hash'] },
        );
        scope = `s3://${values.bucket}/${values.prefix ?? 'AWSLogs/'}, delivered ${iso(from)} to ${iso(to)}`;
      } else {
        const reader = await LocalArchiveReader.open(positionals);
        const keysFound = reader.keys();
        report = await verifyFiles(reader, keys, {
          digests: keysFound.filter((k) => parseDigestKey(k)),
          logs: keysFound.filter((k) => classifyKey(k).kind === 'log'),
        });
        for (const problem of reader.problems) io.stderr(`warning: ${problem}\n`);
        scope = positionals.join(', ');
      }
    } catch (e) {
      io.stderr(`trailsight verify: ${(e as Error).message}\n`);
      return 2;
    }
    io.stdout(format === 'json' ? `${JSON.stringify({ scope, ...report }, null, 2)}\n` : formatReport(scope, report));
    return report.status === 'PASS' ? 0 : 1;
  },
};

/** The report as a plain-text table, stable enough to attach to an audit report. */
export function formatReport(scope: string, report: IntegrityReport): string {
  const c = report.counts;
  const out = [
    `CloudTrail log file integrity: ${report.status}`,
    `scope:     ${scope}`,
    `digests:   ${c.digests} read, ${c.digestsVerified} verified, ${c.digestsUnauthenticated} unauthenticated, ${c.digestsRejected} rejected, ${c.digestsUnreadable} unreadable`,
    `log files: ${c.logFilesListed} listed, ${c.logFilesVerified} verified, ${c.logFilesNotHashed} present (not hashed), ${c.logFilesPending} pending (newer than the newest digest)`,
    `findings:  ${c.errors} errors, ${c.warnings} warnings`,
    '',
  ];
  if (report.chains.length > 0) {
    out.push(
      ...columns([
        ['CHAIN', 'DIGESTS', 'FROM', 'TO'],
        ...report.chains.map((ch) => [ch.chain, String(ch.digests), ch.from ?? '-', ch.to ?? '-']),
      ]),
      '',
    );
  }
  if (report.findings.length > 0) {
    out.push(...columns([['SEVERITY', 'KIND', 'FILE'], ...report.findings.map((f) => [f.severity, f.kind, f.file])]));
    out.push('', 'details:');
    for (const f of report.findings) out.push(`  ${f.kind} ${f.file}`, `    ${f.message}`);
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function columns(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '));
}

function iso(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'public-keys': { type: 'string', multiple: true },
      bucket: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      prefix: { type: 'string' },
      region: { type: 'string' },
      'no-hash': { type: 'boolean' },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
