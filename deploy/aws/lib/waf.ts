// AWS WAF in front of the distribution: ogforge's own guard rules (query allow-list, URI size,
// no bodies) at the edge, a per-IP rate rule, and three AWS managed rule groups. Requests it
// blocks never reach the cache, S3 or the function.

import * as cdk from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

/** ogforge's allowed query parameters: `v` (ignored, cache busting) and `sig` (signed routes). */
export const ALLOWED_QUERY_PARAMS = ['v', 'sig'] as const;

/**
 * A query string made only of `v=` and `sig=` pairs (values up to 128 bytes, as sent). Any
 * other parameter, a bare name or an empty pair fails it. Matched on the raw query string.
 */
export const ALLOWED_QUERY_REGEX = '^(v|sig)=[^&]{0,128}(&(v|sig)=[^&]{0,128})*$';

/** AWS managed rule groups, in evaluation order after ogforge's own rules. */
export const MANAGED_RULE_GROUPS = [
  'AWSManagedRulesAmazonIpReputationList',
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
] as const;

export interface EdgeFirewallProps {
  /** Requests per client IP in any 5-minute window before the IP is blocked for a while. */
  readonly rateLimit: number;
  /** URI path bytes over which a request is refused (ogforge's `server.max_uri_len`). */
  readonly maxUriLen: number;
  readonly logRetention: logs.RetentionDays;
}

const NONE = [{ priority: 0, type: 'NONE' }];

function visibility(name: string): wafv2.CfnWebACL.VisibilityConfigProperty {
  return { cloudWatchMetricsEnabled: true, metricName: `ogforge-${name}`, sampledRequestsEnabled: true };
}

function block(code: number, body: string): wafv2.CfnWebACL.RuleActionProperty {
  return { block: { customResponse: { responseCode: code, customResponseBodyKey: body } } };
}

export class EdgeFirewall extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: EdgeFirewallProps) {
    super(scope, id);

    const rules: wafv2.CfnWebACL.RuleProperty[] = [
      {
        // ogforge answers 400 to a query parameter not on `server.ignored_query_params`.
        name: 'ogforge-unexpected-query',
        priority: 0,
        action: block(400, 'unexpected-query'),
        visibilityConfig: visibility('unexpected-query'),
        statement: {
          andStatement: {
            statements: [
              {
                sizeConstraintStatement: {
                  fieldToMatch: { queryString: {} },
                  comparisonOperator: 'GT',
                  size: 0,
                  textTransformations: NONE,
                },
              },
              {
                notStatement: {
                  statement: {
                    regexMatchStatement: {
                      fieldToMatch: { queryString: {} },
                      regexString: ALLOWED_QUERY_REGEX,
                      textTransformations: NONE,
                    },
                  },
                },
              },
            ],
          },
        },
      },
      {
        // ogforge answers 414 past `server.max_uri_len`.
        name: 'ogforge-uri-too-long',
        priority: 1,
        action: block(414, 'uri-too-long'),
        visibilityConfig: visibility('uri-too-long'),
        statement: {
          sizeConstraintStatement: {
            fieldToMatch: { uriPath: {} },
            comparisonOperator: 'GT',
            size: props.maxUriLen,
            textTransformations: NONE,
          },
        },
      },
      {
        // ogforge answers 413 to any body: an image request has none.
        name: 'ogforge-request-body',
        priority: 2,
        action: block(413, 'body'),
        visibilityConfig: visibility('request-body'),
        statement: {
          sizeConstraintStatement: {
            fieldToMatch: { body: { oversizeHandling: 'MATCH' } },
            comparisonOperator: 'GT',
            size: 0,
            textTransformations: NONE,
          },
        },
      },
      {
        // Per client IP. ogforge's own per-client render budget cannot see clients behind
        // CloudFront (every request comes from CloudFront), so this replaces it at the edge.
        name: 'ogforge-rate-per-ip',
        priority: 3,
        action: block(429, 'rate-limited'),
        visibilityConfig: visibility('rate-per-ip'),
        statement: {
          rateBasedStatement: { limit: props.rateLimit, aggregateKeyType: 'IP', evaluationWindowSec: 300 },
        },
      },
      ...MANAGED_RULE_GROUPS.map(
        (name, i): wafv2.CfnWebACL.RuleProperty => ({
          name: `aws-${name}`,
          priority: 10 + i,
          overrideAction: { none: {} },
          visibilityConfig: visibility(name),
          statement: {
            managedRuleGroupStatement: {
              vendorName: 'AWS',
              name,
              // The common rule set refuses URI paths over 1,024 bytes; ogforge's ids may take
              // up to `maxUriLen` (the rule above enforces that), so that one rule only counts.
              ruleActionOverrides:
                name === 'AWSManagedRulesCommonRuleSet'
                  ? [{ name: 'SizeRestrictions_URIPATH', actionToUse: { count: {} } }]
                  : undefined,
            },
          },
        }),
      ),
    ];

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'CLOUDFRONT',
      description: 'ogforge: query allow-list, URI size, no bodies, rate per IP, AWS managed rules',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('web-acl'),
      customResponseBodies: {
        'unexpected-query': { contentType: 'TEXT_PLAIN', content: 'unexpected query string\n' },
        'uri-too-long': { contentType: 'TEXT_PLAIN', content: 'URI too long\n' },
        body: { contentType: 'TEXT_PLAIN', content: 'request body not allowed\n' },
        'rate-limited': { contentType: 'TEXT_PLAIN', content: 'too many requests\n' },
      },
      rules,
    });

    // Blocked requests only (and counted ones): every allowed request is in CloudFront's log.
    const stack = cdk.Stack.of(this);
    const logGroupName = `aws-waf-logs-${stack.stackName}`;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName,
      retention: props.logRetention,
      removalPolicy: cdk.RemovalPolicy.DESTROY,
    });
    const logging = new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      // WAF wants the log group's ARN without the trailing `:*` that logGroupArn carries.
      logDestinationConfigs: [
        stack.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: logGroupName,
          arnFormat: cdk.ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      loggingFilter: {
        DefaultBehavior: 'DROP',
        Filters: [
          {
            Behavior: 'KEEP',
            Requirement: 'MEETS_ANY',
            Conditions: [{ ActionCondition: { Action: 'BLOCK' } }, { ActionCondition: { Action: 'COUNT' } }],
          },
        ],
      },
    });
    logging.node.addDependency(this.logGroup);
  }
}
