/**
 * Handshake and server information: hello (a single-node replica set, so
 * drivers allow sessions, retryable writes and transactions), ping,
 * buildInfo, serverStatus and friends.
 */
import { ObjectId, type Document } from 'bson';
import type { CommandContext, Handler } from './context';

/** MongoDB 7.0's wire version. */
export const MAX_WIRE_VERSION = 21;
const ELECTION_ID = new ObjectId('7fffffff0000000000000001');

export function helloReply(ctx: CommandContext, legacy: boolean): Document {
  const me = `${ctx.server.host}:${ctx.server.port}`;
  const reply: Document = {
    helloOk: true,
    isWritablePrimary: true,
    secondary: false,
    setName: ctx.server.replSetName,
    setVersion: 1,
    hosts: [me],
    primary: me,
    me,
    electionId: ELECTION_ID,
    lastWrite: { lastWriteDate: new Date() },
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: ctx.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
  };
  // topologyVersion is left out on purpose: it switches drivers to streaming heartbeats.
  if (legacy) reply.ismaster = true;
  return reply;
}

export const hello: Handler = (ctx) => helloReply(ctx, false);
export const isMaster: Handler = (ctx) => helloReply(ctx, true);

export const ping: Handler = () => ({});

export const buildInfo: Handler = () => ({
  version: '7.0.0',
  gitVersion: 'devdb',
  versionArray: [7, 0, 0, 0],
  bits: 64,
  debug: false,
  maxBsonObjectSize: 16 * 1024 * 1024,
  storageEngines: ['devdb'],
  modules: [],
});

export const serverStatus: Handler = (ctx) => {
  const uptimeMillis = Date.now() - ctx.server.startedAt;
  const c = ctx.server.counters;
  return {
    host: `${ctx.server.host}:${ctx.server.port}`,
    version: '7.0.0',
    process: 'devdb',
    pid: process.pid,
    uptime: Math.floor(uptimeMillis / 1000),
    uptimeMillis,
    localTime: new Date(),
    connections: ctx.server.connections(),
    opcounters: {
      insert: c.insert ?? 0,
      query: c.find ?? 0,
      update: c.update ?? 0,
      delete: c.delete ?? 0,
      getmore: c.getMore ?? 0,
      command: Object.values(c).reduce((a, b) => a + b, 0),
    },
    metrics: { cursor: { open: { total: ctx.cursors.size } } },
  };
};

export const getParameter: Handler = (ctx) => {
  const out: Document = {};
  if (ctx.cmd.featureCompatibilityVersion !== undefined || ctx.cmd.getParameter === '*') out.featureCompatibilityVersion = { version: '7.0' };
  return out;
};

export const connectionStatus: Handler = () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] } });
export const whatsmyuri: Handler = () => ({ you: '127.0.0.1' });
