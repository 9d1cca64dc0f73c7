/**
 * Internal to the journal: the on-disk record format, as pure functions over
 * buffers (no I/O here).
 *
 * ```
 * record  := u32le length | u32le crc | u8 type | body      length = 1 + body bytes
 * crc     := crc32 over the length field, then over type and body
 * HEADER  body: one BSON document { format, version, gen }
 * COMMIT  body: batch*             (one group commit, or one snapshot chunk)
 * batch   := u32le opCount | opCount BSON documents, one JournalOp each
 * END     body: one BSON document { records, ops }   (last record of a snapshot)
 * ```
 *
 * A whole group commit is ONE record. The kernel may persist any subset of
 * the pages of an unsynced write, so a torn group can leave valid-looking
 * bytes after a hole; because the group is one record with one crc, it is
 * all-or-nothing, and the next record is only written after this one's
 * fsync. Hence: a bad record with a valid record after it can only be real
 * damage to synced data, never a torn write.
 *
 * Ops are encoded one BSON document each, so a batch has no 16 MB limit.
 */
import { crc32 } from 'node:zlib';
import type { JournalBatch, JournalOp } from '../journal-types';
import { decode, encode } from '../bson-options';

export const FORMAT_VERSION = 1;

export const RecordType = { Header: 1, Commit: 2, End: 3 } as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** Bytes before the body: length, crc, type. */
export const RECORD_OVERHEAD = 9;
const MAX_LENGTH = 0xffff_ffff;

export interface FileHeader {
  format: 'devdb-journal' | 'devdb-snapshot';
  version: number;
  gen: number;
}

export interface RawRecord {
  type: RecordType;
  body: Buffer;
  offset: number;
  /** Offset just past this record. */
  end: number;
}

/**
 * One batch as bytes, ready to be one part of a COMMIT body. Encoding at
 * append() time captures the ops as they are at the call, whatever the
 * caller does to those objects afterwards.
 */
export function encodeBatch(batch: JournalBatch): Buffer {
  const docs = batch.map((op) => encode(op));
  let size = 4;
  for (const d of docs) size += d.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32LE(docs.length, 0);
  let at = 4;
  for (const d of docs) {
    out.set(d, at);
    at += d.length;
  }
  return out;
}

/**
 * Frames `parts` (concatenated) as one record. Returns the 9-byte prefix
 * followed by the parts themselves, for a vectored write without copying.
 */
export function frameRecord(type: RecordType, parts: readonly Uint8Array[]): Buffer[] {
  let length = 1;
  for (const p of parts) length += p.length;
  if (length > MAX_LENGTH) throw new RangeError(`journal record of ${length} bytes exceeds 4 GiB`);
  const prefix = Buffer.allocUnsafe(RECORD_OVERHEAD);
  prefix.writeUInt32LE(length, 0);
  prefix[8] = type;
  let crc = crc32(prefix.subarray(0, 4));
  crc = crc32(prefix.subarray(8, 9), crc);
  for (const p of parts) crc = crc32(p, crc);
  prefix.writeUInt32LE(crc, 4);
  return [prefix, ...parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.length)))];
}

export function headerRecord(format: FileHeader['format'], gen: number): Buffer {
  return Buffer.concat(frameRecord(RecordType.Header, [encode({ format, version: FORMAT_VERSION, gen })]));
}

export function endRecord(records: number, ops: number): Buffer {
  return Buffer.concat(frameRecord(RecordType.End, [encode({ records, ops })]));
}

function isRecordType(t: number): t is RecordType {
  return t === RecordType.Header || t === RecordType.Commit || t === RecordType.End;
}

/** The record starting at `offset`, or null if there is no intact record there. */
export function readRecordAt(buf: Buffer, offset: number): RawRecord | null {
  if (buf.length - offset < RECORD_OVERHEAD) return null;
  const length = buf.readUInt32LE(offset);
  if (length < 1 || length > buf.length - offset - 8) return null;
  const type = buf[offset + 8];
  if (!isRecordType(type)) return null;
  const bodyLength = length - 1;
  // Cheap plausibility checks before the crc, so scanning garbage stays fast.
  if (type === RecordType.Commit) {
    if (bodyLength < 4) return null;
  } else {
    if (bodyLength < 5 || buf.readInt32LE(offset + RECORD_OVERHEAD) !== bodyLength) return null;
  }
  const crc = crc32(buf.subarray(offset + 8, offset + 8 + length), crc32(buf.subarray(offset, offset + 4)));
  if (crc !== buf.readUInt32LE(offset + 4)) return null;
  return { type, body: buf.subarray(offset + RECORD_OVERHEAD, offset + 8 + length), offset, end: offset + 8 + length };
}

export type ScanResult =
  | { kind: 'clean'; records: RawRecord[]; validEnd: number }
  /** Bad bytes from `validEnd` to the end of the file and no intact record among them. */
  | { kind: 'torn'; records: RawRecord[]; validEnd: number }
  /** A bad record at `badAt` with an intact record at `resumesAt` after it. */
  | { kind: 'corrupt'; records: RawRecord[]; badAt: number; resumesAt: number };

/** Splits a whole file into records, classifying whatever follows the last intact one. */
export function scanRecords(buf: Buffer): ScanResult {
  const records: RawRecord[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const rec = readRecordAt(buf, offset);
    if (!rec) {
      for (let q = offset + 1; q + RECORD_OVERHEAD <= buf.length; q++) {
        if (readRecordAt(buf, q)) return { kind: 'corrupt', records, badAt: offset, resumesAt: q };
      }
      return { kind: 'torn', records, validEnd: offset };
    }
    records.push(rec);
    offset = rec.end;
  }
  return { kind: 'clean', records, validEnd: offset };
}

/** Decodes a COMMIT body into its batches. Throws on malformed bytes (the crc matched, so that is a bug or damage). */
export function decodeCommit(body: Buffer): JournalBatch[] {
  const batches: JournalBatch[] = [];
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 4) throw new Error(`truncated batch at body offset ${at}`);
    const count = body.readUInt32LE(at);
    at += 4;
    const ops: JournalOp[] = [];
    for (let i = 0; i < count; i++) {
      if (body.length - at < 5) throw new Error(`truncated op at body offset ${at}`);
      const size = body.readInt32LE(at);
      if (size < 5 || size > body.length - at) throw new Error(`bad op size at body offset ${at}`);
      const op = decode(body.subarray(at, at + size));
      if (typeof op.op !== 'string') throw new Error(`op without a kind at body offset ${at}`);
      ops.push(op as JournalOp);
      at += size;
    }
    batches.push(ops);
  }
  return batches;
}

/** Decodes the single BSON document of a HEADER or END body. */
export function decodeDocBody(body: Buffer): Record<string, unknown> {
  return decode(body);
}
