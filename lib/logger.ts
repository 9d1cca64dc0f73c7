/**
 * The one logger (pino). Secrets and personal data never reach its output:
 *
 * - `redact` censors, at depths 0–3, every key of the schema's PII map
 *   (`@pii` field and argument names: email, phone, line1, deliveryNotes …),
 *   the credentials and GraphQL `variables` (lib/pii/redaction.ts);
 * - a `logMethod` hook passes the message, interpolation arguments and the
 *   logged object through the value scrubber (lib/pii/scrub.ts): sensitive
 *   keys at any depth, emails, phone and card numbers and echoed values in
 *   free text, error messages and stacks; child bindings get the same.
 *
 * The hook runs only for enabled levels (pino replaces the others by no-ops),
 * so a silenced level costs nothing.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { CENSOR, logScrubber, redactOptions, type RedactOptions } from './pii/redaction';

export type { DestinationStream, Logger };

let redact: RedactOptions | undefined;

/** pino's `redact` for every logger: generated from the PII map (lib/pii/redaction.ts). */
export function logRedaction(): RedactOptions {
  redact ??= redactOptions();
  return redact;
}

/**
 * A pino logger named `name` (also bound as `service`).
 *
 * @param level pino level, `silent` for none. @default process.env.LOG_LEVEL ?? 'info'
 * @param destination where lines go (tests pass a capture stream). @default stdout
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const scrub = logScrubber();
  const options: LoggerOptions = {
    name,
    level,
    base: { service: name },
    redact: logRedaction(),
    serializers: {
      // Objects arrive scrubbed from the hook; an Error reaching pino another way is scrubbed here.
      err: (err: unknown) => (err instanceof Error ? scrub.value(err) : err),
    },
    formatters: {
      // Base and child bindings (`logger.child({ … })`): only the logger's own `name` and `service` pass as they are.
      bindings: (bindings) => {
        const out: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(bindings)) {
          const own = (key === 'name' && value === name) || (key === 'service' && typeof value === 'string' && !value.includes('@'));
          out[key] = own ? value : scrub.isSensitiveKey(key) ? CENSOR : scrub.value(value);
        }
        return out;
      },
    },
    hooks: {
      // Runs before pino formats a line at an enabled level. It never throws: a value that cannot be
      // read (a throwing getter) drops the line's content, never the redaction.
      logMethod(args, method) {
        if (args.length === 0) return method.apply(this, args);
        let scrubbed: unknown[];
        try {
          const [first, ...rest] = args as unknown[];
          const tail = rest.map((arg) => scrub.value(arg));
          if (first instanceof Error) {
            const err = scrub.value(first) as { message?: unknown };
            // pino's own behaviour for `log(err)`: the error under `err`, its message as the message.
            scrubbed = [{ err }, ...(tail.length > 0 ? tail : [typeof err.message === 'string' ? err.message : ''])];
          } else {
            scrubbed = [scrub.value(first), ...tail];
          }
        } catch {
          scrubbed = [{ scrubFailed: true }, 'log line withheld: its values could not be scrubbed'];
        }
        return method.apply(this, scrubbed as never);
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
