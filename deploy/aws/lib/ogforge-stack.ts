// ogforge on AWS: CloudFront -> origin group [S3 bucket (OAC), on 403/404 the Lambda Function
// URL (OAC, IAM auth) running ogforge's router]. The function validates, renders, writes the
// image with create-if-absent to the same bucket and returns it; CloudFront caches it. See
// docs/aws.md.

import * as cdk from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { OgforgeAlarms } from './alarms';
import { OgforgeConfig } from './config';
import { EdgeFirewall } from './waf';

export interface OgforgeStackProps extends cdk.StackProps {
  readonly config: OgforgeConfig;
}

/** Status codes of the primary origin (S3) on which CloudFront asks the function instead. */
export const FAILOVER_STATUS_CODES = [403, 404];

/**
 * Error statuses CloudFront must not cache for its default 10 s: an answer about one request
 * (a bad `sig`, a refused query) must not become every viewer's answer for that path. These are
 * the codes a CloudFront custom error response accepts.
 */
export const UNCACHED_ERROR_CODES = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504];

/** Deadlines inside the function (ms): a store call, and the whole request below the timeout. */
export const STORE_TIMEOUT_MS = 2000;
export const RENDER_TIMEOUT_MS = 3000;

/**
 * The function's environment: ogforge's configuration keys as `OGFORGE__SECTION__KEY`
 * variables (README, "Configuration"). Context `functionEnv` adds or replaces keys.
 */
export function functionEnvironment(
  config: OgforgeConfig,
  bucketName: string,
  region: string,
): Record<string, string> {
  // Answer (503) before Lambda kills the invocation; still room for a store read plus a render,
  // as `ogforge check` requires.
  const requestTimeoutMs = Math.max(config.timeoutSeconds * 1000 - 2000, STORE_TIMEOUT_MS + RENDER_TIMEOUT_MS);
  const env: Record<string, string> = {
    OGFORGE__STORE__URL: `s3://${bucketName}`,
    OGFORGE__STORE__REGION: region,
    OGFORGE__STORE__TIMEOUT_MS: String(STORE_TIMEOUT_MS),
    OGFORGE__RENDER__TIMEOUT_MS: String(RENDER_TIMEOUT_MS),
    OGFORGE__SERVER__REQUEST_TIMEOUT_MS: String(requestTimeoutMs),
    // One request at a time per environment, and CloudFront in front: a memory tier would
    // only hold what CloudFront already caches.
    OGFORGE__CACHE__MEMORY_BYTES: '0',
    // Every request comes from CloudFront: a per-client budget would throttle CloudFront
    // itself. The WAF rate rule limits per viewer IP instead.
    OGFORGE__RATE_LIMIT__RENDERS_PER_MINUTE: '0',
    OGFORGE_LOG: 'info',
  };
  if (config.domainName !== undefined) {
    env.OGFORGE__SERVER__PUBLIC_URL = `https://${config.domainName}`;
  }
  if (config.configFile !== undefined) {
    env.OGFORGE_CONFIG = `/var/task/${config.configFile}`;
  }
  return { ...env, ...config.functionEnv };
}

export class OgforgeStack extends cdk.Stack {
  readonly bucket: s3.Bucket;
  readonly logBucket: s3.Bucket;
  readonly fn: lambda.Function;
  readonly functionUrl: lambda.FunctionUrl;
  readonly distribution: cloudfront.Distribution;
  readonly cachePolicy: cloudfront.CachePolicy;
  readonly firewall: EdgeFirewall;
  readonly alarms: OgforgeAlarms;

