/**
 * The devdb TCP server: accepts MongoDB wire-protocol connections, runs
 * each connection's commands in order, ties commands to sessions and
 * transactions, makes writes durable before acknowledging them, and runs
 * the TTL monitor. A malformed or oversized frame closes that connection
 * only; a failing command becomes an `{ ok: 0 }` reply.
 */
import { Timestamp, type Document } from 'bson';
import { createServer, type Socket } from 'node:net';
import { COMMANDS, TRANSACTIONAL } from './commands';
import type { CommandContext, ServerInfo } from './commands/context';
import { CursorRegistry } from './cursors';
import { ttlCutoff } from './engine/collection';
import { Store, type Transaction } from './engine/store';
import { MongoServerError, toServerError } from './errors';
import { Journal } from './journal';
import type { JournalOp } from './journal-types';
import { Sessions } from './sessions';
import { getPath, keyOf } from './values';
import { HEADER_BYTES, MAX_MESSAGE_BYTES, buildOpMsg, buildOpReply, parseRequest, WireProtocolError, type ParsedRequest } from './wire';

export interface DevDbLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface DevDbOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** Interface to bind. Anything but loopback must be asked for explicitly. @default '127.0.0.1' */
  host?: string;
  /** Folder for the journal and snapshots; without it devdb is memory-only. */
  dataDir?: string;
  /** How often the TTL monitor deletes expired documents (mongod: 60 s). @default 60000 */
  ttlIntervalMs?: number;
  /** Replica-set name presented in the handshake and the URI. @default 'devdb' */
  replSetName?: string;
  /** Compact the journal beyond this many bytes. @default 64 MiB */
  compactBytes?: number;
  /** Where devdb reports connection problems and journal failures (never document contents). @default silent */
  logger?: DevDbLogger;
}

export interface DevDbStats {
  /** Commands received, by command name. */
  commands: Record<string, number>;
  /** Reads and writes received, by `command:collection` (e.g. `find:shipments`). */
  byCollection: Record<string, number>;
}

export interface DevDb {
  /** Connection string for drivers, e.g. mongodb://127.0.0.1:27027/?replicaSet=devdb */
  uri: string;
  host: string;
  port: number;
  /** Runs the TTL pass now; resolves with the number of documents deleted. */
  runTtlMonitor(): Promise<number>;
  stats(): DevDbStats;
  resetStats(): void;
  /** Closes connections, flushes the journal, releases the data folder. */
  stop(): Promise<void>;
}

const silent: DevDbLogger = { info() {}, warn() {}, error() {} };

const COLLECTION_COMMANDS = new Set(['find', 'insert', 'update', 'delete', 'findAndModify', 'aggregate', 'count', 'distinct']);

