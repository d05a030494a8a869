// CDK assertion tests of the ogforge stack: offline, no AWS account, no Rust build (the function
// code is a tiny zip made here). Run by deploy/aws/check.sh: `node --test dist/test/`.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as cdk from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { addOgforgeStack } from '../lib/app';
import { APP_ROOT } from '../lib/config';
import { ALLOWED_QUERY_REGEX, MANAGED_RULE_GROUPS } from '../lib/waf';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ogforge-cdk-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A one-file zip (stored, not deflated), the shape `cargo lambda build --output-format zip` gives. */
function placeholderZip(): string {
  const name = Buffer.from('bootstrap');
  const data = Buffer.from('#!/bin/sh\necho placeholder >&2\nexit 1\n');
  const crc = zlib.crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the mode below counts
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt32LE((0o100755 << 16) >>> 0, 38); // -rwxr-xr-x
  const centralOffset = local.length + name.length + data.length;
  const centralSize = central.length + name.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(centralOffset, 16);
  const file = path.join(tmp, 'bootstrap.zip');
  fs.writeFileSync(file, Buffer.concat([local, name, data, central, name, end]));
  return file;
}

const ZIP = placeholderZip();
const CDK_CONTEXT = JSON.parse(fs.readFileSync(path.join(APP_ROOT, 'cdk.json'), 'utf8')).context as Record<string, unknown>;
const PREFIX = 'default/0123abcd';

function synth(context: Record<string, unknown> = {}) {
  const app = new cdk.App({
    outdir: fs.mkdtempSync(path.join(tmp, 'out-')),
    context: { ...CDK_CONTEXT, functionZip: ZIP, storeKeyPrefix: PREFIX, ...context },
  });
  const stack = addOgforgeStack(app);
  return { stack, template: Template.fromStack(stack) };
}

function only(template: Template, type: string, props?: Json): [string, Json] {
  const found = Object.entries(template.findResources(type, props));
  assert.equal(found.length, 1, `exactly one ${type}${props ? ` matching ${JSON.stringify(props)}` : ''}`);
  return found[0] as [string, Json];
}

function logicalIdOf(template: Template, type: string, props?: Json): string {
  return only(template, type, props)[0];
}

const base = synth();
const t = base.template;
const bucketId = logicalIdOf(t, 'AWS::S3::Bucket', { Properties: { VersioningConfiguration: { Status: 'Enabled' } } });
const distribution = only(t, 'AWS::CloudFront::Distribution')[1].Properties.DistributionConfig as Json;
const distributionId = logicalIdOf(t, 'AWS::CloudFront::Distribution');
const functionId = logicalIdOf(t, 'AWS::Lambda::Function');

describe('image bucket', () => {
  test('is not public: all four public-access blocks, ACLs off', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      VersioningConfiguration: { Status: 'Enabled' },
    });
    // No bucket of the stack is public, the log bucket included.
    for (const [id, bucket] of Object.entries(t.findResources('AWS::S3::Bucket'))) {
      const block = (bucket as Json).Properties.PublicAccessBlockConfiguration;
      assert.deepEqual(
        block,
        { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        id,
      );
    }
  });

  test('is encrypted at rest and reachable over TLS 1.2+ only', () => {
    const [, bucket] = only(t, 'AWS::S3::Bucket', { Properties: { VersioningConfiguration: { Status: 'Enabled' } } });
    assert.deepEqual(bucket.Properties.BucketEncryption, {
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  test('allows reads to this distribution only, and to nobody else', () => {
    const [, policy] = only(t, 'AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: bucketId } } });
    const allows = policy.Properties.PolicyDocument.Statement.filter((s: Json) => s.Effect === 'Allow');
    assert.equal(allows.length, 1);
    const [allow] = allows;
    assert.deepEqual(allow.Principal, { Service: 'cloudfront.amazonaws.com' });
    assert.equal(allow.Action, 's3:GetObject');
    assert.match(JSON.stringify(allow.Condition.StringEquals['AWS:SourceArn']), new RegExp(`"Ref":"${distributionId}"`));
  });

  test('expires old template digests, old versions and broken uploads', () => {
    const [, bucket] = only(t, 'AWS::S3::Bucket', { Properties: { VersioningConfiguration: { Status: 'Enabled' } } });
    const rules = bucket.Properties.LifecycleConfiguration.Rules as Json[];
    const images = rules.find((r) => r.Id === 'expire-old-images');
    assert.equal(images.Status, 'Enabled');
    assert.equal(images.ExpirationInDays, 400);
    assert.equal(images.NoncurrentVersionExpiration.NoncurrentDays, 30);
    assert.equal(images.AbortIncompleteMultipartUpload.DaysAfterInitiation, 1);
    assert.ok(rules.some((r) => r.ExpiredObjectDeleteMarker === true));
    const days = synth({ objectExpirationDays: '90' }).template;
    days.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 90 })]) },
    });
  });
});

