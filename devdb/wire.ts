/**
 * MongoDB wire protocol framing: parse OP_MSG and legacy OP_QUERY requests,
 * build OP_MSG and OP_REPLY responses. Pure functions over buffers; the
 * connection loop lives in server.ts.
 */
import type { Document } from 'bson';
import { decode, encode } from './bson-options';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

/** mongod's maxMessageSizeBytes: anything larger closes the connection. */
export const MAX_MESSAGE_BYTES = 48_000_000;
export const HEADER_BYTES = 16;

const FLAG_CHECKSUM_PRESENT = 1 << 0;
const FLAG_MORE_TO_COME = 1 << 1;

export class WireProtocolError extends Error {}

export interface MessageHeader {
  length: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

export interface ParsedRequest {
  header: MessageHeader;
  /** 'msg' for OP_MSG, 'query' for legacy OP_QUERY. */
  kind: 'msg' | 'query';
  /** The command document with kind-1 document sequences folded in under their identifiers. */
  command: Document;
  /** Database the command targets ($db for OP_MSG, the namespace prefix for OP_QUERY). */
  db: string;
  /** OP_MSG moreToCome: the client expects no reply. */
  moreToCome: boolean;
}

export function readHeader(buf: Buffer, offset = 0): MessageHeader {
  return {
    length: buf.readInt32LE(offset),
    requestId: buf.readInt32LE(offset + 4),
    responseTo: buf.readInt32LE(offset + 8),
    opCode: buf.readInt32LE(offset + 12),
  };
}

function readCString(buf: Buffer, offset: number, end: number): [string, number] {
  const zero = buf.indexOf(0, offset);
  if (zero < 0 || zero >= end) throw new WireProtocolError('unterminated cstring');
  return [buf.toString('utf8', offset, zero), zero + 1];
}

function readDocument(buf: Buffer, offset: number, end: number): [Document, number] {
  if (offset + 4 > end) throw new WireProtocolError('truncated document');
  const size = buf.readInt32LE(offset);
  if (size < 5 || offset + size > end) throw new WireProtocolError('bad document size');
  return [decode(buf.subarray(offset, offset + size)), offset + size];
}

/** Parses one complete message (header included). Throws WireProtocolError on anything malformed. */
export function parseRequest(msg: Buffer): ParsedRequest {
  const header = readHeader(msg);
  if (header.length !== msg.length) throw new WireProtocolError('length mismatch');
  if (header.opCode === OP_MSG) return parseOpMsg(msg, header);
  if (header.opCode === OP_QUERY) return parseOpQuery(msg, header);
  throw new WireProtocolError(`unsupported opCode ${header.opCode}`);
}

function parseOpMsg(msg: Buffer, header: MessageHeader): ParsedRequest {
  const flags = msg.readUInt32LE(HEADER_BYTES);
  // Required flag bits (0-15) we do not know must make us refuse the message.
  if (flags & 0xfffc) throw new WireProtocolError('unknown required OP_MSG flag');
  let end = msg.length;
  if (flags & FLAG_CHECKSUM_PRESENT) end -= 4;
  let offset = HEADER_BYTES + 4;
  let body: Document | undefined;
  const sequences: Array<[string, Document[]]> = [];
  while (offset < end) {
    const kind = msg[offset++];
    if (kind === 0) {
      if (body) throw new WireProtocolError('more than one body section');
      [body, offset] = readDocument(msg, offset, end);
    } else if (kind === 1) {
      if (offset + 4 > end) throw new WireProtocolError('truncated sequence');
      const size = msg.readInt32LE(offset);
      const seqEnd = offset + size;
      if (size < 5 || seqEnd > end) throw new WireProtocolError('bad sequence size');
      let id: string;
      [id, offset] = readCString(msg, offset + 4, seqEnd);
      const docs: Document[] = [];
      while (offset < seqEnd) {
        let doc: Document;
        [doc, offset] = readDocument(msg, offset, seqEnd);
        docs.push(doc);
      }
      sequences.push([id, docs]);
    } else {
      throw new WireProtocolError(`unknown section kind ${kind}`);
    }
  }
  if (!body) throw new WireProtocolError('missing body section');
  for (const [id, docs] of sequences) body[id] = docs;
  const db = typeof body.$db === 'string' ? body.$db : 'admin';
  return { header, kind: 'msg', command: body, db, moreToCome: (flags & FLAG_MORE_TO_COME) !== 0 };
}

function parseOpQuery(msg: Buffer, header: MessageHeader): ParsedRequest {
  let offset = HEADER_BYTES + 4; // flags
  let ns: string;
  [ns, offset] = readCString(msg, offset, msg.length);
  offset += 8; // numberToSkip, numberToReturn
  const [query] = readDocument(msg, offset, msg.length);
  const dot = ns.indexOf('.');
  const db = dot < 0 ? ns : ns.slice(0, dot);
  if (!ns.endsWith('.$cmd')) throw new WireProtocolError('legacy OP_QUERY is supported for commands only');
  // Legacy drivers wrap the command as { $query: {...}, $readPreference }.
  const command = query.$query && typeof query.$query === 'object' ? (query.$query as Document) : query;
  return { header, kind: 'query', command, db, moreToCome: false };
}

let nextResponseId = 1;

function frame(opCode: number, responseTo: number, payload: Buffer[]): Buffer {
  const length = HEADER_BYTES + payload.reduce((n, b) => n + b.length, 0);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeInt32LE(length, 0);
  header.writeInt32LE(nextResponseId++ & 0x7fffffff, 4);
  header.writeInt32LE(responseTo, 8);
  header.writeInt32LE(opCode, 12);
  return Buffer.concat([header, ...payload]);
}

export function buildOpMsg(responseTo: number, doc: Document): Buffer {
  const flagsAndKind = Buffer.alloc(5); // flags 0, section kind 0
  return frame(OP_MSG, responseTo, [flagsAndKind, Buffer.from(encode(doc))]);
}

export function buildOpReply(responseTo: number, doc: Document): Buffer {
  const fields = Buffer.alloc(20);
  fields.writeInt32LE(0, 0); // responseFlags
  fields.writeBigInt64LE(0n, 4); // cursorID
  fields.writeInt32LE(0, 12); // startingFrom
  fields.writeInt32LE(1, 16); // numberReturned
  return frame(OP_REPLY, responseTo, [fields, Buffer.from(encode(doc))]);
}
