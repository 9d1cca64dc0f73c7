import { canonicalContext } from '../../lib/crypto/canonical';

describe('canonicalContext', () => {
  it('encodes a fixed vector: length-prefixed domain, then entries sorted by key', () => {
    // Pinned: changing the encoding would make every stored ciphertext undecryptable.
    expect(canonicalContext('d', { b: 'xy', a: '' }).toString('hex')).toBe(
      ['00000001', '64', '00000001', '61', '00000000', '00000001', '62', '00000002', '7879'].join(''),
    );
  });

  it('does not depend on property order', () => {
    expect(canonicalContext('d', { a: '1', b: '2' })).toEqual(canonicalContext('d', { b: '2', a: '1' }));
  });

  it('is injective where a separator-based encoding would collide', () => {
    expect(canonicalContext('d', { a: 'b|c' })).not.toEqual(canonicalContext('d', { a: 'b', c: '' }));
    expect(canonicalContext('d', { ab: 'c' })).not.toEqual(canonicalContext('d', { a: 'bc' }));
    expect(canonicalContext('d1', {})).not.toEqual(canonicalContext('d', { '1': '' }));
  });

  it('refuses a value that is not a string', () => {
    expect(() => canonicalContext('d', { a: 1 as unknown as string })).toThrow(TypeError);
  });
});
