import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../cli/main';
import { captureIo } from '../support/cli-io';
import { asffFindingSchema } from './asff-schema';
import { INSIGHTS_JSONL, ocsfValidator, PRODUCT_ARN } from './helpers';

const REPO = path.resolve(__dirname, '../..');
const lines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

async function trailsight(...argv: string[]) {
  const io = captureIo();
  const code = await main(['findings', ...argv], io);
  return { code, out: io.out, err: io.err };
}

describe('trailsight findings', () => {
  test('--format ocsf writes one valid OCSF Detection Finding per insight', async () => {
    const { code, out, err } = await trailsight('--format', 'ocsf', INSIGHTS_JSONL);
    const validate = ocsfValidator();
    const records = lines(out);
    expect(code).toBe(0);
    expect(records).toHaveLength(14);
    expect(records.flatMap((r) => validate(r))).toEqual([]);
    expect(err).toBe('14 findings written (ocsf), 0 lines skipped\n');
  });

  test('--format asff imports each insight with its own account default product, unless --product-arn is given', async () => {
    const own = lines((await trailsight('--format', 'asff', INSIGHTS_JSONL)).out);
    const insights = lines(readFileSync(INSIGHTS_JSONL, 'utf8'));
    expect(own.map((f) => f.AwsAccountId)).toEqual(insights.map((i) => i.recipientAccountId));
    expect(own[0].ProductArn).toBe(
      `arn:aws:securityhub:us-east-1:${insights[0].recipientAccountId}:product/${insights[0].recipientAccountId}/default`,
    );

    const fixed = lines((await trailsight('--format', 'asff', '--product-arn', PRODUCT_ARN, INSIGHTS_JSONL)).out);
    expect(new Set(fixed.map((f) => f.AwsAccountId))).toEqual(new Set(['999988887777']));
    for (const f of fixed) expect(asffFindingSchema.safeParse(f).success).toBe(true);
  });

  test("converts detect's whole JSONL, insights and rule matches alike (one finding per line, none skipped)", async () => {
    // Prepare: `detect --format jsonl` over real Stratus Red Team detonations prints rule matches.
    const detectIo = captureIo();
    await main(['detect', path.join(REPO, 'samples/stratus-red-team'), '--format', 'jsonl'], detectIo);
    const detected = lines(detectIo.out);
    expect(detected.some((d) => 'rule' in d)).toBe(true);
    const dir = mkdtempSync(path.join(tmpdir(), 'findings-cli-'));
    const file = path.join(dir, 'detect.jsonl');
    writeFileSync(file, detectIo.out);

    // Act
    const { code, out, err } = await trailsight('--format', 'ocsf', file);

    // Assess
    expect(code).toBe(0);
    const records = lines(out);
    expect(records).toHaveLength(detected.length);
    expect(records.flatMap((r) => ocsfValidator()(r))).toEqual([]);
    expect(err).toBe(`${detected.length} findings written (ocsf), 0 lines skipped\n`);
  });

  test('skips and names bad lines, converts the rest, and exits 1', async () => {
    // Prepare: a good line, a non-JSON line, a blank line, a JSON line of the wrong shape, a good line.
    const [first, second] = readFileSync(INSIGHTS_JSONL, 'utf8').split('\n');
    const dir = mkdtempSync(path.join(tmpdir(), 'findings-cli-'));
    const file = path.join(dir, 'mixed.jsonl');
    writeFileSync(file, [first, '{"Records": [', '', '{"eventVersion":"1.08"}', second].join('\n'));

    // Act
    const { code, out, err } = await trailsight('--format', 'ocsf', file);

    // Assess
    expect(code).toBe(1);
    expect(lines(out)).toHaveLength(2);
    expect(err).toMatch(new RegExp(`${file}:2: skipped: .*JSON`));
    expect(err).toMatch(new RegExp(`${file}:4: skipped: not an insight event`));
    expect(err).toMatch(/2 findings written \(ocsf\), 2 lines skipped/);
  });

  test.each([
    [['--format', 'ocsf'], /no input given/],
    [[INSIGHTS_JSONL], /--format is required/],
    [['--format', 'sarif', INSIGHTS_JSONL], /--format must be one of ocsf, asff \(got 'sarif'\)/],
    [['--format', 'ocsf', '--product-arn', PRODUCT_ARN, INSIGHTS_JSONL], /--product-arn applies to --format asff only/],
    [
      ['--format', 'asff', '--product-arn', 'arn:aws:securityhub:us-east-1::product/aws/guardduty', INSIGHTS_JSONL],
      /not an account's default product/,
    ],
  ])('fails with usage (exit 2) on %j', async (argv, message) => {
    const { code, err } = await trailsight(...argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });

  test('fails naming an input it cannot read (exit 2)', async () => {
    const { code, err } = await trailsight('--format', 'ocsf', '/no/such/insights.jsonl');
    expect(code).toBe(2);
    expect(err).toMatch(/cannot read \/no\/such\/insights.jsonl: ENOENT/);
  });

  test('reads stdin with "-" (a pipe from trailsight detect)', () => {
    const run = spawnSync(process.execPath, ['cli/trailsight.js', 'findings', '--format', 'asff', '-'], {
      cwd: REPO,
      input: readFileSync(INSIGHTS_JSONL),
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    expect(lines(run.stdout)).toHaveLength(14);
  });
});
