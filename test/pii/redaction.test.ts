/**
 * Log redaction (lib/logger.ts, lib/pii/redaction.ts, lib/pii/scrub.ts):
 * keys from the PII map and credentials are censored at any depth, GraphQL
 * variables never appear, free text loses emails, phone and card numbers
 * and echoed values, errors are scrubbed, and what is not personal stays.
 */
import pino from 'pino';
import { createLogger, type Logger } from '../../lib/logger';
import { CENSOR, createScrubber, logScrubber, redactOptions, sensitiveLogKeys } from '../../lib/pii';

function capture(level = 'trace'): { logger: Logger; lines: () => Record<string, any>[]; raw: () => string } {
  const chunks: string[] = [];
  const logger = createLogger('redaction-test', level, { write: (s: string) => void chunks.push(s) });
  return { logger, lines: () => chunks.map((c) => JSON.parse(c)), raw: () => chunks.join('') };
}

describe('censored keys', () => {
  test('come from the PII map, the credentials and `variables`', () => {
    const keys = sensitiveLogKeys();
    for (const key of ['email', 'phone', 'name', 'line1', 'line2', 'postalCode', 'deliveryNotes', 'signerName', 'signatureRef', 'photoRefs', 'geo', 'coordinates', 'reason', 'dataSharing']) expect(keys).toContain(key);
    for (const key of ['password', 'secret', 'token', 'accessToken', 'authorization', 'cookie', 'totp', 'clientSecret', 'variables']) expect(keys).toContain(key);
  });

  test('are censored by pino `redact` alone at depths 0 to 3, the logger name untouched', () => {
    const chunks: string[] = [];
    const raw = pino({ name: 'svc', redact: redactOptions() }, { write: (s: string) => void chunks.push(s) });
    raw.info({ email: 'a@b.example', x: { phone: '+1', y: { line1: 'L1', z: { postalCode: 'P', keep: 'k' } } }, req: { headers: { authorization: 'Bearer t', host: 'h' } }, variables: { v: 1 } });
    const line = JSON.parse(chunks[0]!);
    expect(line).toMatchObject({
      name: 'svc',
      email: CENSOR,
      x: { phone: CENSOR, y: { line1: CENSOR, z: { postalCode: CENSOR, keep: 'k' } } },
      req: { headers: { authorization: CENSOR, host: 'h' } },
      variables: CENSOR,
    });
  });

  test('are censored by the logger at any depth, in any case or spelling, and in child bindings', () => {
    const { logger, lines } = capture();
    const deep = { a: { b: { c: { d: { e: { Email: 'x@y.example', postal_code: 'AB1', note: 'fine' } } } } } };
    logger.child({ requestId: 'r-1', email: 'child@bound.example', name: 'Child Binding' }).info({ name: 'Ada Lovelace', deep, recipient: { signerName: 'S', photoRefs: ['p'] }, variables: { input: { a: 1 } } }, 'logged');
    const [line] = lines();
    expect(line).toMatchObject({ service: 'redaction-test', requestId: 'r-1', email: CENSOR, name: CENSOR, variables: CENSOR, recipient: { signerName: CENSOR, photoRefs: CENSOR }, msg: 'logged' });
    expect(line.deep.a.b.c.d.e).toEqual({ Email: CENSOR, postal_code: CENSOR, note: 'fine' });
    expect(JSON.stringify(line)).not.toContain('Child Binding');
  });

  test('never change the object that was logged', () => {
    const { logger } = capture();
    const obj = { recipient: { email: 'a@b.example' }, message: 'mail a@b.example' };
    logger.info(obj);
    expect(obj).toEqual({ recipient: { email: 'a@b.example' }, message: 'mail a@b.example' });
  });
});

describe('free text', () => {
  const scrub = logScrubber();

  test.each([
    ['mail ada.lovelace+orders@example.co.uk now', 'mail [email] now'],
    ['Zoë.Ünal@exämple.de', '[email]'],
    ['call +44 20 7946 0958 today', 'call [phone] today'],
    ['call +14155550123', 'call [phone]'],
    ['(415) 555-0123 or 415.555.0123', '[phone] or [phone]'],
    ['card 4111 1111 1111 1111 paid', 'card [card] paid'],
    ['card 4111-1111-1111-1111', 'card [card]'],
    ['Variable "$input" got invalid value { name: "Ada", phone: 123 } at "input.recipient"; Field "fax" is not defined', 'Variable "$input" got invalid value [redacted] at "input.recipient"; Field "fax" is not defined'],
    ['String cannot represent a non string value: 4155550123', 'String cannot represent a non string value: [redacted]'],
    ['Expected value of type "String!", found 12; nope', 'Expected value of type "String!", found [redacted]; nope'],
    ['E11000 duplicate key error collection: db.users index: tenantId_1_email_1 dup key: { tenantId: "t1", email: "x" }', 'E11000 duplicate key error collection: db.users index: tenantId_1_email_1 dup key: [redacted]'],
    ['Cast to string failed for value "Ada L" (type Object) at path "name"', 'Cast to string failed for value [redacted] (type Object) at path "name"'],
    ['Path `deliveryNotes` (`ring twice, code 1234`) is longer than the maximum allowed length (10).', 'Path `deliveryNotes` ([redacted]) is longer than the maximum allowed length (10).'],
    ['`Ada` is not a valid enum value for path `role`.', '[redacted] is not a valid enum value for path `role`.'],
    ['{"name":"Ada Lovelace","city":"Paris"}', '{"name":[redacted],"city":"Paris"}'],
    ['{\\"signerName\\":\\"Ada L\\",\\"city\\":\\"Paris\\"}', '{\\"signerName\\":[redacted],\\"city\\":\\"Paris\\"}'],
    ["input: { line1: 'Flat 2', countryIso3: 'GBR' }", "input: { line1: [redacted], countryIso3: 'GBR' }"],
    ['deliveryNotes=gate%20code&x=1', 'deliveryNotes=[redacted]&x=1'],
  ])('masks %j', (input, expected) => {
    expect(scrub.text(input)).toBe(expected);
  });

  test.each([
    'at 2025-03-01T14:05:00.000Z',
    'between 2025-03-01 and 2025-04-01',
    'from 192.168.100.200:4001',
    'request 123e4567-e89b-12d3-a456-426614174000',
    'shipment 665f1c2b9e8d7a6b5c4d3e2f',
    'took 1234 ms, 3.14159265 ratio, version 20.19.43',
    'card-like but not Luhn: 4111 1111 1111 1112',
    'Cannot query field "name" on type "Shipment".',
    'shipment subgraph listening on port 4001',
  ])('leaves %j alone', (input) => {
    expect(scrub.text(input)).toBe(input);
  });
});

