/**
 * The SQLite schema as an ordered list of migrations; `PRAGMA user_version` records how many have run.
 * Append new migrations at the end, never edit a released one.
 */

/** The migrations, in order: index `i` brings `user_version` from `i` to `i + 1`. */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE payloads (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL,
    raw_body TEXT NOT NULL,
    status TEXT NOT NULL,          -- 'accepted' | 'invalid' | 'replayed'
    error TEXT,
    replayed_at TEXT
  );
  CREATE INDEX payloads_invalid ON payloads (id) WHERE status = 'invalid';

  CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    payload_id INTEGER,
    phone_number_id TEXT,
    connection_id TEXT,
    kind TEXT NOT NULL,            -- 'contact' | 'message' | 'update' | 'meta'
    lane TEXT NOT NULL,            -- 'live' | 'history'
    thread_key TEXT NOT NULL,
    target_key TEXT,
    sort_key INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before INTEGER NOT NULL DEFAULT 0
  );
  -- Bodies live apart so that state changes rewrite small rows only (a backfill updates every row once).
  CREATE TABLE event_bodies (
    seq INTEGER PRIMARY KEY,
    body TEXT NOT NULL
  );
  -- The work queue: only pending rows are indexed, so finished work costs nothing to skip; the index covers
  -- what a claim scans (thread, delay), so skipping blocked threads never reads an event body.
  CREATE INDEX events_queue ON events (connection_id, kind, lane, sort_key, seq, thread_key, not_before)
    WHERE state = 'pending';
  CREATE INDEX events_waiting ON events (connection_id, target_key) WHERE state = 'waiting';
  -- Rare states, indexed so status and routing never scan the finished history.
  CREATE INDEX events_parked ON events (state, phone_number_id) WHERE state IN ('waiting', 'unrouted', 'dead');

  CREATE TABLE contacts (
    connection_id TEXT NOT NULL,
    key TEXT NOT NULL,
    crm_id TEXT NOT NULL,
    parent_id TEXT,
    PRIMARY KEY (connection_id, key)
  ) WITHOUT ROWID;

  CREATE TABLE messages (
    connection_id TEXT NOT NULL,
    key TEXT NOT NULL,
    crm_id TEXT NOT NULL,
    PRIMARY KEY (connection_id, key)
  ) WITHOUT ROWID;

  CREATE TABLE threads (
    connection_id TEXT NOT NULL,
    thread_key TEXT NOT NULL,
    last_crm_id TEXT NOT NULL,
    PRIMARY KEY (connection_id, thread_key)
  ) WITHOUT ROWID;

  CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    connection_id TEXT,
    phone_number_id TEXT,
    reason TEXT NOT NULL,
    error_kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    replayed_at TEXT
  );

  CREATE TABLE counters (
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (scope, name)
  ) WITHOUT ROWID;

  CREATE TABLE documents (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // 2: chat cards read a conversation by thread, and a CRM contact id back to its contact keys.
  `
  CREATE INDEX events_thread ON events (thread_key);
  CREATE INDEX contacts_crm_id ON contacts (connection_id, crm_id);
  `,
  // 3: random-key indexes leave the ingest transaction. A webhook's events hit random pages of every index on a
  // random key (event id, thread key), and an ingest commit must write each such page: that was most of the cost
  // of an ack. `events` loses its UNIQUE event id and its thread index; `event_keys` (dedupe) and `thread_events`
  // (chat cards) are filled behind the ingest in large batches, up to the watermark `store_state.indexed_seq`;
  // rows above it are indexed in memory, rebuilt from `events` on open (see sqlite-store.ts). The pending queue is
  // mirrored in memory too, so its index shrinks to what `countOpen` groups by.
  `
  CREATE TABLE events_v3 (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload_id INTEGER,
    phone_number_id TEXT,
    connection_id TEXT,
    kind TEXT NOT NULL,            -- 'contact' | 'message' | 'update' | 'meta'
    lane TEXT NOT NULL,            -- 'live' | 'history'
    thread_key TEXT NOT NULL,
    target_key TEXT,
    sort_key INTEGER NOT NULL,
    state TEXT NOT NULL,           -- 'pending' | 'waiting' | 'done' | 'dead' | 'unrouted'
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before INTEGER NOT NULL DEFAULT 0
  );
  INSERT INTO events_v3 (seq, event_id, event_type, payload_id, phone_number_id, connection_id, kind, lane,
    thread_key, target_key, sort_key, state, attempts, not_before)
    SELECT seq, event_id, event_type, payload_id, phone_number_id, connection_id, kind, lane, thread_key,
      target_key, sort_key, state, attempts, not_before FROM events;
  DROP TABLE events;
  ALTER TABLE events_v3 RENAME TO events;
  CREATE INDEX events_pending ON events (phone_number_id, kind, lane) WHERE state = 'pending';
  CREATE INDEX events_waiting ON events (connection_id, target_key) WHERE state = 'waiting';
  CREATE INDEX events_parked ON events (state, phone_number_id) WHERE state IN ('waiting', 'unrouted', 'dead');

  CREATE TABLE event_keys (
    event_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO event_keys (event_id, seq) SELECT event_id, seq FROM events;

  CREATE TABLE thread_events (
    thread_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (thread_key, seq)
  ) WITHOUT ROWID;
  INSERT INTO thread_events (thread_key, seq) SELECT thread_key, seq FROM events;

  CREATE TABLE store_state (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO store_state (name, value) VALUES ('indexed_seq', (SELECT coalesce(max(seq), 0) FROM events));
  `,
  // 4: the dedupe index on a 53-bit hash of the event id instead of the id itself (`coexist_event_hash`, registered
  // by the store before migrating; see `event-id-hash.ts`). A row is 2 integers instead of a ~60-character wamid,
  // so a group commit's catch-up dirties a fraction of the pages. A hit is confirmed against `events.event_id`
  // (same `seq`), so a hash collision never hides a new event.
  `
  CREATE TABLE event_hashes (
    hash INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (hash, seq)
  ) WITHOUT ROWID;
  INSERT INTO event_hashes (hash, seq) SELECT coexist_event_hash(event_id), seq FROM event_keys ORDER BY 1, 2;
  DROP TABLE event_keys;
  `,
  // 5: the pending rows lose their index. Claims read the in-memory mirror, so the index only served the scan that
  // rebuilds the mirror on open and `countOpen`, yet every ingested row was inserted into it and every finished row
  // deleted from it (~10% of a backfill's SQLite time, measured with the engine benchmark). Instead the store keeps
  // `store_state.pending_from`, a seq no pending row is below, and those two reads scan the rowid range above it.
  `
  INSERT INTO store_state (name, value) VALUES ('pending_from',
    (SELECT coalesce(min(seq), (SELECT coalesce(max(seq), 0) + 1 FROM events)) FROM events WHERE state = 'pending'))
    ON CONFLICT (name) DO UPDATE SET value = excluded.value;
  DROP INDEX events_pending;
  `,
  // 6: a message's CRM id goes on the row of the event that carried it (`message:<wamid>`). That row is rewritten in
  // the same commit anyway (its state becomes done), while a row in `messages` — a B-tree keyed by a random wamid —
  // dirtied a page of its own: ~22% of a backfill's bytes written (engine benchmark). `messages` keeps the records
  // written before this migration and those no stored event carried; reads look in both.
  `
  ALTER TABLE events ADD COLUMN crm_id TEXT;
  `,
  // 7: the thread index on a 53-bit hash of the thread key (`coexist_event_hash`, the same hash as the dedupe
  // index's) instead of the key itself: a row is 2 integers instead of a ~45-character key, so a group commit's
  // catch-up dirties a fraction of the pages (~60 MB of the ~350 MB the engine benchmark wrote went to
  // `thread_events`). A hit is confirmed against `events.thread_key`.
  `
  CREATE TABLE thread_hashes (
    hash INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (hash, seq)
  ) WITHOUT ROWID;
  INSERT INTO thread_hashes (hash, seq) SELECT coexist_event_hash(thread_key), seq FROM thread_events ORDER BY 1, 2;
  DROP TABLE thread_events;
  `,
  // 8: a message's CRM id in a narrow table keyed by the seq of the event that carried it, instead of on that event's
  // row (migration 6). Writing the id made the row longer, and a longer row no longer fits its full page (~16 rows
  // a page): SQLite rebalances the page with its siblings for nearly every message — ~9 µs a message, the costliest
  // statement of a group commit (463 ms of the engine benchmark's ~2 s in SQLite, line-level profile). Rows here are
  // a seq and an id (~100 a page), appended near the end of the table; the event's row only changes state, which
  // never makes it longer ('pending' → 'done').
  `
  CREATE TABLE message_crm_ids (
    seq INTEGER PRIMARY KEY,
    crm_id TEXT NOT NULL
  );
  INSERT INTO message_crm_ids (seq, crm_id) SELECT seq, crm_id FROM events WHERE crm_id IS NOT NULL ORDER BY seq;
  UPDATE events SET crm_id = NULL WHERE crm_id IS NOT NULL;
  `,
  // 9: a row in `message_crm_ids` marks its event done. A group commit wrote `state = 'done'` on a finished message
  // event's row beside the row it wrote here in the same transaction; now it leaves that update out (after the ids,
  // the costliest statement of a group commit: ~6% of the engine benchmark's time) and only a carrier finishing in
  // the commit creates a row, so an event still `pending` in the file with a row here is done. Schema 8 also put here
  // ids that an outcome of another event brought, possibly for an event still pending: those move to `messages`.
  // No row below `pending_from` is pending (migration 5), so only the rows above it are read.
  `
  INSERT INTO messages (connection_id, key, crm_id)
    SELECT coalesce(e.connection_id, ''), substr(e.event_id, 9), m.crm_id
    FROM message_crm_ids m JOIN events e ON e.seq = m.seq
    WHERE m.seq >= coalesce((SELECT value FROM store_state WHERE name = 'pending_from'), 0)
      AND e.state = 'pending' AND e.event_id LIKE 'message:%'
    ON CONFLICT (connection_id, key) DO UPDATE SET crm_id = excluded.crm_id;
  DELETE FROM message_crm_ids WHERE seq IN (
    SELECT seq FROM events
    WHERE seq >= coalesce((SELECT value FROM store_state WHERE name = 'pending_from'), 0) AND state = 'pending');
  `,
];
