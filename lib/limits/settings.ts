/**
 * Hardening settings from the environment: the query limits of the
 * environment (profiles.ts) with per-variable overrides, the trusted
 * documents policy and the sensitive root fields. Parsed by lib/config.ts;
 * `HARDENING_VARS` feeds its configuration table.
 */
import type { AppEnv } from '../config';
import { TRUSTED_DOCUMENTS_DIR } from '../trusted-documents/store';
import { APP_NAME } from '../trusted-documents/manifest';
import { QUERY_LIMITS, type QueryLimits } from './profiles';
import { DEFAULT_SENSITIVE_ROOT_FIELDS } from './sensitive-fields';

export type SubjectType = 'user' | 'client' | 'device';

export interface TrustedDocumentsSettings {
  /** Folder of `<app>.json` manifests. */
  dir: string;
  /** Registered apps may run only their trusted documents, and clients off the open list none but those. */
  enforce: boolean;
  /** Clients (by `apollographql-client-name`) that may send any operation while enforcing; '*' = every unregistered client. */
  openClients: '*' | string[];
  /** Tokens of these subject types always act as this app, whatever the client-name header says. */
  appBySubjectType: Partial<Record<SubjectType, string>>;
}

export interface HardeningSettings {
  limits: QueryLimits;
  trustedDocuments: TrustedDocumentsSettings;
  /** Root fields that run at most once per request (never aliased, repeated or batched). */
  sensitiveRootFields: string[];
}

const LIMIT_VARS: Array<{ name: string; key: keyof QueryLimits; min: number; max: number; meaning: string }> = [
  { name: 'MAX_QUERY_DEPTH', key: 'maxDepth', min: 2, max: 100, meaning: 'deepest selection (graphql-armor, fragments flattened): QUERY_TOO_DEEP' },
  { name: 'MAX_QUERY_ALIASES', key: 'maxAliases', min: 0, max: 1000, meaning: 'aliases per operation: QUERY_TOO_COMPLEX / TOO_MANY_ALIASES' },
  { name: 'MAX_QUERY_DIRECTIVES', key: 'maxDirectives', min: 0, max: 1000, meaning: 'directives per operation: QUERY_TOO_COMPLEX / TOO_MANY_DIRECTIVES' },
  { name: 'MAX_QUERY_TOKENS', key: 'maxTokens', min: 50, max: 1_000_000, meaning: 'lexical tokens per document: QUERY_TOO_COMPLEX / TOO_MANY_TOKENS' },
  { name: 'MAX_QUERY_FIELDS', key: 'maxFields', min: 10, max: 1_000_000, meaning: 'field selections per operation, fragments expanded: QUERY_TOO_COMPLEX / TOO_MANY_FIELDS' },
  { name: 'MAX_QUERY_COST', key: 'maxCost', min: 10, max: 100_000_000, meaning: 'estimated cost per operation (list sizes multiplied): COST_LIMIT_EXCEEDED' },
  { name: 'COST_BUDGET_PER_MINUTE', key: 'costBudgetPerMinute', min: 0, max: 1_000_000_000, meaning: 'cost per client (principal + tenant, or IP) per minute, 0 = none: QUOTA_EXCEEDED, 429 + Retry-After' },
  { name: 'MAX_BATCH_SIZE', key: 'maxBatchSize', min: 1, max: 10, meaning: 'operations per JSON-array request; 1 = batching off (BATCHING_DISABLED), above: BATCH_TOO_LARGE' },
];

const fmtLimit = (key: keyof QueryLimits): string => `${QUERY_LIMITS.production[key]} (staging ${QUERY_LIMITS.staging[key]}, development ${QUERY_LIMITS.development[key]})`;

