// CloudWatch alarms of the AWS deployment, all to one SNS topic: the original design's alarms
// (CloudFront error rates, function errors and duration) plus throttles. Thresholds are starting
// points, as in deploy/prometheus/alerts.yml.

import * as cdk from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface OgforgeAlarmsProps {
  readonly distribution: cloudfront.Distribution;
  readonly fn: lambda.Function;
  readonly timeout: cdk.Duration;
  readonly email?: string;
}

const FIVE_MINUTES = cdk.Duration.minutes(5);

/**
 * A CloudFront rate metric as CloudFront publishes it: dimensions DistributionId *and*
 * Region=Global (Distribution.metric5xxErrorRate() leaves Region out, and an alarm on a
 * dimension set that is never published never sees a datapoint).
 */
function cloudfrontRate(distribution: cloudfront.IDistribution, metricName: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/CloudFront',
    metricName,
    dimensionsMap: { DistributionId: distribution.distributionId, Region: 'Global' },
    statistic: 'Average',
    period: FIVE_MINUTES,
    region: 'us-east-1',
  });
}

export class OgforgeAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: OgforgeAlarmsProps) {
    super(scope, id);
    const { distribution, fn } = props;
    const stackName = cdk.Stack.of(this).stackName;

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'ogforge alarms',
      enforceSSL: true,
    });
    if (props.email !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    }

    const add = (name: string, description: string, props: cloudwatch.CreateAlarmOptions & { metric: cloudwatch.IMetric }) => {
      const alarm = new cloudwatch.Alarm(this, name, {
        alarmName: `${stackName}-${name}`,
        alarmDescription: description,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...props,
      });
      alarm.addAlarmAction(new actions.SnsAction(this.topic));
      alarm.addOkAction(new actions.SnsAction(this.topic));
      this.alarms.push(alarm);
      return alarm;
    };

    // CloudFront's rates are percentages of all viewer requests, in us-east-1 ("Global").
    add('cloudfront-5xx-rate', 'More than 1% of viewer requests got a 5xx for 15 minutes: the function fails, times out or is throttled (S3 misses fail over to it).', {
      metric: cloudfrontRate(distribution, '5xxErrorRate'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
    });
    add('cloudfront-4xx-rate', 'More than 10% of viewer requests got a 4xx for 15 minutes: WAF blocks (query, size, rate, managed rules) or signed-route refusals; invalid ids get the default image, not a 4xx.', {
      metric: cloudfrontRate(distribution, '4xxErrorRate'),
      threshold: 10,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
    });
    add('function-errors', 'The function failed 5 or more invocations in 5 minutes (crash, timeout, out of memory): the viewer got a 5xx.', {
      metric: fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
      threshold: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
    const slowMs = Math.round(props.timeout.toMilliseconds() / 2);
    add('function-duration-p99', `The function's p99 duration was over ${slowMs} ms (half its timeout) for 15 minutes: renders or S3 calls are slow.`, {
      metric: fn.metricDuration({ period: FIVE_MINUTES, statistic: 'p99' }),
      threshold: slowMs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
    });
    add('function-throttles', 'Invocations were throttled (reserved or account concurrency reached): those viewers got an error instead of an image.', {
      metric: fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
  }
}