describe('function', () => {
  test('is the static binary on provided.al2023, x86_64, 1024 MB, 10 s', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'provided.al2023',
      Handler: 'bootstrap',
      Architectures: ['x86_64'],
      MemorySize: 1024,
      Timeout: 10,
    });
    const [, fn] = only(t, 'AWS::Lambda::Function');
    assert.equal(fn.Properties.ReservedConcurrentExecutions, undefined);
  });

  test('architecture, memory, timeout and reserved concurrency come from context', () => {
    const { template } = synth({ architecture: 'arm64', memoryMb: '2048', timeoutSeconds: '15', reservedConcurrency: '20' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      MemorySize: 2048,
      Timeout: 15,
      ReservedConcurrentExecutions: 20,
      Environment: { Variables: Match.objectLike({ OGFORGE__SERVER__REQUEST_TIMEOUT_MS: '13000' }) },
    });
  });

  test('is configured through OGFORGE__ variables: the bucket as its store', () => {
    const [, fn] = only(t, 'AWS::Lambda::Function');
    const vars = fn.Properties.Environment.Variables;
    assert.deepEqual(vars.OGFORGE__STORE__URL, { 'Fn::Join': ['', ['s3://', { Ref: bucketId }]] });
    assert.equal(vars.OGFORGE__STORE__REGION, 'us-east-1');
    assert.equal(vars.OGFORGE__CACHE__MEMORY_BYTES, '0');
    assert.equal(vars.OGFORGE__RATE_LIMIT__RENDERS_PER_MINUTE, '0');
    // A whole request fits in the function's timeout, with a store read plus a render inside.
    const deadline = Number(vars.OGFORGE__SERVER__REQUEST_TIMEOUT_MS);
    assert.ok(deadline < fn.Properties.Timeout * 1000);
    assert.ok(deadline >= Number(vars.OGFORGE__STORE__TIMEOUT_MS) + Number(vars.OGFORGE__RENDER__TIMEOUT_MS));
    assert.equal(vars.OGFORGE__SERVER__PUBLIC_URL, undefined);
    for (const name of Object.keys(vars)) assert.ok(!name.startsWith('AWS_'), name);
  });

  test('may read, create and list the bucket, nothing more', () => {
    const [, policy] = only(t, 'AWS::IAM::Policy');
    const statements = policy.Properties.PolicyDocument.Statement as Json[];
    const actions = statements.flatMap((s) => [s.Action].flat());
    assert.deepEqual(actions.sort(), ['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
    const objects = statements.find((s) => s.Sid === 'ImagesReadWrite');
    assert.deepEqual(objects.Resource, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] });
    const list = statements.find((s) => s.Sid === 'ImagesList');
    assert.deepEqual(list.Resource, { 'Fn::GetAtt': [bucketId, 'Arn'] });
  });

  test('has a Function URL with IAM auth, buffered', () => {
    t.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'AWS_IAM',
      InvokeMode: 'BUFFERED',
      TargetFunctionArn: { 'Fn::GetAtt': [functionId, 'Arn'] },
    });
    // No public (principal *) permission on the function.
    for (const [, perm] of Object.entries(t.findResources('AWS::Lambda::Permission'))) {
      assert.equal((perm as Json).Properties.Principal, 'cloudfront.amazonaws.com');
    }
  });

  test('CloudFront holds both lambda:InvokeFunctionUrl and lambda:InvokeFunction', () => {
    const sourceArn = {
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', { Ref: distributionId }],
      ],
    };
    const urlFunction = { 'Fn::GetAtt': [logicalIdOf(t, 'AWS::Lambda::Url'), 'FunctionArn'] };
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunctionUrl',
      Principal: 'cloudfront.amazonaws.com',
      SourceArn: sourceArn,
      FunctionName: urlFunction,
    });
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'cloudfront.amazonaws.com',
      SourceArn: sourceArn,
      FunctionName: urlFunction,
      InvokedViaFunctionUrl: true,
    });
    t.resourceCountIs('AWS::Lambda::Permission', 2);
  });
});

