// Object ids: random v4 UUIDs in the database, Relay global ids (`Type:uuid`, base64) in the
// API. builder.ts refuses global ids without a UUID inside, so services get UUIDs only.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a canonical UUID string (ids are checked before they reach the database). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