  constructor(scope: Construct, id: string, props: OgforgeStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    // Logs: CloudFront standard logs (which need ACLs on their bucket) and S3 access logs.
    this.logBucket = new s3.Bucket(this, 'Logs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [
        { id: 'expire-logs', expiration: cdk.Duration.days(90), abortIncompleteMultipartUploadAfter: cdk.Duration.days(1) },
      ],
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });

    // The images. Private, encrypted (SSE-S3: no KMS request per CloudFront fetch), TLS only,
    // versioned. Keys are `{route}/{template digest}/{id}.{ext}`: a template edit moves images
    // to new keys, so old digests stop being read and expire by age; an image still in use is
    // rendered again on its first miss after that.
    this.bucket = new s3.Bucket(this, 'Images', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 's3-access/',
      lifecycleRules: [
        {
          id: 'expire-old-images',
          expiration: cdk.Duration.days(config.objectExpirationDays),
          noncurrentVersionExpiration: cdk.Duration.days(30),
          abortIncompleteMultipartUploadAfter: cdk.Duration.days(1),
        },
        { id: 'remove-expired-delete-markers', expiredObjectDeleteMarker: true },
      ],
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });

    // The function: ogforge's router (HTML renderer) as a static binary on provided.al2023.
    const functionLogs = new logs.LogGroup(this, 'RendererLogs', {
      retention: logRetention,
      removalPolicy: cdk.RemovalPolicy.DESTROY,
    });
    const timeout = cdk.Duration.seconds(config.timeoutSeconds);
    this.fn = new lambda.Function(this, 'Renderer', {
      description: 'ogforge: validate, render, store once (create-if-absent) and return a social card',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(config.functionZip),
      architecture: config.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
      memorySize: config.memoryMb,
      timeout,
      reservedConcurrentExecutions: config.reservedConcurrency,
      logGroup: functionLogs,
      environment: functionEnvironment(config, this.bucket.bucketName, this.region),
    });
    // GetObject for store hits; PutObject for the conditional (If-None-Match: *) write and the
    // replacement of a damaged object; ListBucket so a missing key is a 404, not a 403.
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ImagesReadWrite',
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [this.bucket.arnForObjects('*')],
      }),
    );
    this.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ImagesList',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
      }),
    );
    this.functionUrl = this.fn.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.AWS_IAM,
      invokeMode: lambda.InvokeMode.BUFFERED,
    });

    // Origins: both reached only by CloudFront (OAC), both behind Origin Shield so a burst of
    // misses for one image from every edge becomes one request to S3 and one render.
    const s3Origin = origins.S3BucketOrigin.withOriginAccessControl(this.bucket, {
      originAccessLevels: [cloudfront.AccessLevel.READ],
      originPath: config.storeKeyPrefix !== undefined ? `/${config.storeKeyPrefix}` : undefined,
      originShieldEnabled: true,
      originShieldRegion: config.originShieldRegion,
    });
    // withOriginAccessControl grants CloudFront both lambda:InvokeFunctionUrl and
    // lambda:InvokeFunction (InvokedViaFunctionUrl), as Function URLs need since 2026-11-01.
    const functionOrigin = origins.FunctionUrlOrigin.withOriginAccessControl(this.functionUrl, {
      originShieldEnabled: true,
      originShieldRegion: config.originShieldRegion,
      readTimeout: cdk.Duration.seconds(Math.min(60, config.timeoutSeconds + 5)),
    });
    const originGroup = new origins.OriginGroup({
      primaryOrigin: s3Origin,
      fallbackOrigin: functionOrigin,
      fallbackStatusCodes: FAILOVER_STATUS_CODES,
    });

    // Keyed on the path only (no query, header or cookie; no Accept-Encoding: images are not
    // compressed); TTLs from the origin's Cache-Control (s-maxage), 0 to 1 year.
    this.cachePolicy = new cloudfront.CachePolicy(this, 'PathOnly', {
      comment: 'ogforge: the path is the key; TTL from the origin Cache-Control',
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      enableAcceptEncodingGzip: false,
      enableAcceptEncodingBrotli: false,
      minTtl: cdk.Duration.seconds(0),
      defaultTtl: cdk.Duration.days(1),
      maxTtl: cdk.Duration.days(365),
    });
    // Signed routes need `sig` at the function; it still stays out of the cache key.
    const originRequestPolicy = config.signedRoutes
      ? new cloudfront.OriginRequestPolicy(this, 'ForwardSig', {
          comment: 'ogforge: forward ?sig= (signed routes), nothing else',
          queryStringBehavior: cloudfront.OriginRequestQueryStringBehavior.allowList('sig'),
          headerBehavior: cloudfront.OriginRequestHeaderBehavior.none(),
          cookieBehavior: cloudfront.OriginRequestCookieBehavior.none(),
        })
      : undefined;
    const responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      comment: 'ogforge: nosniff and HSTS on every answer; S3 internals removed',
      securityHeadersBehavior: {
        contentTypeOptions: { override: true },
        strictTransportSecurity: {
          accessControlMaxAge: cdk.Duration.days(365),
          includeSubdomains: false,
          override: false,
        },
      },
      removeHeaders: ['x-amz-server-side-encryption', 'x-amz-version-id'],
    });

    this.firewall = new EdgeFirewall(this, 'Firewall', {
      rateLimit: config.rateLimit,
      maxUriLen: config.maxUriLen,
      logRetention,
    });

    const certificate =
      config.certificateArn !== undefined
        ? acm.Certificate.fromCertificateArn(this, 'Certificate', config.certificateArn)
        : undefined;
    this.distribution = new cloudfront.Distribution(this, 'Cdn', {
      comment: `ogforge social cards (${this.stackName})`,
      defaultBehavior: {
        origin: originGroup,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
        cachePolicy: this.cachePolicy,
        originRequestPolicy,
        responseHeadersPolicy,
        compress: false,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableIpv6: true,
      priceClass: config.priceClass as cloudfront.PriceClass,
      // Only with a custom certificate: the default *.cloudfront.net one has a fixed policy.
      minimumProtocolVersion: certificate !== undefined ? cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 : undefined,
      domainNames: config.domainName !== undefined ? [config.domainName] : undefined,
      certificate,
      webAclId: this.firewall.webAcl.attrArn,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
      logIncludesCookies: false,
      errorResponses: UNCACHED_ERROR_CODES.map((httpStatus) => ({ httpStatus, ttl: cdk.Duration.seconds(0) })),
    });

    this.alarms = new OgforgeAlarms(this, 'Alarms', {
      distribution: this.distribution,
      fn: this.fn,
      timeout,
      email: config.alarmEmail,
    });

    if (config.storeKeyPrefix === undefined) {
      cdk.Annotations.of(this).addWarningV2(
        'ogforge:storeKeyPrefix',
        'context storeKeyPrefix is not set: S3 keys are {route}/{digest}/{id}.{ext}, so without the ' +
          "route's {route}/{digest} as the S3 origin path every CloudFront miss goes to the function " +
          '(which still answers from the bucket). See docs/aws.md.',
      );
    }

    const publicUrl = `https://${config.domainName ?? this.distribution.distributionDomainName}`;
    new cdk.CfnOutput(this, 'OgImageUrl', {
      description: 'What to put in og:image and twitter:image (the default route /{id}.jpg)',
      value: `${publicUrl}/{id}.jpg`,
    });
    new cdk.CfnOutput(this, 'ImageBaseUrl', { description: 'Base URL of every route', value: publicUrl });
    new cdk.CfnOutput(this, 'DistributionDomainName', {
      description: 'Point the custom domain (CNAME or alias) here',
      value: this.distribution.distributionDomainName,
    });
    new cdk.CfnOutput(this, 'DistributionId', { value: this.distribution.distributionId });
    new cdk.CfnOutput(this, 'StoreUrl', {
      description: 'For ogforge warm --store',
      value: `s3://${this.bucket.bucketName}`,
    });
    new cdk.CfnOutput(this, 'FunctionName', { value: this.fn.functionName });
    new cdk.CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
  }
}
