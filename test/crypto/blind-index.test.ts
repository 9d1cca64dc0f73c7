import { randomBytes } from 'node:crypto';
import { computeBlindIndex, blindIndexKey, createBlindIndexer, lookupByBlindIndex, normaliseEmail, normalisePhone, planBlindIndexBits } from '../../lib/crypto/blind-index';
import { createFieldEncryptor, type FieldContext } from '../../lib/crypto/fields';
import type { KeyVault } from '../../lib/crypto/key-vault';
import { shredSubject } from '../../lib/crypto/shred';
import { localKey, memoryVault, tempDir } from './kit';

const keys = tempDir();
let vault: KeyVault;

beforeAll(async () => {
  vault = memoryVault(await localKey(keys.dir));
});
afterAll(() => keys.cleanup());

const fields = [
  { field: 'recipient.email', bits: 16, normalise: normaliseEmail },
  { field: 'recipient.phone', bits: 16, normalise: normalisePhone },
];

describe('normalisers', () => {
  it('trims and lower-cases emails', () => {
    expect(normaliseEmail('  Jane.Doe@Example.COM ')).toBe('jane.doe@example.com');
  });

  it('keeps only the digits of phone numbers, dropping an international 00', () => {
    expect(normalisePhone('+44 (20) 7946-0958')).toBe('442079460958');
    expect(normalisePhone('0044 20 7946 0958')).toBe('442079460958');
    expect(normalisePhone('020 7946 0958')).toBe('02079460958');
  });
});

describe('blind indexes', () => {
  it('are equal for equal normalised values of a field in a tenant', async () => {
    const ix = createBlindIndexer({ vault, fields });
    const a = await ix.indexFor('t1', 'recipient.email', 'Jane@Example.com');
    expect(a).toMatch(/^[0-9a-f]{4}$/);
    expect(await ix.indexFor('t1', 'recipient.email', ' jane@example.com')).toBe(a);
  });

  it('differ across tenants and fields for the same value', async () => {
    const ix = createBlindIndexer({ vault, fields: [...fields, { field: 'sender.email', bits: 32, normalise: normaliseEmail }] });
    const v = 'same@example.com';
    const seen = new Set([await ix.indexFor('t1', 'sender.email', v), await ix.indexFor('t2', 'sender.email', v)]);
    const root = await vault.indexRootKey('t1');
    seen.add(computeBlindIndex(blindIndexKey(root, 'recipient.email'), { bits: 32, normalise: normaliseEmail }, v));
    expect(seen.size).toBe(3);
  });

  it('keep exactly the configured number of bits', async () => {
    const root = await vault.indexRootKey('t1');
    const twelve = computeBlindIndex(blindIndexKey(root, 'f'), { bits: 12, normalise: normaliseEmail }, 'x@example.com');
    expect(twelve).toHaveLength(4);
    expect(parseInt(twelve, 16) & 0xf).toBe(0);
    expect(() => computeBlindIndex(blindIndexKey(root, 'f'), { bits: 33, normalise: normaliseEmail }, 'x')).toThrow(RangeError);
  });

  it('survive a data key rotation (the index root derives from the oldest tenant key)', async () => {
    const ix = createBlindIndexer({ vault, fields });
    const before = await ix.indexFor('t-rot', 'recipient.phone', '+1 555 0100');
    await vault.newDataKeyVersion({ tenantId: 't-rot' });
    vault.clearCache();
    expect(await ix.indexFor('t-rot', 'recipient.phone', '+1 (555) 0100')).toBe(before);
  });

  it('refuse an undeclared field', async () => {
    await expect(createBlindIndexer({ vault, fields }).indexFor('t1', 'recipient.name', 'x')).rejects.toThrow(TypeError);
  });
});