describe('the logger', () => {
  test('scrubs the message, interpolation arguments and strings inside objects', () => {
    const { logger, lines } = capture();
    logger.info({ detail: 'recipient ada@example.com', list: ['+447700900123'] }, 'for %s and %s', 'bob@example.com', '+14155550123');
    expect(lines()[0]).toMatchObject({ detail: 'recipient [email]', list: ['[phone]'], msg: 'for [email] and [phone]' });
  });

  test('scrubs errors logged first, under `err` or nested, keeping their type', () => {
    const { logger, lines } = capture();
    const cause = new Error('lookup of carol@example.com failed');
    const err = Object.assign(new TypeError('dup key: { email: "dave@example.com" }', { cause }), { code: 'E_DUP', email: 'dave@example.com' });
    logger.error(err);
    logger.error({ err }, 'request failed');
    logger.warn({ wrapped: { error: err } }, 'nested');
    const [first, second, third] = lines();
    expect(first).toMatchObject({ err: { type: 'TypeError', message: 'dup key: [redacted]', code: 'E_DUP', email: CENSOR, cause: { type: 'Error', message: 'lookup of [email] failed' } }, msg: 'dup key: [redacted]' });
    expect(first.err.stack).toMatch(/^TypeError: dup key: \[redacted\]\n\s+at /);
    expect(second).toMatchObject({ err: { type: 'TypeError', message: 'dup key: [redacted]' }, msg: 'request failed' });
    expect(third.wrapped.error).toMatchObject({ type: 'TypeError', message: 'dup key: [redacted]' });
    expect(JSON.stringify(lines())).not.toMatch(/carol|dave/);
  });

  test('survives cycles, depth and binary data', () => {
    const { logger, lines } = capture();
    const loop: Record<string, unknown> = { label: 'loop' };
    loop.self = loop;
    let deep: Record<string, unknown> = { leaf: 'x' };
    for (let i = 0; i < 20; i++) deep = { deep };
    logger.info({ loop, deep, bytes: Buffer.from('ada@example.com') });
    const [line] = lines();
    expect(line.loop).toEqual({ label: 'loop', self: '[circular]' });
    expect(JSON.stringify(line.deep)).toContain('[depth]');
    expect(line.bytes).toBe('[binary]');
  });

  test('withholds a line whose values cannot be read rather than throw or leak', () => {
    const { logger, lines } = capture();
    const hostile = { get email(): string { throw new Error('no'); }, other: 'ada@example.com' };
    Object.defineProperty(hostile, 'boom', { enumerable: true, get() { throw new Error('getter'); } });
    expect(() => logger.info(hostile, 'for ada@example.com')).not.toThrow();
    expect(lines()[0]).toMatchObject({ scrubFailed: true, msg: 'log line withheld: its values could not be scrubbed' });
  });

  test('writes nothing and scrubs nothing below its level', () => {
    const { logger, raw } = capture('warn');
    logger.info({ email: 'a@b.example' }, 'quiet');
    expect(raw()).toBe('');
  });

  test('keeps up: 2,000 error lines with nested objects in well under a second', () => {
    const logger = createLogger('speed', 'info', { write: () => undefined });
    const err = new Error('boom for ada@example.com');
    const started = performance.now();
    for (let i = 0; i < 2000; i++) logger.info({ requestId: 'r', path: ['createShipment', 'recipient'], extensions: { code: 'X' }, err }, 'request failed');
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('createScrubber', () => {
  test('censors exactly the keys it was given', () => {
    const scrub = createScrubber({ keys: ['ssn'] });
    expect(scrub.value({ ssn: '1', SSN: '2', name: 'kept', nested: [{ ssn: '3' }] })).toEqual({ ssn: CENSOR, SSN: CENSOR, name: 'kept', nested: [{ ssn: CENSOR }] });
    expect(scrub.text('ssn: 078-05-1120, name: kept')).toBe('ssn: [redacted], name: kept');
  });

  test('cuts very long strings before scrubbing them', () => {
    const scrub = createScrubber({ keys: [], maxStringLength: 10 });
    expect(scrub.text('a'.repeat(50))).toBe(`${'a'.repeat(10)}…[truncated]`);
  });
});
