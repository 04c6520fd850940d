import { Aws, DefaultStackSynthesizer, type Stack } from 'aws-cdk-lib';

/**
 * ARN of the role CloudFormation deploys `stack` with: the CDK bootstrap's execution role
 * (`cdk-<qualifier>-cfn-exec-role-<account>-<region>`), as the stack's synthesizer names it.
 *
 * The archive's Denies exempt it from configuration changes so the stack stays deployable (and so KMS's key-policy
 * lockout check passes: the principal that sets a key policy must be able to set it again). Stacks synthesized with
 * another synthesizer must name their deployment role explicitly.
 *
 * @throws Error when the stack does not use the DefaultStackSynthesizer
 */
export function cloudFormationExecutionRoleArn(stack: Stack): string {
  const synthesizer = stack.synthesizer;
  if (!(synthesizer instanceof DefaultStackSynthesizer)) {
    throw new Error(
      `${stack.node.path}: cannot tell which role deploys this stack (synthesizer ${synthesizer.constructor.name}); pass deploymentRole explicitly`,
    );
  }
  // The synthesizer returns an Fn::Sub template; expand it into tokens so the ARN reads as a plain Fn::Join.
  return synthesizer.cloudFormationExecutionRoleArn
    .replace(/\$\{AWS::Partition\}/g, Aws.PARTITION)
    .replace(/\$\{AWS::AccountId\}/g, Aws.ACCOUNT_ID)
    .replace(/\$\{AWS::Region\}/g, Aws.REGION);
}
