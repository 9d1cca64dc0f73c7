/**
 * devdb: an embedded MongoDB-wire-compatible store for development, tests
 * and the zero-setup start. Production uses MongoDB. See README.md.
 */
export { startDevDb, type DevDb, type DevDbOptions, type DevDbStats, type DevDbLogger } from './server';
