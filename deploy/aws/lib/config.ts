// Context values of the ogforge AWS app (`cdk deploy -c key=value`), read and checked in one
// place. Every key is optional; docs/aws.md lists them with their meaning.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Node } from 'constructs';

/** The folder holding cdk.json: relative paths in context values are taken from here. */
export const APP_ROOT = path.resolve(__dirname, '..', '..');

/** Where `cargo lambda build --release --features lambda --output-format zip` writes the zip. */
export const DEFAULT_FUNCTION_ZIP = '../../target/lambda/ogforge/bootstrap.zip';

/** The region WAF web ACLs for CloudFront and CloudFront's own metrics live in. */
export const EDGE_REGION = 'us-east-1';

/** The retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

export type Arch = 'x86_64' | 'arm64';
export type PriceClassName = 'PriceClass_All' | 'PriceClass_200' | 'PriceClass_100';

export interface OgforgeConfig {
  /** Absolute path of the function's code: a .zip holding `bootstrap`, or a folder. */
  readonly functionZip: string;
  readonly architecture: Arch;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** Unset: the function draws on the account's unreserved concurrency. */
  readonly reservedConcurrency?: number;
  readonly region: string;
  readonly originShieldRegion: string;
  /** Custom domain (an alias of the distribution) and its ACM certificate in us-east-1. */
  readonly domainName?: string;
  readonly certificateArn?: string;
  readonly priceClass: PriceClassName;
  /** `{route}/{digest}` of the route the distribution serves: the S3 origin's path. */
  readonly storeKeyPrefix?: string;
  /** Forward `?sig=` to the origins (signed routes); never part of the cache key. */
  readonly signedRoutes: boolean;
  /** Requests per IP per 5 minutes before the WAF rate rule blocks. */
  readonly rateLimit: number;
  /** URI path bytes over which the WAF blocks (ogforge's `server.max_uri_len`). */
  readonly maxUriLen: number;
  /** Stored images older than this are deleted (old template digests go with them). */
  readonly objectExpirationDays: number;
  readonly logRetentionDays: number;
  readonly alarmEmail?: string;
  /** Path of an ogforge TOML config inside the zip (sets OGFORGE_CONFIG=/var/task/...). */
  readonly configFile?: string;
  /** More environment variables for the function (OGFORGE__... keys). */
  readonly functionEnv: Record<string, string>;
}

class ContextReader {
  readonly errors: string[] = [];
  constructor(private readonly node: Node) {}

  raw(key: string): unknown {
    const v = this.node.tryGetContext(key);
    return v === '' ? undefined : v;
  }

  string(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.errors.push(`context ${key}: expected a string, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  }

  int(key: string, def: number | undefined, min: number, max: number): number | undefined {
    const v = this.raw(key);
    if (v === undefined || v === null) return def;
    const n = typeof v === 'number' ? v : Number(String(v));
    if (!Number.isInteger(n) || n < min || n > max) {
      this.errors.push(`context ${key}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
      return def;
    }
    return n;
  }

