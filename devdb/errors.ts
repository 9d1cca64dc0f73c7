/**
 * MongoDB server errors as devdb raises them: the numeric `code` and
 * `codeName` are the ones mongod uses, so drivers and mongoose react the same
 * way (duplicate-key errors, transaction retries, cursor-not-found).
 */
import type { Document } from 'bson';

export const ErrorCodes = {
  InternalError: 1,
  BadValue: 2,
  NoSuchKey: 4,
  FailedToParse: 9,
  TypeMismatch: 14,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  NamespaceExists: 48,
  CommandNotFound: 59,
  ImmutableField: 66,
  PathNotViable: 28,
  InvalidOptions: 72,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  WriteConflict: 112,
  NoSuchTransaction: 251,
  TransactionTooOld: 225,
  OperationNotSupportedInTransaction: 263,
  DuplicateKey: 11000,
  Location40414: 40414,
  Location40324: 40324,
} as const;

export type ErrorCodeName = keyof typeof ErrorCodes;

const NAMES = new Map<number, string>(Object.entries(ErrorCodes).map(([name, code]) => [code, name]));

export class MongoServerError extends Error {
  readonly code: number;
  readonly codeName: string;
  /** Error labels the driver reads (TransientTransactionError …). */
  readonly labels: string[];
  /** Extra fields copied into the error reply or write error (keyPattern, keyValue …). */
  readonly extra: Document;

  constructor(codeName: ErrorCodeName, message: string, extra: Document = {}, labels: string[] = []) {
    super(message);
    this.code = ErrorCodes[codeName];
    this.codeName = NAMES.get(this.code) ?? codeName;
    this.extra = extra;
    this.labels = labels;
  }

  /** The `{ ok: 0 }` command reply. */
  toReply(): Document {
    const reply: Document = { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
    if (this.labels.length) reply.errorLabels = this.labels;
    return reply;
  }

  /** One entry of a write command's `writeErrors`. */
  toWriteError(index: number): Document {
    return { index, code: this.code, codeName: this.codeName, errmsg: this.message, ...this.extra };
  }
}

export function badValue(message: string): MongoServerError {
  return new MongoServerError('BadValue', message);
}

/** Wraps anything thrown (mingo errors, TypeErrors from bad input) into a server error; never leaks a stack. */
export function toServerError(err: unknown): MongoServerError {
  if (err instanceof MongoServerError) return err;
  // The journal could not make a write durable: a server fault, not the client's input.
  if (err && typeof err === 'object' && String((err as { code?: unknown }).code ?? '').startsWith('JOURNAL_')) {
    return new MongoServerError('InternalError', 'devdb could not make the write durable');
  }
  const message = err instanceof Error ? err.message : String(err);
  return new MongoServerError('BadValue', message);
}