/** Rows for the configuration table in lib/config.ts and the README. */
export const HARDENING_VARS: Array<{ name: string; default: string; meaning: string }> = [
  ...LIMIT_VARS.map((v) => ({ name: v.name, default: fmtLimit(v.key), meaning: v.meaning })),
  { name: 'TRUSTED_DOCUMENTS_DIR', default: 'trusted-documents/', meaning: 'folder of trusted-document manifests, one `<app>.json` per registered app' },
  { name: 'TRUSTED_DOCUMENTS_ENFORCE', default: 'true in production, false otherwise', meaning: 'registered apps may run only their trusted documents (false is refused in production)' },
  { name: 'TRUSTED_DOCUMENTS_OPEN_CLIENTS', default: '*', meaning: 'comma-separated client names (apollographql-client-name) that may send any operation while enforcing; * = every client that is not a registered app' },
  { name: 'TRUSTED_DOCUMENTS_APP_BY_SUBJECT', default: '(none)', meaning: 'token subject types bound to an app whatever the header says, e.g. device:driver-app' },
  { name: 'SENSITIVE_ROOT_FIELDS', default: DEFAULT_SENSITIVE_ROOT_FIELDS.join(','), meaning: 'root fields that may never be aliased, repeated or batched: SENSITIVE_OPERATION_REFUSED' },
];

const list = (raw: string): string[] =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The hardening settings of `appEnv`; each problem is pushed onto `problems` (loadConfig reports them all). */
export function hardeningSettingsFrom(env: NodeJS.ProcessEnv, appEnv: AppEnv, problems: string[]): HardeningSettings {
  const limits: QueryLimits = { ...(QUERY_LIMITS[appEnv] ?? QUERY_LIMITS.production) };
  for (const v of LIMIT_VARS) {
    const raw = env[v.name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < v.min || n > v.max) problems.push(`${v.name} must be an integer ${v.min}-${v.max}, got "${raw}"`);
    else limits[v.key] = n;
  }

  let enforce = appEnv === 'production';
  const enforceRaw = env.TRUSTED_DOCUMENTS_ENFORCE;
  if (enforceRaw !== undefined && enforceRaw !== '') {
    if (!['true', 'false', '1', '0'].includes(enforceRaw)) problems.push(`TRUSTED_DOCUMENTS_ENFORCE must be true or false, got "${enforceRaw}"`);
    else enforce = enforceRaw === 'true' || enforceRaw === '1';
    if (!enforce && appEnv === 'production') problems.push('TRUSTED_DOCUMENTS_ENFORCE=false is refused in production');
  }

  let openClients: '*' | string[] = '*';
  const openRaw = env.TRUSTED_DOCUMENTS_OPEN_CLIENTS;
  if (openRaw !== undefined && openRaw.trim() !== '*') openClients = list(openRaw);

  const appBySubjectType: Partial<Record<SubjectType, string>> = {};
  for (const pair of list(env.TRUSTED_DOCUMENTS_APP_BY_SUBJECT ?? '')) {
    const [subject, app] = pair.split(':').map((s) => s.trim());
    if (!['user', 'client', 'device'].includes(subject) || !app || !APP_NAME.test(app)) problems.push(`TRUSTED_DOCUMENTS_APP_BY_SUBJECT: "${pair}" is not <user|client|device>:<app>`);
    else appBySubjectType[subject as SubjectType] = app;
  }

  const sensitiveRaw = env.SENSITIVE_ROOT_FIELDS;
  const sensitiveRootFields = sensitiveRaw === undefined ? [...DEFAULT_SENSITIVE_ROOT_FIELDS] : list(sensitiveRaw);
  for (const f of sensitiveRootFields) if (!/^[_A-Za-z][_0-9A-Za-z]*$/.test(f)) problems.push(`SENSITIVE_ROOT_FIELDS: "${f}" is not a field name`);

  return {
    limits,
    trustedDocuments: { dir: env.TRUSTED_DOCUMENTS_DIR || TRUSTED_DOCUMENTS_DIR, enforce, openClients, appBySubjectType },
    sensitiveRootFields,
  };
}