  bool(key: string, def: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined || v === null) return def;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    this.errors.push(`context ${key}: expected true or false, got ${JSON.stringify(v)}`);
    return def;
  }

  oneOf<T extends string>(key: string, def: T, allowed: readonly T[]): T {
    const v = this.string(key);
    if (v === undefined) return def;
    if (!(allowed as readonly string[]).includes(v)) {
      this.errors.push(`context ${key}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
      return def;
    }
    return v as T;
  }

  record(key: string): Record<string, string> {
    let v = this.raw(key);
    if (v === undefined || v === null) return {};
    if (typeof v === 'string') {
      try {
        v = JSON.parse(v);
      } catch {
        this.errors.push(`context ${key}: expected a JSON object of strings`);
        return {};
      }
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.errors.push(`context ${key}: expected a JSON object of strings`);
      return {};
    }
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
        this.errors.push(`context ${key}: ${JSON.stringify(k)} is not an environment variable name`);
      } else if (k.startsWith('AWS_') || k.startsWith('LAMBDA_') || k === '_HANDLER') {
        this.errors.push(`context ${key}: ${k} is reserved by Lambda`);
      } else if (typeof val === 'string' || typeof val === 'number' || typeof val === 'boolean') {
        out[k] = String(val);
      } else {
        this.errors.push(`context ${key}: the value of ${k} must be a string`);
      }
    }
    return out;
  }
}

/** Reads every context value; throws one error listing every problem. */
export function readConfig(node: Node): OgforgeConfig {
  const c = new ContextReader(node);

  const zip = c.string('functionZip') ?? DEFAULT_FUNCTION_ZIP;
  const functionZip = path.resolve(APP_ROOT, zip);
  if (!fs.existsSync(functionZip)) {
    c.errors.push(
      `context functionZip: ${functionZip} does not exist; build it from the repository root with ` +
        '`cargo lambda build --release --features lambda --output-format zip` ' +
        '(or pass -c functionZip=PATH)',
    );
  }

  const region = c.string('region') ?? EDGE_REGION;
  if (region !== EDGE_REGION) {
    c.errors.push(
      `context region: ${region}: this stack must be deployed in ${EDGE_REGION}, where CloudFront's ` +
        'WAF web ACLs and CloudFront metrics (for its alarms) live; see docs/aws.md, "Another region"',
    );
  }

  const domainName = c.string('domainName');
  const certificateArn = c.string('certificateArn');
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    c.errors.push('context domainName and certificateArn: give both (the certificate in us-east-1) or neither');
  }
  if (domainName !== undefined && !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(domainName)) {
    c.errors.push(`context domainName: ${JSON.stringify(domainName)} is not a lower-case host name`);
  }
  if (certificateArn !== undefined && !/^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]+$/.test(certificateArn)) {
    c.errors.push('context certificateArn: expected an ACM certificate ARN in us-east-1');
  }

  const storeKeyPrefix = c.string('storeKeyPrefix');
  if (storeKeyPrefix !== undefined && !/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(storeKeyPrefix)) {
    c.errors.push(
      `context storeKeyPrefix: ${JSON.stringify(storeKeyPrefix)}: expected {route}/{digest} ` +
        '(letters, digits, - and _, no leading or trailing /)',
    );
  }

  const configFile = c.string('configFile');
  if (configFile !== undefined && (path.isAbsolute(configFile) || configFile.split('/').includes('..'))) {
    c.errors.push('context configFile: a relative path inside the function zip, without ..');
  }

  const memoryMb = c.int('memoryMb', 1024, 128, 10240)!;
  const timeoutSeconds = c.int('timeoutSeconds', 10, 7, 60)!;
  const config: OgforgeConfig = {
    functionZip,
    architecture: c.oneOf<Arch>('architecture', 'x86_64', ['x86_64', 'arm64']),
    memoryMb,
    timeoutSeconds,
    reservedConcurrency: c.int('reservedConcurrency', undefined, 1, 10000),
    region,
    originShieldRegion: c.string('originShieldRegion') ?? region,
    domainName,
    certificateArn,
    priceClass: c.oneOf<PriceClassName>('priceClass', 'PriceClass_All', [
      'PriceClass_All',
      'PriceClass_200',
      'PriceClass_100',
    ]),
    storeKeyPrefix,
    signedRoutes: c.bool('signedRoutes', false),
    rateLimit: c.int('rateLimit', 2000, 10, 2_000_000_000)!,
    maxUriLen: c.int('maxUriLen', 2048, 64, 8192)!,
    objectExpirationDays: c.int('objectExpirationDays', 400, 1, 36500)!,
    logRetentionDays: c.int('logRetentionDays', 30, 1, 3653)!,
    alarmEmail: c.string('alarmEmail'),
    configFile,
    functionEnv: c.record('functionEnv'),
  };
  if (!LOG_RETENTION_DAYS.includes(config.logRetentionDays)) {
    c.errors.push(`context logRetentionDays: CloudWatch Logs keeps logs for one of ${LOG_RETENTION_DAYS.join(', ')} days`);
  }
  if (config.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(config.alarmEmail)) {
    c.errors.push(`context alarmEmail: ${JSON.stringify(config.alarmEmail)} is not an email address`);
  }
  if (c.errors.length > 0) {
    throw new Error(`ogforge: invalid context:\n  ${c.errors.join('\n  ')}`);
  }
  return config;
}
