// Relay global ids ↔ database UUIDs.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { isUuid } from './media/media.service.ts';

/** Never an id of ours (ids are random v4 UUIDs): stands in for malformed ids in lookups. */
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/** The UUID inside a global id of `typename`, or null when it is not one. */
export function uuidOf(globalId: string, typename: string): string | null {
  try {
    const { typename: t, id } = decodeGlobalID(globalId);
    return t === typename && isUuid(id) ? id.toLowerCase() : null;
  } catch {
    return null;
  }
}
