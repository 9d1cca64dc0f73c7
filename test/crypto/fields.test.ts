import { Binary } from 'bson';
import { Types } from 'mongoose';
import { DecryptionFailedError, UnsupportedValueError } from '../../lib/crypto/errors';
import { canonicalContext } from '../../lib/crypto/canonical';
import {
  aadDocumentPart,
  createFieldEncryptor,
  DOCUMENT_FIELD,
  envelopeBytes,
  ENVELOPE_HEADER_BYTES,
  ENVELOPE_SUBTYPE,
  fieldAad,
  openEnvelope,
  openRecord,
  openRecordEnvelope,
  openValue,
  readKeyRef,
  sealRecord,
  sealValue,
  type FieldContext,
  type PlainValue,
} from '../../lib/crypto/fields';
import type { KeyVault } from '../../lib/crypto/key-vault';
import { localKey, memoryVault, tempDir } from './kit';

const keys = tempDir();
let vault: KeyVault;
let fe: ReturnType<typeof createFieldEncryptor>;

const doc = new Types.ObjectId();
const ctx: FieldContext = { tenantId: 'tenant-a', collection: 'shipments', field: 'recipient.phone', documentId: doc };

beforeAll(async () => {
  vault = memoryVault(await localKey(keys.dir));
  fe = createFieldEncryptor({ vault });
});
afterAll(() => keys.cleanup());

async function expectDecryptionFailed(p: Promise<unknown>, reason?: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DecryptionFailedError);
  expect((err as DecryptionFailedError).code).toBe('DECRYPTION_FAILED');
  expect((err as DecryptionFailedError).message).toBe('Decryption failed');
  if (reason) expect((err as DecryptionFailedError).reason).toBe(reason);
}

describe('field encryption round trips', () => {
  const values: Array<[string, PlainValue]> = [
    ['a string', 'Jane Doe'],
    ['an empty string', ''],
    ['non-ASCII text', 'Zoë Ångström — 東京都 🚚'],
    ['an integer', 42],
    ['a negative fraction', -1234.5678],
    ['a large number', Number.MAX_SAFE_INTEGER],
    ['true', true],
    ['false', false],
    ['a Date', new Date('1990-04-01T00:00:00.000Z')],
    ['an object', { line1: '1 Main St', postalCode: 'SW1A 1AA', floors: [1, 2], gate: null, lift: true }],
    ['an array', ['+44 20 7946 0958', '+44 20 7946 0959']],
  ];

  it.each(values)('returns %s with its type', async (_name, value) => {
    const envelope = await fe.encryptValue(value, ctx);
    const back = await fe.decryptValue(envelope, ctx);
    expect(back).toEqual(value);
    expect(typeof back).toBe(typeof value);
  });

  it('writes a Binary of subtype 0x80 whose header names the data key and version', async () => {
    const envelope = await fe.encryptValue('Jane', ctx);
    expect(envelope).toBeInstanceOf(Binary);
    expect(envelope.sub_type).toBe(ENVELOPE_SUBTYPE);
    const key = await vault.dataKeyFor({ tenantId: 'tenant-a' });
    expect(readKeyRef(envelope)).toEqual({ keyId: key.id, version: 1 });
    // header + type byte + 4 bytes of "Jane": GCM adds no padding
    expect(envelope.length()).toBe(ENVELOPE_HEADER_BYTES + 1 + 4);
    expect(Buffer.from(envelope.buffer).includes(Buffer.from('Jane'))).toBe(false);
  });

  it('uses a fresh nonce each time: equal values give different envelopes', async () => {
    const a = await fe.encryptValue('same', ctx);
    const b = await fe.decryptValue(await fe.encryptValue('same', ctx), ctx);
    expect(b).toBe('same');
    expect(Buffer.from(a.buffer).equals(Buffer.from((await fe.encryptValue('same', ctx)).buffer))).toBe(false);
  });

  it('accepts a string document id and a plain Buffer envelope (as mongoose hands back)', async () => {
    const c = { ...ctx, documentId: 'order-77' };
    const envelope = await fe.encryptValue('x', c);
    expect(await fe.decryptValue(Buffer.from(envelope.buffer.subarray(0, envelope.position)), c)).toBe('x');
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a function', () => 1],
    ['a Map', new Map()],
    ['an invalid Date', new Date('nope')],
  ])('refuses %s', async (_name, value) => {
    await expect(fe.encryptValue(value as unknown as PlainValue, ctx)).rejects.toBeInstanceOf(UnsupportedValueError);
  });

  it('refuses a context without a usable document id', async () => {
    await expect(fe.encryptValue('x', { ...ctx, documentId: {} as unknown as string })).rejects.toThrow(TypeError);
  });
});

