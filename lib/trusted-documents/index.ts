/**
 * Trusted documents (persisted operations): manifests per registered app,
 * how they are built from `.graphql` files (scripts/trusted-documents.ts)
 * and the store the gateway reads them from (gateway/hardening/trusted-documents.ts).
 */
export { APP_NAME, type Manifest, type TrustedOperation, TrustedDocumentsError, buildManifest, documentId, trustedOperations, validateManifest } from './manifest';
export { TRUSTED_DOCUMENTS_DIR, TrustedDocumentStore } from './store';
