/**
 * The one SCIM filter supported: `userName eq "<value>"` (attribute name
 * and operator case-insensitive, the value a JSON string). Anything else
 * is refused with `invalidFilter` rather than half-understood.
 */
import { ScimError } from './errors';

const USER_NAME_EQ = /^\s*userName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i;

/** The user name to match, or undefined when there is no filter. */
export function parseUserNameFilter(filter: string | null): string | undefined {
  if (filter === null) return undefined;
  const match = USER_NAME_EQ.exec(filter);
  if (!match) throw new ScimError(400, 'Only the filter userName eq "<value>" is supported', 'invalidFilter');
  try {
    return JSON.parse(`"${match[1]}"`) as string;
  } catch {
    throw new ScimError(400, 'The filter value is not a valid string', 'invalidFilter');
  }
}
