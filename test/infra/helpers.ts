/**
 * Builds the Trailsight app for infra tests: cdk.json feature flags, no asset bundling, fixed environments.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { type BuildAppOptions, buildApp, type TrailsightApp } from '../../lib/app';
import { parseConfig, type TrailsightConfigInput } from '../../lib/config';

export const REPO_ROOT = path.resolve(__dirname, '../..');
const cdkJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
  context: Record<string, unknown> & { trailsight: TrailsightConfigInput };
};

/** The `trailsight` object shipped in cdk.json (the default single-account configuration). */
export const DEFAULT_CONFIG_INPUT: TrailsightConfigInput = cdkJson.context.trailsight;

/** The example organization configuration shipped in config/. */
export const EXAMPLE_ORG_CONFIG_INPUT: TrailsightConfigInput = JSON.parse(
  fs.readFileSync(path.join(REPO_ROOT, 'config/organization.example.json'), 'utf8'),
);

/** The deploying account used where the configuration leaves the account open. */
export const TEST_ACCOUNT = '123456789012';

/** Builds the app from a configuration input (validated on the way), with cdk.json's context and no bundling. */
export function build(input: TrailsightConfigInput, options: Omit<BuildAppOptions, 'appProps'> = {}): TrailsightApp {
  return buildApp(parseConfig(input), {
    compliance: false,
    ...options,
    appProps: { context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } },
  });
}

/** Deep-merges `override` into the default configuration input (arrays and scalars replace). */
export function withDefaults(override: Record<string, unknown>): TrailsightConfigInput {
  return merge(DEFAULT_CONFIG_INPUT as Record<string, unknown>, override) as TrailsightConfigInput;
}

function merge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = isPlainObject(value) && isPlainObject(current) ? merge(current, value) : (value as unknown);
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Templates of every stack of an app, by stack ID. */
export function templates(app: TrailsightApp): Record<string, Template> {
  const out: Record<string, Template> = {};
  const optional = [app.detection, app.integrity, app.guardrails].filter((s) => s !== undefined);
  for (const stack of [app.logArchive, ...app.trails, app.analytics, ...optional])
    out[stack.node.id] = Template.fromStack(stack);
  return out;
}

/** The only resource of `type` in a template, with its logical ID. */
export function single(
  template: Template,
  type: string,
): { id: string; resource: { Properties: Record<string, unknown> } & Record<string, unknown> } {
  const found = template.findResources(type);
  const ids = Object.keys(found);
  if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.length}: ${ids.join(', ')}`);
  return { id: ids[0], resource: found[ids[0]] as { Properties: Record<string, unknown> } };
}
