/**
 * CSRF defence beside Apollo's `csrfPrevention`: the GraphQL endpoint never
 * accepts the bodies an HTML form can send cross-site without a preflight
 * (`application/x-www-form-urlencoded`, `multipart/form-data`); they are
 * refused with 415 before the body is read. (Mutations over GET are refused
 * by Apollo itself with 405.)
 */
import { HttpError, type HttpMiddleware } from '../http';

export const UNSUPPORTED_MEDIA_TYPE = 'UNSUPPORTED_MEDIA_TYPE';

const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data'];

export function refuseFormBodies(paths: readonly string[] = ['/graphql']): HttpMiddleware {
  return (req, _res, url) => {
    if (!paths.includes(url.pathname)) return false;
    const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (FORM_TYPES.includes(type)) throw new HttpError(415, UNSUPPORTED_MEDIA_TYPE, 'send GraphQL requests as application/json');
    return false;
  };
}
