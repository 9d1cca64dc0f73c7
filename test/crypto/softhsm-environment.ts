/**
 * Jest environment for test files that use SoftHSM2: gives the file its own
 * SoftHSM2 configuration and token folder (removed afterwards).
 *
 * Why an environment and not a `beforeAll`: SoftHSM2 reads SOFTHSM2_CONF
 * with getenv() when the module is initialised, and jest hands each test
 * file a copy of `process.env` that native code never sees. The environment
 * runs outside that sandbox, so it sets the worker's real variable (and the
 * file's copy) before the test file loads. Tokens are made by
 * `createSoftHsmToken` in ./kit.ts.
 *
 * Use with the docblock `@jest-environment <rootDir>/test/crypto/softhsm-environment.ts`.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import NodeEnvironment from 'jest-environment-node';

const LIB = process.env.SOFTHSM2_LIB || '/usr/lib/softhsm/libsofthsm2.so';

export default class SoftHsmEnvironment extends NodeEnvironment {
  private dir: string | undefined;
  private previous: string | undefined;

  override async setup(): Promise<void> {
    await super.setup();
    if (!existsSync(LIB)) return; // the tests skip themselves
    this.dir = mkdtempSync(path.join(tmpdir(), 'tracksafe-softhsm-'));
    const tokens = path.join(this.dir, 'tokens');
    mkdirSync(tokens, { mode: 0o700 });
    const conf = path.join(this.dir, 'softhsm2.conf');
    writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
    this.previous = process.env.SOFTHSM2_CONF;
    process.env.SOFTHSM2_CONF = conf;
    (this.global.process as NodeJS.Process).env.SOFTHSM2_CONF = conf;
  }

  override async teardown(): Promise<void> {
    if (this.dir) {
      if (this.previous === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = this.previous;
      rmSync(this.dir, { recursive: true, force: true });
    }
    await super.teardown();
  }
}
