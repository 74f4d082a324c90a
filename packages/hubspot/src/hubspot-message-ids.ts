/**
 * The wamid → communication id map of the look-up-before-retry path (when HubSpot refuses a unique
 * `coexist_message_id`). The adapter consults it first, then searches HubSpot for the keys it does not know.
 * Pass a durable implementation (a table in your database) so a crash does not empty it; the default lives in
 * memory and is rebuilt from HubSpot searches.
 */

/** A key → HubSpot id map; may be async to sit on a database. */
export interface HubSpotMessageIdMap {
  /** The known ids of `keys` (missing keys are absent from the result). */
  get(keys: readonly string[]): Promise<Map<string, string>> | Map<string, string>;
  /** Records written keys. */
  set(entries: readonly (readonly [key: string, crmId: string])[]): Promise<void> | void;
}

/** An in-memory `HubSpotMessageIdMap`. */
export function createMemoryMessageIdMap(): HubSpotMessageIdMap {
  const ids = new Map<string, string>();
  return {
    get(keys) {
      const found = new Map<string, string>();
      for (const key of keys) {
        const id = ids.get(key);
        if (id !== undefined) found.set(key, id);
      }
      return found;
    },
    set(entries) {
      for (const [key, crmId] of entries) ids.set(key, crmId);
    },
  };
}
