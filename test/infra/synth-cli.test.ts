/**
 * The full synth: the real CDK CLI runs the app (`cdk.json` → `npx tsx bin/trailsight.ts`) with no AWS
 * credentials and no network, for the default configuration and for the example organization configuration.
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
    const { stdout, stderr } = await run('npx', ['cdk', 'synth', '--all', '-q', '-o', outdir, ...extraArgs], {
      cwd: REPO_ROOT,
      env,
      timeout: 90_000,
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
  beforeAll(async () => {
    [defaults, example, invalid] = await Promise.all([
      cdkSynth(),
      cdkSynth('-c', 'trailsightConfigFile=config/organization.example.json'),
      cdkSynth('-c', 'trailsight={"homeRegion":"eu-west-1","regions":["eu-central-1"]}'),
    ]);
  }, 120_000);

  afterAll(() => {
    for (const r of [defaults, example, invalid]) if (r) fs.rmSync(r.outdir, { recursive: true, force: true });
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

  test('bundles the four handlers locally with esbuild (no Docker), source maps included; the ingest carries the rule pack', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(defaults.outdir, 'manifest.json'), 'utf8'));
    const assetsFile = manifest.artifacts['TrailsightDetection.assets'].properties.file;
    const assets = JSON.parse(fs.readFileSync(path.join(defaults.outdir, assetsFile), 'utf8')).files;
    const bundles = Object.values(assets as Record<string, { source: { path: string; packaging?: string } }>)
      .filter((a) => a.source.packaging === 'zip')
      .map((a) => fs.readdirSync(path.join(defaults.outdir, a.source.path)).sort().join(' '));
    expect(bundles.sort()).toEqual([
      'index.js index.js.map',
      'index.js index.js.map',
      'index.js index.js.map',
      'index.js index.js.map rules',
    ]);
  });

  test('fails on an invalid configuration with the key, the value and the fix, without a stack trace', () => {
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('regions = ["eu-central-1"]: does not include "us-east-1"');
    expect(invalid.stderr).not.toMatch(/\n\s+at /);
  });
});