describe('distribution', () => {
  test('origin group: S3 first, the function on 403/404', () => {
    const groups = distribution.OriginGroups.Items as Json[];
    assert.equal(groups.length, 1);
    const [group] = groups;
    assert.deepEqual(group.FailoverCriteria, { StatusCodes: { Items: [403, 404], Quantity: 2 } });
    assert.equal(distribution.DefaultCacheBehavior.TargetOriginId, group.Id);
    const [primaryId, fallbackId] = group.Members.Items.map((m: Json) => m.OriginId);
    const origins = Object.fromEntries((distribution.Origins as Json[]).map((o) => [o.Id, o]));
    const primary = origins[primaryId];
    const fallback = origins[fallbackId];
    assert.deepEqual(primary.DomainName, { 'Fn::GetAtt': [bucketId, 'RegionalDomainName'] });
    assert.equal(primary.OriginPath, `/${PREFIX}`);
    assert.deepEqual(primary.S3OriginConfig, { OriginAccessIdentity: '' });
    assert.deepEqual(fallback.DomainName, {
      'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [logicalIdOf(t, 'AWS::Lambda::Url'), 'FunctionUrl'] }] }],
    });
    assert.equal(fallback.CustomOriginConfig.OriginProtocolPolicy, 'https-only');
  });

  test('both origins sign with OAC (SigV4, always): S3 and Lambda', () => {
    const s3Oac = logicalIdOf(t, 'AWS::CloudFront::OriginAccessControl', {
      Properties: { OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' } },
    });
    const lambdaOac = logicalIdOf(t, 'AWS::CloudFront::OriginAccessControl', {
      Properties: { OriginAccessControlConfig: { OriginAccessControlOriginType: 'lambda', SigningBehavior: 'always', SigningProtocol: 'sigv4' } },
    });
    const oacs = (distribution.Origins as Json[]).map((o) => o.OriginAccessControlId['Fn::GetAtt'][0]).sort();
    assert.deepEqual(oacs, [s3Oac, lambdaOac].sort());
  });

  test('Origin Shield on both origins', () => {
    for (const origin of distribution.Origins as Json[]) {
      assert.deepEqual(origin.OriginShield, { Enabled: true, OriginShieldRegion: 'us-east-1' });
    }
    const other = synth({ originShieldRegion: 'us-east-2' }).template;
    const origins = only(other, 'AWS::CloudFront::Distribution')[1].Properties.DistributionConfig.Origins as Json[];
    assert.deepEqual(origins.map((o) => o.OriginShield.OriginShieldRegion), ['us-east-2', 'us-east-2']);
  });

  test('cache policy keys on the path only and honours the origin Cache-Control', () => {
    const [policyId, policy] = only(t, 'AWS::CloudFront::CachePolicy');
    const config = policy.Properties.CachePolicyConfig;
    assert.deepEqual(config.ParametersInCacheKeyAndForwardedToOrigin, {
      CookiesConfig: { CookieBehavior: 'none' },
      HeadersConfig: { HeaderBehavior: 'none' },
      QueryStringsConfig: { QueryStringBehavior: 'none' },
      EnableAcceptEncodingGzip: false,
      EnableAcceptEncodingBrotli: false,
    });
    // 0 lets the default image's max-age=60 and a refusal's no-store through; a year lets
    // s-maxage=31536000 through.
    assert.equal(config.MinTTL, 0);
    assert.ok(config.MaxTTL >= 31536000);
    assert.deepEqual(distribution.DefaultCacheBehavior.CachePolicyId, { Ref: policyId });
    // Nothing else reaches the origins unless signed routes are on.
    assert.equal(distribution.DefaultCacheBehavior.OriginRequestPolicyId, undefined);
    t.resourceCountIs('AWS::CloudFront::OriginRequestPolicy', 0);
  });

  test('signed routes: sig reaches the function but stays out of the cache key', () => {
    const signed = synth({ signedRoutes: 'true' }).template;
    const [orpId] = only(signed, 'AWS::CloudFront::OriginRequestPolicy', {
      Properties: {
        OriginRequestPolicyConfig: {
          QueryStringsConfig: { QueryStringBehavior: 'whitelist', QueryStrings: ['sig'] },
          HeadersConfig: { HeaderBehavior: 'none' },
          CookiesConfig: { CookieBehavior: 'none' },
        },
      },
    });
    signed.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: { DefaultCacheBehavior: { OriginRequestPolicyId: { Ref: orpId } } },
    });
    signed.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: { ParametersInCacheKeyAndForwardedToOrigin: { QueryStringsConfig: { QueryStringBehavior: 'none' } } },
    });
  });

  test('HTTPS only, GET and HEAD only, IPv6, HTTP/3, no compression of images', () => {
    const behavior = distribution.DefaultCacheBehavior;
    assert.equal(behavior.ViewerProtocolPolicy, 'https-only');
    assert.deepEqual(behavior.AllowedMethods, ['GET', 'HEAD']);
    assert.deepEqual(behavior.CachedMethods, ['GET', 'HEAD']);
    assert.equal(behavior.Compress, false);
    assert.equal(distribution.IPV6Enabled, true);
    assert.equal(distribution.HttpVersion, 'http2and3');
    assert.equal(distribution.CacheBehaviors, undefined);
  });

  test('errors are not cached: one bad request never answers for the path', () => {
    const codes = (distribution.CustomErrorResponses as Json[]).map((r) => {
      assert.equal(r.ErrorCachingMinTTL, 0);
      assert.equal(r.ResponsePagePath, undefined);
      return r.ErrorCode;
    });
    for (const code of [400, 403, 404, 500, 502, 503, 504]) assert.ok(codes.includes(code), String(code));
  });

  test('logs to the log bucket', () => {
    const logBucket = logicalIdOf(t, 'AWS::S3::Bucket', {
      Properties: { OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] } },
    });
    assert.deepEqual(distribution.Logging.Bucket, { 'Fn::GetAtt': [logBucket, 'RegionalDomainName'] });
    t.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: { DestinationBucketName: { Ref: logBucket } },
    });
  });

  test('custom domain: alias, certificate, TLS 1.2, and the public URL in the function', () => {
    const arn = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-1111-2222-333344445555';
    const custom = synth({ domainName: 'cards.example.com', certificateArn: arn }).template;
    custom.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        Aliases: ['cards.example.com'],
        ViewerCertificate: { AcmCertificateArn: arn, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' },
      },
    });
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ OGFORGE__SERVER__PUBLIC_URL: 'https://cards.example.com' }) },
    });
    custom.hasOutput('OgImageUrl', { Value: 'https://cards.example.com/{id}.jpg' });
  });
});