describe('associated data: a ciphertext only opens where it was written', () => {
  it('is the canonical encoding of tenant, collection, field, document, key id and version', () => {
    const ref = { keyId: 'ab'.repeat(16), version: 7 };
    expect(fieldAad({ ...ctx, tenantId: 'tenant-ü' }, ref)).toEqual(
      canonicalContext('tracksafe/field', {
        tenant: 'tenant-ü',
        collection: 'shipments',
        field: 'recipient.phone',
        document: doc.toHexString(),
        key: ref.keyId,
        keyVersion: '7',
        format: '1',
      }),
    );
  });

  let envelope: Binary;
  beforeAll(async () => {
    envelope = await fe.encryptValue('+44 20 7946 0958', ctx);
  });

  it('opens on the fast path exactly where fieldAad sealed it: document, field and key parts add up to the same bytes', async () => {
    const key = await vault.dataKeyFor({ tenantId: 'tenant-ü' });
    for (const [collection, documentId, field] of [
      ['shipments', doc.toHexString(), 'recipient.phone'],
      ['événements', 'doc-ü-1', 'location.postalCode'],
      ['u', 'x'.repeat(300), 'a.b.c.d'],
    ]) {
      const sealed = sealValue('Zoë', key, { tenantId: 'tenant-ü', collection, documentId, field });
      expect(openEnvelope(envelopeBytes(sealed), key, aadDocumentPart(collection, documentId), field)).toBe('Zoë');
      expect(() => openEnvelope(envelopeBytes(sealed), key, aadDocumentPart(collection, `${documentId}x`), field)).toThrow(DecryptionFailedError);
      expect(() => openEnvelope(envelopeBytes(sealed), key, aadDocumentPart(collection, documentId), `${field}x`)).toThrow(DecryptionFailedError);
    }
  });

  it('refuses on the fast path a key other than the one the envelope names', async () => {
    const other = await vault.dataKeyFor({ tenantId: 'tenant-other' });
    const key = await vault.dataKeyById(readKeyRef(envelope).keyId);
    const part = aadDocumentPart(ctx.collection, doc.toHexString());
    expect(openEnvelope(envelopeBytes(envelope), key, part, ctx.field)).toBe('+44 20 7946 0958');
    let err: unknown;
    try {
      openEnvelope(envelopeBytes(envelope), other, part, ctx.field);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecryptionFailedError);
    expect((err as DecryptionFailedError).reason).toBe('KEY_NOT_FOUND');
  });

  it('fails in another document', async () => {
    await expectDecryptionFailed(fe.decryptValue(envelope, { ...ctx, documentId: new Types.ObjectId() }), 'AUTHENTICATION');
  });

  it('fails in another field', async () => {
    await expectDecryptionFailed(fe.decryptValue(envelope, { ...ctx, field: 'recipient.email' }), 'AUTHENTICATION');
  });

  it('fails in another collection', async () => {
    await expectDecryptionFailed(fe.decryptValue(envelope, { ...ctx, collection: 'proofs' }), 'AUTHENTICATION');
  });

  it('fails in another tenant: its key belongs to tenant-a', async () => {
    await expectDecryptionFailed(fe.decryptValue(envelope, { ...ctx, tenantId: 'tenant-b' }), 'KEY_NOT_FOUND');
  });

  it('binds the tenant into the tag too, not only the key lookup', async () => {
    const key = await vault.dataKeyById(readKeyRef(envelope).keyId);
    expect(openValue(envelope, key, ctx)).toBe('+44 20 7946 0958');
    expect(() => openValue(envelope, key, { ...ctx, tenantId: 'tenant-b' })).toThrow(DecryptionFailedError);
  });

  it.each([
    ['the format byte', 0],
    ['the key id', 5],
    ['the key version', 20],
    ['the nonce', 25],
    ['the tag', 40],
    ['the ciphertext', 50],
  ])('fails when %s is flipped', async (_name, offset) => {
    const bytes = Buffer.from(envelope.buffer.subarray(0, envelope.position));
    bytes[offset] ^= 0x01;
    await expectDecryptionFailed(fe.decryptValue(new Binary(bytes, ENVELOPE_SUBTYPE), ctx));
  });

  it('fails on a truncated envelope, another Binary subtype, or a string', async () => {
    const bytes = Buffer.from(envelope.buffer.subarray(0, envelope.position));
    await expectDecryptionFailed(fe.decryptValue(new Binary(bytes.subarray(0, 40), ENVELOPE_SUBTYPE), ctx), 'MALFORMED');
    await expectDecryptionFailed(fe.decryptValue(new Binary(bytes, 0), ctx), 'MALFORMED');
    await expectDecryptionFailed(fe.decryptValue(bytes.toString('base64'), ctx), 'MALFORMED');
  });
});

