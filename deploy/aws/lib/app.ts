// Builds the ogforge stack on an app: shared by bin/ogforge.ts (cdk synth/deploy) and the tests.

import * as cdk from 'aws-cdk-lib';
import { readConfig } from './config';
import { OgforgeStack } from './ogforge-stack';

export const DEFAULT_STACK_NAME = 'Ogforge';

export function addOgforgeStack(app: cdk.App): OgforgeStack {
  const config = readConfig(app.node);
  const stackName = (app.node.tryGetContext('stackName') as string | undefined) || DEFAULT_STACK_NAME;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(stackName)) {
    throw new Error(`ogforge: invalid context:\n  context stackName: ${JSON.stringify(stackName)} is not a stack name`);
  }
  const stack = new OgforgeStack(app, stackName, {
    stackName,
    description: 'ogforge social cards: CloudFront, S3, Lambda Function URL, WAF, alarms',
    // Account from the deploying credentials; synth needs none (the template is account-agnostic).
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: config.region },
    config,
  });
  cdk.Tags.of(stack).add('project', 'ogforge');
  return stack;
}
