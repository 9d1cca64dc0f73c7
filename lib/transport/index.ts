/**
 * Transport hardening for an HTTP server built with lib/http.ts: TLS 1.3,
 * security headers and HSTS, CORS allow-list, CSRF-safe content types,
 * client addresses behind proxies, security.txt; and their settings.
 */
export { clientIp, addressKey, isSecureRequest } from './client-ip';
export { cors, CORS_ORIGIN_REFUSED, type Cors } from './cors';
export { refuseFormBodies, UNSUPPORTED_MEDIA_TYPE } from './form-bodies';
export { securityHeaders, HSTS_VALUE, type SecurityHeadersOptions } from './security-headers';
export { securityTxt, securityTxtRoute, SECURITY_TXT_PATH } from './security-txt';
export { TRANSPORT_VARS, APOLLO_SANDBOX_ORIGINS, defaultTransportSettings, transportSettingsFrom, type TransportSettings, type TlsSettings, type SecurityTxtSettings } from './settings';
export { loadTls, generateSelfSigned, tlsServerOptions, TLS_PROTOCOL, TlsSetupError, type TlsMaterial } from './tls';