describe('WAF', () => {
  const [aclId, acl] = only(t, 'AWS::WAFv2::WebACL');
  const rules = acl.Properties.Rules as Json[];
  const byName = Object.fromEntries(rules.map((r) => [r.Name, r]));

  test('is attached to the distribution, CLOUDFRONT scope, in us-east-1', () => {
    assert.deepEqual(distribution.WebACLId, { 'Fn::GetAtt': [aclId, 'Arn'] });
    assert.equal(acl.Properties.Scope, 'CLOUDFRONT');
    assert.deepEqual(acl.Properties.DefaultAction, { Allow: {} });
    assert.equal(base.stack.region, 'us-east-1');
  });

  test('runs the AWS managed rule groups', () => {
    const managed = rules
      .filter((r) => r.Statement.ManagedRuleGroupStatement)
      .map((r) => r.Statement.ManagedRuleGroupStatement);
    assert.deepEqual(
      managed.map((m) => m.Name),
      [...MANAGED_RULE_GROUPS],
    );
    for (const m of managed) assert.equal(m.VendorName, 'AWS');
    for (const r of rules.filter((r) => r.Statement.ManagedRuleGroupStatement)) {
      assert.deepEqual(r.OverrideAction, { None: {} });
    }
    assert.deepEqual(MANAGED_RULE_GROUPS, [
      'AWSManagedRulesAmazonIpReputationList',
      'AWSManagedRulesCommonRuleSet',
      'AWSManagedRulesKnownBadInputsRuleSet',
    ]);
  });

  test('blocks query strings other than v and sig (400)', () => {
    const rule = byName['ogforge-unexpected-query'];
    assert.equal(rule.Action.Block.CustomResponse.ResponseCode, 400);
    const [nonEmpty, notAllowed] = rule.Statement.AndStatement.Statements;
    assert.deepEqual(nonEmpty.SizeConstraintStatement.FieldToMatch, { QueryString: {} });
    assert.equal(nonEmpty.SizeConstraintStatement.ComparisonOperator, 'GT');
    assert.equal(nonEmpty.SizeConstraintStatement.Size, 0);
    const regex = notAllowed.NotStatement.Statement.RegexMatchStatement;
    assert.equal(regex.RegexString, ALLOWED_QUERY_REGEX);
    assert.deepEqual(regex.FieldToMatch, { QueryString: {} });
    const allowed = new RegExp(ALLOWED_QUERY_REGEX);
    for (const q of ['v=1', 'v=', 'sig=' + 'ab'.repeat(32), 'v=2&sig=00ff', 'sig=1&v=2&v=3']) {
      assert.ok(allowed.test(q), `allowed: ${q}`);
    }
    for (const q of ['x=1', 'v=1&x=2', 'v', 'v=1&', '&v=1', 'version=1', 'vv=1', 'social=12-34-10', 'v=' + 'a'.repeat(129)]) {
      assert.ok(!allowed.test(q), `refused: ${q}`);
    }
  });

  test('blocks URIs over 2048 bytes (414) and any body (413)', () => {
    const uri = byName['ogforge-uri-too-long'];
    assert.equal(uri.Action.Block.CustomResponse.ResponseCode, 414);
    assert.deepEqual(uri.Statement.SizeConstraintStatement, {
      FieldToMatch: { UriPath: {} },
      ComparisonOperator: 'GT',
      Size: 2048,
      TextTransformations: [{ Priority: 0, Type: 'NONE' }],
    });
    const body = byName['ogforge-request-body'];
    assert.equal(body.Action.Block.CustomResponse.ResponseCode, 413);
    assert.deepEqual(body.Statement.SizeConstraintStatement.FieldToMatch, { Body: { OversizeHandling: 'MATCH' } });
    assert.equal(body.Statement.SizeConstraintStatement.ComparisonOperator, 'GT');
    assert.equal(body.Statement.SizeConstraintStatement.Size, 0);
  });

  test('rate-limits per IP (429), configurable', () => {
    const rate = byName['ogforge-rate-per-ip'];
    assert.equal(rate.Action.Block.CustomResponse.ResponseCode, 429);
    assert.deepEqual(rate.Statement.RateBasedStatement, { Limit: 2000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 });
    const custom = synth({ rateLimit: '500' }).template;
    custom.hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: Match.arrayWith([Match.objectLike({ Statement: { RateBasedStatement: Match.objectLike({ Limit: 500 }) } })]),
    });
  });

  test("ogforge's own rules come first; priorities are unique", () => {
    const priorities = rules.map((r) => r.Priority);
    assert.equal(new Set(priorities).size, priorities.length);
    const first = [...rules].sort((a, b) => a.Priority - b.Priority).slice(0, 4).map((r) => r.Name);
    assert.deepEqual(first, ['ogforge-unexpected-query', 'ogforge-uri-too-long', 'ogforge-request-body', 'ogforge-rate-per-ip']);
  });

  test('logs blocked requests to an aws-waf-logs- log group', () => {
    const [, logging] = only(t, 'AWS::WAFv2::LoggingConfiguration');
    assert.deepEqual(logging.Properties.ResourceArn, { 'Fn::GetAtt': [aclId, 'Arn'] });
    assert.match(JSON.stringify(logging.Properties.LogDestinationConfigs), /log-group:aws-waf-logs-Ogforge"/);
    t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: 'aws-waf-logs-Ogforge' });
  });
});

