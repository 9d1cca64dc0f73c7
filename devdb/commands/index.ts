/**
 * The command table: command name → handler. A name not in this table is
 * answered with CommandNotFound (59) naming it — never a hang or a silent ok.
 */
import * as admin from './admin';
import { aggregate } from './aggregate';
import * as catalog from './catalog';
import * as crud from './crud';
import type { Handler } from './context';

export const COMMANDS: Record<string, Handler> = {
  hello: admin.hello,
  isMaster: admin.isMaster,
  ismaster: admin.isMaster,
  ping: admin.ping,
  buildInfo: admin.buildInfo,
  buildinfo: admin.buildInfo,
  serverStatus: admin.serverStatus,
  getParameter: admin.getParameter,
  connectionStatus: admin.connectionStatus,
  whatsmyuri: admin.whatsmyuri,
  listDatabases: catalog.listDatabases,
  listCollections: catalog.listCollections,
  create: catalog.create,
  drop: catalog.drop,
  dropDatabase: catalog.dropDatabase,
  createIndexes: catalog.createIndexes,
  listIndexes: catalog.listIndexes,
  dropIndexes: catalog.dropIndexes,
  deleteIndexes: catalog.dropIndexes,
  insert: crud.insert,
  find: crud.find,
  getMore: crud.getMore,
  killCursors: crud.killCursors,
  update: crud.update,
  delete: crud.remove,
  findAndModify: crud.findAndModify,
  findandmodify: crud.findAndModify,
  count: crud.count,
  distinct: crud.distinct,
  aggregate,
};

/** Commands that may run inside a multi-document transaction. */
export const TRANSACTIONAL = new Set(['find', 'getMore', 'killCursors', 'insert', 'update', 'delete', 'findAndModify', 'findandmodify', 'aggregate', 'distinct', 'count', 'create', 'createIndexes', 'commitTransaction', 'abortTransaction']);
