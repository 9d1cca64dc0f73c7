/**
 * The trusted documents of every registered app, loaded once at start-up
 * from the manifests folder (a broken manifest stops the start: better no
 * gateway than one that trusts the wrong documents).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { type Manifest, TrustedDocumentsError, documentId, validateManifest } from './manifest';

/**
 * The folder of the checked-in manifests: `trusted-documents/` at the
 * repository root, from the sources or from the compiled `dist/`.
 */
export const TRUSTED_DOCUMENTS_DIR: string =
  [path.resolve(__dirname, '..', '..', 'trusted-documents'), path.resolve(__dirname, '..', '..', '..', 'trusted-documents')].find((dir) => existsSync(dir)) ??
  path.resolve(__dirname, '..', '..', 'trusted-documents');

export class TrustedDocumentStore {
  private readonly apps: ReadonlyMap<string, ReadonlyMap<string, string>>;

  constructor(manifests: Readonly<Record<string, Manifest>> = {}) {
    this.apps = new Map(Object.entries(manifests).map(([app, m]) => [app, new Map(Object.entries(validateManifest(app, m)))]));
  }

  /** Every `<app>.json` in `dir`; a missing folder is an empty store. */
  static fromDir(dir: string = TRUSTED_DOCUMENTS_DIR): TrustedDocumentStore {
    if (!existsSync(dir)) return new TrustedDocumentStore();
    const manifests: Record<string, Manifest> = {};
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      const app = file.slice(0, -'.json'.length);
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
      } catch (err) {
        throw new TrustedDocumentsError(`${file}: not JSON (${(err as Error).message})`);
      }
      manifests[app] = validateManifest(app, parsed);
    }
    return new TrustedDocumentStore(manifests);
  }

  /** Names of the registered apps. */
  appNames(): string[] {
    return [...this.apps.keys()];
  }

  isRegistered(app: string | undefined): app is string {
    return app !== undefined && this.apps.has(app);
  }

  /** The document `id` of `app`, or undefined (also for another app's document). */
  get(app: string, id: string): string | undefined {
    return this.apps.get(app)?.get(id.toLowerCase());
  }

  /** True when `text` is exactly one of `app`'s documents (a trusted document sent in full). */
  trusts(app: string, text: string): boolean {
    return this.apps.get(app)?.has(documentId(text)) ?? false;
  }

  /** Number of documents of `app`. */
  size(app: string): number {
    return this.apps.get(app)?.size ?? 0;
  }
}