describe('per-subject keys', () => {
  const alice = { ...ctx, subjectId: 'recipient-alice' };

  it('encrypts personal data under the subject key, not the tenant key', async () => {
    const envelope = await fe.encryptValue('Alice', alice);
    const subjectKey = await vault.dataKeyFor({ tenantId: 'tenant-a', subjectId: 'recipient-alice' });
    const tenantKey = await vault.dataKeyFor({ tenantId: 'tenant-a' });
    expect(readKeyRef(envelope).keyId).toBe(subjectKey.id);
    expect(subjectKey.id).not.toBe(tenantKey.id);
    expect(await fe.decryptValue(envelope, alice)).toBe('Alice');
    // Decryption does not need the subject: the envelope names the key.
    expect(await fe.decryptValue(envelope, ctx)).toBe('Alice');
  });

  it("refuses to open another subject's value when the caller names the subject", async () => {
    const envelope = await fe.encryptValue('Alice', alice);
    await expectDecryptionFailed(fe.decryptValue(envelope, { ...alice, subjectId: 'recipient-bob' }), 'KEY_NOT_FOUND');
  });
});

describe('key-version mixing', () => {
  it('decrypts each envelope with the version it names after the data key rotates', async () => {
    const tenant = { ...ctx, tenantId: 'tenant-rot' };
    const v1 = await Promise.all(['a', 'b', 'c'].map((v, i) => fe.encryptValue(v, { ...tenant, documentId: `d${i}` })));
    const info = await vault.newDataKeyVersion({ tenantId: 'tenant-rot' });
    expect(info.version).toBe(2);
    const v2 = await Promise.all(['d', 'e'].map((v, i) => fe.encryptValue(v, { ...tenant, documentId: `e${i}` })));
    expect(v1.map((e) => readKeyRef(e).version)).toEqual([1, 1, 1]);
    expect(v2.map((e) => readKeyRef(e).version)).toEqual([2, 2]);
    vault.clearCache(); // as another process would: nothing cached
    expect(await Promise.all(v1.map((e, i) => fe.decryptValue(e, { ...tenant, documentId: `d${i}` })))).toEqual(['a', 'b', 'c']);
    expect(await Promise.all(v2.map((e, i) => fe.decryptValue(e, { ...tenant, documentId: `e${i}` })))).toEqual(['d', 'e']);
  });

  it('fails when an envelope claims a version its key does not have', async () => {
    const tenant = { ...ctx, tenantId: 'tenant-rot' };
    const e = await fe.encryptValue('x', tenant);
    const bytes = Buffer.from(e.buffer.subarray(0, e.position));
    bytes.writeUInt32BE(readKeyRef(e).version - 1, 17);
    await expectDecryptionFailed(fe.decryptValue(new Binary(bytes, ENVELOPE_SUBTYPE), tenant), 'KEY_NOT_FOUND');
  });
});

