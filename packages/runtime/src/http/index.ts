/**
 * @tributary/runtime/http: the HTTP server, its security headers and health routes.
 */
export { HSTS, PERMISSIONS_POLICY, securityHeaders } from './security-headers';
export { createServiceApp, readHttpTls, listen, type ReadinessCheck, type Listener, type HttpTlsFiles } from './service-app';
