/**
 * createFormatError: what a client sees of an error outside development —
 * public codes pass without stack traces, everything else is masked, and a
 * revoked tenant master key (BYOK) is told as ENCRYPTION_KEY_UNAVAILABLE
 * with a fixed message that names no key and no tenant.
 */
import { GraphQLError } from 'graphql';
import { DecryptionFailedError, MasterKeyUnavailableError } from '../../lib/crypto/errors';
import { createFormatError, NotFoundError } from '../../lib/errors';

const format = createFormatError('production');
const formatted = (err: GraphQLError) => format(err.toJSON(), err);
const wrap = (original: Error) => new GraphQLError(original.message, { originalError: original, path: ['createShipment'], extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x'] } });

describe('createFormatError (production)', () => {
  test('a revoked tenant master key is a stable code with a fixed message: no key id, no tenant id', () => {
    const out = formatted(wrap(new MasterKeyUnavailableError('local:production/acme-cmk', 'tenant-acme')));
    expect(out.extensions).toEqual({ code: 'ENCRYPTION_KEY_UNAVAILABLE' });
    expect(out.path).toEqual(['createShipment']);
    expect(JSON.stringify(out)).not.toMatch(/acme|local:|stacktrace/);
  });

  test('any other crypto failure stays an internal error', () => {
    const out = formatted(wrap(new DecryptionFailedError('AUTHENTICATION')));
    expect(out).toEqual({ message: 'Internal server error', path: ['createShipment'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });

  test('public codes pass without their stack trace; unknown errors are masked', () => {
    const notFound = new NotFoundError('Shipment');
    expect(format({ ...notFound.toJSON(), extensions: { ...notFound.extensions, stacktrace: ['at y'] } }, notFound).extensions).toEqual({ code: 'NOT_FOUND' });
    expect(formatted(wrap(new Error('boom: mongodb://user:pw@host'))).message).toBe('Internal server error');
  });
});
