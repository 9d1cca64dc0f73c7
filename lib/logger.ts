/**
 * The one logger (pino). Secrets and personal data never reach it: the
 * redact list covers credentials and the personal fields we know of; the
 * data-protection work generates the full list from the schema's @pii map.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths masked in every log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.secret',
  '*.token',
  '*.accessToken',
  '*.email',
  '*.phone',
  '*.name',
  'variables',
];

export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: name } });
}