describe('alarms', () => {
  const [topicId] = only(t, 'AWS::SNS::Topic');
  const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm')) as Json[];

  test('every alarm notifies the SNS topic, on alarm and on recovery', () => {
    assert.equal(alarms.length, 5);
    for (const alarm of alarms) {
      assert.deepEqual(alarm.Properties.AlarmActions, [{ Ref: topicId }], alarm.Properties.AlarmName);
      assert.deepEqual(alarm.Properties.OKActions, [{ Ref: topicId }], alarm.Properties.AlarmName);
    }
  });

  test('cover CloudFront 4xx/5xx rates, function errors, duration and throttles', () => {
    const metrics = alarms.map((a) => `${a.Properties.Namespace}/${a.Properties.MetricName}`).sort();
    assert.deepEqual(metrics, [
      'AWS/CloudFront/4xxErrorRate',
      'AWS/CloudFront/5xxErrorRate',
      'AWS/Lambda/Duration',
      'AWS/Lambda/Errors',
      'AWS/Lambda/Throttles',
    ]);
    for (const a of alarms.filter((a) => a.Properties.Namespace === 'AWS/CloudFront')) {
      assert.deepEqual(a.Properties.Dimensions, [
        { Name: 'DistributionId', Value: { Ref: distributionId } },
        { Name: 'Region', Value: 'Global' },
      ]);
    }
    for (const a of alarms.filter((a) => a.Properties.Namespace === 'AWS/Lambda')) {
      assert.deepEqual(a.Properties.Dimensions, [{ Name: 'FunctionName', Value: { Ref: functionId } }]);
    }
    const duration = alarms.find((a) => a.Properties.MetricName === 'Duration');
    assert.equal(duration.Properties.ExtendedStatistic, 'p99');
    assert.equal(duration.Properties.Threshold, 5000);
  });

  test('the topic refuses plain HTTP, and alarmEmail subscribes an address', () => {
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
    t.resourceCountIs('AWS::SNS::Subscription', 0);
    const mail = synth({ alarmEmail: 'ops@example.com' }).template;
    mail.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });
});

