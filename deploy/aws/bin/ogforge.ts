#!/usr/bin/env node
// cdk.json runs this: `npx cdk deploy -c functionZip=... [-c domainName=... -c certificateArn=...]`.

import * as cdk from 'aws-cdk-lib';
import { addOgforgeStack } from '../lib/app';

const app = new cdk.App();
try {
  addOgforgeStack(app);
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}
app.synth();
