#!/usr/bin/env node
/**
 * The Trailsight CDK app entry: reads the configuration once from context, builds the stacks.
 *
 *   npx cdk synth                                                         # cdk.json "trailsight" key
 *   npx cdk synth -c trailsightConfigFile=config/organization.example.json
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app';
import { readConfig, type TrailsightConfig } from '../lib/config';

let config: TrailsightConfig;
try {
  // A throwaway App reads context (cdk.json, then -c) exactly as the CLI hands it over.
  config = readConfig(new App({ autoSynth: false }).node);
} catch (e) {
  // A configuration error is the user's to fix: print the message, not a stack trace.
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
}
buildApp(config, { defaultAccount: process.env.CDK_DEFAULT_ACCOUNT }).app.synth();
