import { App, type AppProps, type Environment, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { TrailsightConfig } from './config';
import { placementOf, trailRegions } from './contracts';
import { cloudFormationExecutionRoleArn } from './log-archive/deployment-role';
import { AnalyticsStack } from './stacks/analytics-stack';
import { DetectionStack } from './stacks/detection-stack';
import { FindingsStack } from './stacks/findings-stack';
import { GuardrailsStack } from './stacks/guardrails-stack';
import { IntegrityStack } from './stacks/integrity-stack';
import { LogArchiveStack } from './stacks/log-archive-stack';
import { TrailStack } from './stacks/trail-stack';

/** Options of {@link buildApp} that come from the process, read in bin/ only. */
export interface BuildAppOptions {
  /** Props of the CDK app (context, outdir). */
  readonly appProps?: AppProps;
  /**
   * Account of stacks whose account is not configured (`CDK_DEFAULT_ACCOUNT` in bin/).
   * @default - environment-agnostic account
   */
  readonly defaultAccount?: string;
  /**
   * Register the cdk-nag AwsSolutions and Serverless packs as policy-validation plugins.
   * @default true
   */
  readonly compliance?: boolean;
}

/** The app and its stacks. */
export interface TrailsightApp {
  readonly app: App;
  readonly logArchive: LogArchiveStack;
  /** One stack per trail: one for a multi-region trail, one per listed Region otherwise; none over an existing archive. */
  readonly trails: readonly TrailStack[];
  readonly analytics: AnalyticsStack;
  /** The detection pipeline, unless `detection.enabled` is false. */
  readonly detection?: DetectionStack;
  /** The service control policy protecting the evidence, when `scp` is configured. */
  readonly guardrails?: GuardrailsStack;
  /** Continuous digest-chain verification, unless `integrity.enabled` is false. */
  readonly integrity?: IntegrityStack;
  /** Findings for Security Hub, when `findings.securityHub` is set. */
  readonly findings?: FindingsStack;
}

/** Stack ID of the trail stack for `region` (the only one when regions is `"all"`). */
export function trailStackId(config: TrailsightConfig, region: string): string {
  return config.regions === 'all' ? 'TrailsightTrail' : `TrailsightTrail-${region}`;
}

/**
 * Builds the Trailsight CDK app from a validated configuration.
 *
 * Stacks and where they go:
 * - `TrailsightLogArchive`: log archive account, home Region (stateful, termination protection); over an existing
 *   archive (`archive.existing`) it holds only the insights bucket;
 * - `TrailsightTrail` (regions `"all"`) or `TrailsightTrail-<region>` (one per listed Region): management account;
 *   none over an existing archive, whose own trail delivers;
 * - `TrailsightAnalytics`: audit account, home Region;
 * - `TrailsightDetection` (unless `detection.enabled` is false): log archive account, home Region, next to the
 *   bucket whose object events it consumes;
 * - `TrailsightIntegrity` (unless `integrity.enabled` is false): log archive account, home Region, next to the bucket
 *   whose digest deliveries it verifies;
 * - `TrailsightGuardrails` (when `scp` is configured): management account, home Region; the service control policy.
 * - `TrailsightFindings` (when `findings.securityHub` is set): next to the detection stack, reading its bus.
 * Trails depend on the archive (CloudTrail checks the bucket and key policies at creation). The stacks
 * share names derived from configuration (lib/contracts.ts), never cross-stack references.
 */
export function buildApp(config: TrailsightConfig, options: BuildAppOptions = {}): TrailsightApp {
  const app = new App(options.appProps);
  const placement = placementOf(config);
  const envFor = (account: string | undefined, region: string): Environment => ({
    account: account ?? options.defaultAccount,
    region,
  });

  const logArchive = new LogArchiveStack(app, 'TrailsightLogArchive', {
    description: config.archive.existing
      ? `Trailsight insights bucket and key next to the existing archive ${config.archive.existing.bucketName} (stateful, retained)`
      : 'Trailsight log archive: KMS key, archive bucket, access-log bucket (stateful, retained)',
    env: envFor(placement.logArchive, config.homeRegion),
    config,
  });

  // Over an existing archive the existing trail delivers: Trailsight creates none (no event is delivered twice).
  const trailStackRegions = config.archive.existing ? [] : trailRegions(config);
  const trails = trailStackRegions.map((region) => {
    const stack = new TrailStack(app, trailStackId(config, region), {
      description: `Trailsight trail ${config.regions === 'all' ? '(all Regions)' : `(${region})`}`,
      env: envFor(placement.management, region),
      config,
      trailRegion: region,
    });
    stack.addStackDependency(logArchive, 'CloudTrail validates the bucket and key policies when the trail is created');
    return stack;
  });

  const analytics = new AnalyticsStack(app, 'TrailsightAnalytics', {
    description: 'Trailsight analytics: Glue CloudTrail table (partition projection), Athena workgroup',
    env: envFor(placement.audit, config.homeRegion),
    config,
  });
  analytics.addStackDependency(logArchive, 'the table points at the archive bucket');

  let detection: DetectionStack | undefined;
  if (config.detection.enabled) {
    detection = new DetectionStack(app, 'TrailsightDetection', {
      description: 'Trailsight detection: queue, functions, state table, insight bus, alerts, dashboard',
      env: envFor(placement.logArchive, config.homeRegion),
      config,
    });
    detection.addStackDependency(logArchive, 'the archive bucket sends the object events the pipeline consumes');
  }

  let integrity: IntegrityStack | undefined;
  if (config.integrity.enabled) {
    integrity = new IntegrityStack(app, 'TrailsightIntegrity', {
      description: 'Trailsight integrity: continuous CloudTrail digest-chain verification, alarms',
      env: envFor(placement.logArchive, config.homeRegion),
      config,
      createBus: detection === undefined,
    });
    integrity.addStackDependency(logArchive, 'the archive bucket sends the digest deliveries it verifies');
    if (detection) integrity.addStackDependency(detection, 'TrailsightDetection defines the trailsight bus');
  }

  let guardrails: GuardrailsStack | undefined;
  if (config.scp) {
    guardrails = new GuardrailsStack(app, 'TrailsightGuardrails', {
      description: 'Trailsight guardrails: the service control policy protecting the trails, the archive and its key',
      env: envFor(placement.management, config.homeRegion),
      config,
      archiveDeploymentRoleArn: cloudFormationExecutionRoleArn(logArchive),
    });
  }

  let findings: FindingsStack | undefined;
  if (config.findings.securityHub && detection) {
    findings = new FindingsStack(app, 'TrailsightFindings', {
      description: 'Trailsight findings: insights to AWS Security Hub (ASFF)',
      env: envFor(placement.logArchive, config.homeRegion),
      config,
    });
    findings.addStackDependency(detection, 'the rule is created on the trailsight bus');
  }

  Tags.of(app).add('app', 'trailsight');
  if (options.compliance ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    Validations.of(app).addPlugins(new ServerlessChecks(app));
  }
  return { app, logArchive, trails, analytics, detection, guardrails, integrity, findings };
}
