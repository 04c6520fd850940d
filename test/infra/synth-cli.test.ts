/**
 * The full synth: the real CDK CLI runs the app (`cdk.json` → `npx tsx bin/trailsight.ts`) with no AWS
 * credentials and no network, for the default configuration and for the example configurations (an organization,
 * and a Control Tower archive Trailsight reads without creating a trail or a bucket).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './helpers';

const run = promisify(execFile);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  outdir: string;
}

async function cdkSynth(...extraArgs: string[]): Promise<CliResult> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'trailsight-synth-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CDK_DISABLE_VERSION_CHECK: '1',
    AWS_EC2_METADATA_DISABLED: 'true',
    // No credentials: synth must not need any.
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_PROFILE: '',
  };
  // The full synth keeps CloudFormation's built-in validation that unit tests turn off for speed.
  delete env.CDK_VALIDATION;
  try {
    // Every stack's template is written; only the selected stacks (all without a stack name) are bundled.
    const { stdout, stderr } = await run('npx', ['cdk', 'synth', '-q', '-o', outdir, ...extraArgs], {
      cwd: REPO_ROOT,
      env,
      // A bound, not a speed check: four synths share the machine.
      timeout: 170_000,
    });
    return { code: 0, stdout, stderr, outdir };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === 'number' ? err.code : -1,
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
      outdir,
    };
  }
}

function stackTemplates(outdir: string): string[] {
  return fs
    .readdirSync(outdir)
    .filter((f) => f.endsWith('.template.json'))
    .sort();
}

describe('cdk synth (real CLI, offline)', () => {
  let defaults: CliResult;
  let example: CliResult;
  let invalid: CliResult;
  let controlTower: CliResult;
  beforeAll(async () => {
    [defaults, example, invalid, controlTower] = await Promise.all([
      cdkSynth(),
      // Only the guardrails stack (no function) is selected: every template is still written, and the handlers it
      // would bundle again are the default synth's (bundling is about 40% of a synth's time).
      cdkSynth('TrailsightGuardrails', '--exclusively', '-c', 'trailsightConfigFile=config/organization.example.json'),
      cdkSynth('-c', 'trailsight={"homeRegion":"eu-west-1","regions":["eu-central-1"]}'),
      // Only the analytics stack is bundled: its account sync is the one handler the default configuration does not
      // have; the detection and integrity handlers are the same code the default synth bundles.
      cdkSynth('TrailsightAnalytics', '--exclusively', '-c', 'trailsightConfigFile=config/control-tower.example.json'),
    ]);
  }, 180_000);

  afterAll(() => {
    for (const r of [defaults, example, invalid, controlTower])
      if (r) fs.rmSync(r.outdir, { recursive: true, force: true });
  });

  test('synthesizes the default configuration', () => {
    expect({ code: defaults.code, stderr: defaults.code === 0 ? '' : defaults.stderr }).toEqual({
      code: 0,
      stderr: '',
    });
    expect(stackTemplates(defaults.outdir)).toEqual([
      'TrailsightAnalytics.template.json',
      'TrailsightDetection.template.json',
      'TrailsightIntegrity.template.json',
      'TrailsightLogArchive.template.json',
      'TrailsightTrail.template.json',
    ]);
  });

  test('synthesizes the example organization configuration, one trail stack per listed Region', () => {
    expect({ code: example.code, stderr: example.code === 0 ? '' : example.stderr }).toEqual({ code: 0, stderr: '' });
    expect(stackTemplates(example.outdir)).toEqual([
      'TrailsightAnalytics.template.json',
      'TrailsightDetection.template.json',
      'TrailsightGuardrails.template.json',
      'TrailsightIntegrity.template.json',
      'TrailsightLogArchive.template.json',
      'TrailsightTrail-eu-central-1.template.json',
      'TrailsightTrail-eu-west-1.template.json',
      'TrailsightTrail-us-east-1.template.json',
    ]);
    const manifest = JSON.parse(fs.readFileSync(path.join(example.outdir, 'manifest.json'), 'utf8'));
    expect(manifest.artifacts['TrailsightTrail-eu-central-1'].environment).toBe('aws://111111111111/eu-central-1');
    expect(manifest.artifacts['TrailsightLogArchive'].properties.terminationProtection).toBe(true);
    expect(manifest.artifacts['TrailsightDetection'].environment).toBe('aws://222222222222/eu-west-1');
    expect(manifest.artifacts['TrailsightIntegrity'].environment).toBe('aws://222222222222/eu-west-1');
    expect(manifest.artifacts['TrailsightGuardrails'].environment).toBe('aws://111111111111/eu-west-1');
  });

  test('synthesizes the example Control Tower configuration: no trail stack, no guardrails, every stack in the log archive account', () => {
    expect({ code: controlTower.code, stderr: controlTower.code === 0 ? '' : controlTower.stderr }).toEqual({
      code: 0,
      stderr: '',
    });
    expect(stackTemplates(controlTower.outdir)).toEqual([
      'TrailsightAnalytics.template.json',
      'TrailsightDetection.template.json',
      'TrailsightIntegrity.template.json',
      'TrailsightLogArchive.template.json',
    ]);
    const manifest = JSON.parse(fs.readFileSync(path.join(controlTower.outdir, 'manifest.json'), 'utf8'));
    expect(manifest.artifacts['TrailsightDetection'].environment).toBe('aws://222222222222/eu-west-1');
    // Control Tower forbids changing its log buckets' policy: every stack stays in the log archive account.
    expect(manifest.artifacts['TrailsightAnalytics'].environment).toBe('aws://222222222222/eu-west-1');
    // The log archive stack holds the insights bucket and its access logs, not the existing archive.
    const archive = JSON.parse(
      fs.readFileSync(path.join(controlTower.outdir, 'TrailsightLogArchive.template.json'), 'utf8'),
    ) as { Resources: Record<string, { Type: string; Properties: { BucketName?: string } }> };
    const buckets = Object.values(archive.Resources).filter((r) => r.Type === 'AWS::S3::Bucket');
    expect(buckets.map((b) => b.Properties.BucketName)).toEqual([
      undefined,
      'trailsight-insights-222222222222-eu-west-1',
    ]);
  });

  /** The directory listing of each function bundle of a stack. */
  function bundles(result: CliResult, stack: string): string[][] {
    const manifest = JSON.parse(fs.readFileSync(path.join(result.outdir, 'manifest.json'), 'utf8'));
    const assetsFile = manifest.artifacts[`${stack}.assets`].properties.file;
    const assets = JSON.parse(fs.readFileSync(path.join(result.outdir, assetsFile), 'utf8')).files;
    return Object.values(assets as Record<string, { source: { path: string; packaging?: string } }>)
      .filter((a) => a.source.packaging === 'zip')
      .map((a) => fs.readdirSync(path.join(result.outdir, a.source.path)).sort());
  }

  test('bundles the four handlers locally with esbuild (no Docker), source maps included; the ingest carries the rule pack', () => {
    expect(
      bundles(defaults, 'TrailsightDetection')
        .map((b) => b.join(' '))
        .sort(),
    ).toEqual([
      'index.js index.js.map',
      'index.js index.js.map',
      'index.js index.js.map',
      'index.js index.js.map rules',
    ]);
  });

  test('bundles the account sync of an organization archive the same way', () => {
    expect(bundles(controlTower, 'TrailsightAnalytics')).toEqual([['index.js', 'index.js.map']]);
  });

  test('fails on an invalid configuration with the key, the value and the fix, without a stack trace', () => {
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('regions = ["eu-central-1"]: does not include "us-east-1"');
    expect(invalid.stderr).not.toMatch(/\n\s+at /);
  });
});
