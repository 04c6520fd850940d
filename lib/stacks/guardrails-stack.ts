import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { TrailsightConfig } from '../config';
import { ARCHIVE_KEY_ALIAS, archiveBucketName, placementOf } from '../contracts';
import { EvidenceGuardrail } from '../guardrails/evidence-guardrail';

/** Properties of a {@link GuardrailsStack}. */
export interface GuardrailsStackProps extends StackProps {
  /** The validated configuration; `scp` must be set (lib/app.ts creates this stack only then). */
  readonly config: TrailsightConfig;
  /** The role that deploys `TrailsightLogArchive` (exempt from the configuration Denies). */
  readonly archiveDeploymentRoleArn: string;
}

/**
 * The organization-level protection of the evidence: one service control policy, created in the management account
 * (the only account that can create and attach SCPs) and attached to the configured targets.
 */
export class GuardrailsStack extends Stack {
  /** The service control policy. */
  readonly guardrail: EvidenceGuardrail;

  constructor(scope: Construct, id: string, props: GuardrailsStackProps) {
    super(scope, id, props);
    const { config } = props;
    if (!config.scp) throw new Error('GuardrailsStack: config.scp is false; create this stack only when scp is set');
    const placement = placementOf(config);
    // Configuration validation guarantees both accounts when scp is set.
    this.guardrail = new EvidenceGuardrail(this, 'EvidenceProtection', {
      targetIds: config.scp.targetIds,
      trailName: config.trailName,
      trailAccount: placement.management!,
      archiveBucketName: archiveBucketName(config),
      archiveAccount: placement.logArchive!,
      archiveRegion: config.homeRegion,
      archiveKeyAlias: ARCHIVE_KEY_ALIAS,
      archiveDeploymentRoleArn: props.archiveDeploymentRoleArn,
      breakGlassRoleArn: config.breakGlassRoleArn,
    });
  }
}