export async function startDevDb(options: DevDbOptions = {}): Promise<DevDb> {
  const host = options.host ?? '127.0.0.1';
  const advertised = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const replSetName = options.replSetName ?? 'devdb';
  const logger = options.logger ?? silent;
  const store = new Store();
  const cursors = new CursorRegistry();
  const sessions = new Sessions(store);
  const counters: Record<string, number> = {};
  const byCollection: Record<string, number> = {};

  let journal: Journal | undefined;
  let compacting: Promise<void> | undefined;
  if (options.dataDir) {
    const opened = await Journal.open({ dir: options.dataDir, compactBytes: options.compactBytes });
    journal = opened.journal;
    for (const batch of opened.recovered) for (const op of batch) store.applyOp(op);
  }

  const sockets = new Set<Socket>();
  let totalConnections = 0;
  const info: ServerInfo = {
    host: advertised,
    port: 0,
    replSetName,
    startedAt: Date.now(),
    connections: () => ({ current: sockets.size, totalCreated: totalConnections }),
    counters,
  };

  let clusterSecond = 0;
  let clusterIncrement = 0;
  function clusterTime(): Timestamp {
    const now = Math.floor(Date.now() / 1000);
    if (now > clusterSecond) {
      clusterSecond = now;
      clusterIncrement = 0;
    }
    return new Timestamp({ t: clusterSecond, i: ++clusterIncrement });
  }

  /** Starts making ops durable now; returns what to wait for before replying. */
  function makeLog(pending: Promise<void>[]): (ops: JournalOp[]) => void {
    return (ops) => {
      if (!journal || !ops.length) return;
      pending.push(journal.append(ops.slice()));
      if (!compacting && journal.needsCompaction()) {
        compacting = journal
          .compact(() => store.dump())
          .catch((err) => logger.error('devdb journal compaction failed', { error: String(err) }))
          .finally(() => (compacting = undefined));
      }
    };
  }

  async function execute(req: ParsedRequest, connectionId: number): Promise<Document> {
    const cmd = req.command;
    const name = Object.keys(cmd)[0] ?? '';
    counters[name] = (counters[name] ?? 0) + 1;
    if (COLLECTION_COMMANDS.has(name) && typeof cmd[name] === 'string') {
      const k = `${name}:${cmd[name]}`;
      byCollection[k] = (byCollection[k] ?? 0) + 1;
    }
    const pending: Promise<void>[] = [];
    const log = makeLog(pending);
    let txn: Transaction | undefined;
    let reply: Document;
    try {
      txn = sessions.transactionFor(cmd);
      if (txn && !TRANSACTIONAL.has(name)) {
        throw new MongoServerError('OperationNotSupportedInTransaction', `Cannot run '${name}' in a multi-document transaction.`);
      }
      if (name === 'commitTransaction') {
        if (!txn) throw new MongoServerError('InvalidOptions', 'commitTransaction must be run within a transaction');
        sessions.commit(txn, log);
        reply = {};
      } else if (name === 'abortTransaction') {
        if (!txn) throw new MongoServerError('InvalidOptions', 'abortTransaction must be run within a transaction');
        sessions.abort(txn);
        reply = {};
      } else if (name === 'endSessions') {
        sessions.end(Array.isArray(cmd.endSessions) ? cmd.endSessions : []);
        reply = {};
      } else {
        const handler = Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
        if (!handler) throw new MongoServerError('CommandNotFound', `no such command: '${name}'`);
        const ctx: CommandContext = { db: req.db, cmd, store, cursors, server: info, connectionId, txn, log };
        reply = await handler(ctx);
      }
      await Promise.all(pending);
      return { ...reply, ok: 1 };
    } catch (err) {
      const e = toServerError(err);
      if (txn && name !== 'abortTransaction') sessions.failed(txn);
      await Promise.allSettled(pending);
      return e.toReply();
    }
  }

  async function respond(socket: Socket, req: ParsedRequest, connectionId: number): Promise<void> {
    const reply = await execute(req, connectionId);
    if (req.moreToCome || socket.destroyed) return;
    const now = clusterTime();
    reply.$clusterTime = { clusterTime: now, signature: { hash: Buffer.alloc(20), keyId: 0 } };
    reply.operationTime = now;
    socket.write(req.kind === 'msg' ? buildOpMsg(req.header.requestId, reply) : buildOpReply(req.header.requestId, reply));
  }

  const server = createServer((socket) => {
    const connectionId = ++totalConnections;
    sockets.add(socket);
    socket.setNoDelay(true);
    let buffered: Buffer = Buffer.alloc(0);
    let queue: Promise<void> = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      while (buffered.length >= 4) {
        const length = buffered.readInt32LE(0);
        if (length < HEADER_BYTES || length > MAX_MESSAGE_BYTES) {
          logger.warn('devdb closed a connection: bad message length', { connectionId, length });
          socket.destroy();
          return;
        }
        if (buffered.length < length) break;
        const msg = buffered.subarray(0, length);
        buffered = buffered.subarray(length);
        let req: ParsedRequest;
        try {
          req = parseRequest(Buffer.from(msg));
        } catch (err) {
          logger.warn('devdb closed a connection: malformed message', { connectionId, reason: err instanceof WireProtocolError ? err.message : 'invalid BSON' });
          socket.destroy();
          return;
        }
        queue = queue.then(() => respond(socket, req, connectionId)).catch((err) => {
          logger.error('devdb failed to answer a command', { connectionId, error: String(err) });
          socket.destroy();
        });
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  info.port = port;

  async function runTtlMonitor(): Promise<number> {
    const now = Date.now();
    const pending: Promise<void>[] = [];
    const log = makeLog(pending);
    let deleted = 0;
    for (const db of store.databaseNames()) {
      for (const coll of store.collections(db)) {
        for (const { field, seconds } of coll.ttlIndexes()) {
          const expired = [...coll.docs.values()].filter((d) => ttlCutoff(getPath(d, field), seconds, now)).map((d) => keyOf(d._id));
          const locked = new Set(store.lockedBy(coll, expired).length ? expired.filter((id) => store.lockedBy(coll, [id]).length) : []);
          const ops: JournalOp[] = [];
          for (const id of expired) {
            if (locked.has(id) || !coll.docs.has(id)) continue;
            store.writeCommitted(coll, id, null, ops);
            deleted++;
          }
          log(ops);
        }
      }
    }
    await Promise.all(pending);
    return deleted;
  }

  const ttlTimer = setInterval(() => {
    runTtlMonitor().catch((err) => logger.error('devdb TTL pass failed', { error: String(err) }));
  }, options.ttlIntervalMs ?? 60_000);
  ttlTimer.unref();

  let stopped: Promise<void> | undefined;
  return {
    uri: `mongodb://${advertised}:${port}/?replicaSet=${encodeURIComponent(replSetName)}`,
    host: advertised,
    port,
    runTtlMonitor,
    stats: () => ({ commands: { ...counters }, byCollection: { ...byCollection } }),
    resetStats: () => {
      for (const k of Object.keys(counters)) delete counters[k];
      for (const k of Object.keys(byCollection)) delete byCollection[k];
    },
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(ttlTimer);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
        });
        sessions.abortAll();
        await compacting;
        await journal?.close();
      })()),
  };
}