describe('document envelopes (records)', () => {
  const docCtx = { tenantId: 'tenant-a', collection: 'shipments', documentId: doc };
  const record = new Map<string, PlainValue>([
    ['recipient.name', 'Zoë Ångström'],
    ['recipient.born', new Date('1990-04-01T12:34:56.789Z')],
    ['score', Number.NaN],
    ['zero', -0],
    ['flag', false],
    ['empty', ''],
    ['proofOfDelivery.geo', { latitude: 52.52, longitude: 13.4, accuracyMeters: null }],
    ['proofOfDelivery.photoRefs', ['demo://a.jpg', 'demo://b.jpg']],
  ]);

  it('returns every value with its exact type: a Date stays a Date, NaN and -0 stay themselves (JSON would not)', async () => {
    const key = await vault.dataKeyFor({ tenantId: 'tenant-a' });
    const sealed = sealRecord(record, key, docCtx);
    expect(sealed.sub_type).toBe(ENVELOPE_SUBTYPE);
    const back = openRecord(sealed, key, docCtx);
    expect([...back.keys()].sort()).toEqual([...record.keys()].sort());
    expect(back.get('recipient.born')).toBeInstanceOf(Date);
    expect((back.get('recipient.born') as Date).getTime()).toBe((record.get('recipient.born') as Date).getTime());
    expect(Number.isNaN(back.get('score'))).toBe(true);
    expect(Object.is(back.get('zero'), -0)).toBe(true);
    for (const k of ['recipient.name', 'flag', 'empty', 'proofOfDelivery.geo', 'proofOfDelivery.photoRefs']) expect(back.get(k)).toEqual(record.get(k));
    // The fast path gives the same.
    expect(openRecordEnvelope(envelopeBytes(sealed), key, aadDocumentPart('shipments', doc.toHexString())).get('recipient.name')).toBe('Zoë Ångström');
  });

  it('is bound to its document as a field is, under the field name *, and is no field', async () => {
    const key = await vault.dataKeyFor({ tenantId: 'tenant-a' });
    const sealed = sealRecord(record, key, docCtx);
    expect(() => openRecord(sealed, key, { ...docCtx, documentId: new Types.ObjectId() })).toThrow(DecryptionFailedError);
    expect(() => openRecord(sealed, key, { ...docCtx, collection: 'users' })).toThrow(DecryptionFailedError);
    // A record opened as a field fails on its tag, even as the field *, where its type byte is refused besides.
    expect(() => openValue(sealed, key, { ...docCtx, field: 'recipient.name' })).toThrow(DecryptionFailedError);
    expect(() => openValue(sealed, key, { ...docCtx, field: DOCUMENT_FIELD })).toThrow(expect.objectContaining({ reason: 'MALFORMED' }));
    // And a field envelope is no record, even sealed under the field *.
    expect(() => openRecord(sealValue('x', key, { ...docCtx, field: 'recipient.name' }), key, docCtx)).toThrow(expect.objectContaining({ reason: 'AUTHENTICATION' }));
    expect(() => openRecord(sealValue('x', key, { ...docCtx, field: DOCUMENT_FIELD }), key, docCtx)).toThrow(expect.objectContaining({ reason: 'MALFORMED' }));
  });

  it('refuses an empty record and values it cannot encrypt', async () => {
    const key = await vault.dataKeyFor({ tenantId: 'tenant-a' });
    expect(() => sealRecord(new Map(), key, docCtx)).toThrow(UnsupportedValueError);
    expect(() => sealRecord(new Map<string, PlainValue>([['a', null as unknown as PlainValue]]), key, docCtx)).toThrow(UnsupportedValueError);
  });
});