describe('outputs and context', () => {
  test('outputs the og:image URL, the store URL and the distribution', () => {
    t.hasOutput('OgImageUrl', {
      Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }, '/{id}.jpg']] },
    });
    t.hasOutput('StoreUrl', { Value: { 'Fn::Join': ['', ['s3://', { Ref: bucketId }]] } });
    t.hasOutput('DistributionId', { Value: { Ref: distributionId } });
    t.hasOutput('DistributionDomainName', {});
    t.hasOutput('AlarmTopicArn', {});
  });

  test('without storeKeyPrefix: no S3 origin path, and a warning says why', () => {
    const { stack, template } = synth({ storeKeyPrefix: undefined });
    const origins = only(template, 'AWS::CloudFront::Distribution')[1].Properties.DistributionConfig.Origins as Json[];
    for (const o of origins) assert.equal(o.OriginPath, undefined);
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('storeKeyPrefix is not set'));
    Annotations.fromStack(base.stack).hasNoWarning('*', Match.anyValue());
  });

  test('functionEnv adds variables; configFile points OGFORGE_CONFIG into the zip', () => {
    const { template } = synth({
      functionEnv: '{"OGFORGE__ROUTES__0__QUALITY":"90"}',
      configFile: 'ogforge.toml',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ OGFORGE__ROUTES__0__QUALITY: '90', OGFORGE_CONFIG: '/var/task/ogforge.toml' }),
      },
    });
  });

  test('refuses bad context with every problem at once', () => {
    assert.throws(
      () =>
        synth({
          region: 'eu-west-1',
          functionZip: path.join(tmp, 'missing.zip'),
          storeKeyPrefix: '/default/',
          architecture: 'mips',
          domainName: 'cards.example.com',
          functionEnv: '{"AWS_REGION":"x"}',
          logRetentionDays: '31',
        }),
      (e: Error) => {
        for (const key of [
          'region: eu-west-1',
          'functionZip',
          'cargo lambda build',
          'storeKeyPrefix',
          'architecture',
          'domainName and certificateArn',
          'AWS_REGION is reserved',
          'logRetentionDays',
        ]) {
          assert.ok(e.message.includes(key), `${key} in ${e.message}`);
        }
        return true;
      },
    );
  });

  test('the checked-in placeholder folder also works as code (used by check.sh for cdk synth)', () => {
    const { template } = synth({ functionZip: 'test/fixtures/placeholder-function' });
    template.resourceCountIs('AWS::Lambda::Function', 1);
  });
});