describe('lookups filter false positives after decryption', () => {
  interface Doc {
    _id: string;
    emailIdx: string;
    email: unknown;
    subjectId: string;
  }

  it('returns only the documents whose decrypted value matches', async () => {
    // 4 bits over 400 recipients: about 25 share each index value.
    const ix = createBlindIndexer({ vault, fields: [{ field: 'recipient.email', bits: 4, normalise: normaliseEmail }] });
    const fe = createFieldEncryptor({ vault });
    const ctxOf = (d: Pick<Doc, '_id' | 'subjectId'>): FieldContext => ({ tenantId: 'shop', collection: 'shipments', field: 'recipient.email', documentId: d._id, subjectId: d.subjectId });
    const docs: Doc[] = [];
    const emails = Array.from({ length: 400 }, (_, i) => `person${i}.${randomBytes(2).toString('hex')}@example.com`);
    emails.push('Target@Example.com'); // the same person twice
    emails.push('target@example.com');
    for (const [i, email] of emails.entries()) {
      const d = { _id: `s${i}`, subjectId: `subject-${normaliseEmail(email)}` };
      docs.push({ ...d, emailIdx: await ix.indexFor('shop', 'recipient.email', email), email: await fe.encryptValue(email, ctxOf(d)) });
    }
    let candidates = 0;
    const found = await lookupByBlindIndex<Doc>({
      indexer: ix,
      tenantId: 'shop',
      field: 'recipient.email',
      value: '  TARGET@example.com',
      find: async (index) => {
        const hits = docs.filter((d) => d.emailIdx === index);
        candidates = hits.length;
        return hits;
      },
      reveal: async (d) => (await fe.decryptValue(d.email, ctxOf(d))) as string,
    });
    expect(candidates).toBeGreaterThan(2); // false positives were fetched …
    expect(found.map((d) => d._id)).toEqual(['s400', 's401']); // … and filtered out
  });

  it('drops candidates whose subject was shredded instead of failing the lookup', async () => {
    const ix = createBlindIndexer({ vault, fields: [{ field: 'recipient.email', bits: 16, normalise: normaliseEmail }] });
    const fe = createFieldEncryptor({ vault });
    const mk = async (id: string, subjectId: string) => {
      const ctx = { tenantId: 'shop2', collection: 'shipments', field: 'recipient.email', documentId: id, subjectId };
      return { id, ctx, idx: await ix.indexFor('shop2', 'recipient.email', 'gone@example.com'), email: await fe.encryptValue('gone@example.com', ctx) };
    };
    const docs = [await mk('a', 'erased'), await mk('b', 'kept')];
    await shredSubject(vault, { tenantId: 'shop2', subjectId: 'erased' });
    const found = await lookupByBlindIndex({
      indexer: ix,
      tenantId: 'shop2',
      field: 'recipient.email',
      value: 'gone@example.com',
      find: async (index) => docs.filter((d) => d.idx === index),
      reveal: async (d) => (await fe.decryptValue(d.email, d.ctx)) as string,
    });
    expect(found.map((d) => d.id)).toEqual(['b']);
  });
});

describe('planBlindIndexBits (CipherSweet planner)', () => {
  it('recommends 8–15 bits for 50,000 rows', () => {
    expect(planBlindIndexBits(50_000)).toEqual({ min: 8, max: 15 });
  });

  it('leaves room for existing indexes on the field', () => {
    expect(planBlindIndexBits(50_000, [{ bits: 4, inputDomainBits: 16 }])).toEqual({ min: 4, max: 11 });
  });

  it('counts a small input domain', () => {
    // Inputs of 14 bits (e.g. a 4-digit number): more output bits add nothing, so the maximum stops at 14.
    expect(planBlindIndexBits(1_000_000, [], 14)).toEqual({ min: 10, max: 14 });
  });

  it('refuses an empty population or no safe size', () => {
    expect(() => planBlindIndexBits(0)).toThrow(RangeError);
    expect(() => planBlindIndexBits(4, [{ bits: 8 }])).toThrow(RangeError);
  });
});
