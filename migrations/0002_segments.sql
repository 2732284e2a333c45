-- Segment metadata after Druid's druid_segments and druid_pendingSegments.
-- Intervals are kept both as Druid writes them (ISO text, in the payload) and as epoch millis
-- for range queries; the payload is Druid's DataSegment / SegmentIdWithShardSpec JSON.
CREATE TABLE segments (
  id TEXT PRIMARY KEY,
  datasource TEXT NOT NULL,
  created_date TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  partitioned INTEGER NOT NULL DEFAULT 1,
  version TEXT NOT NULL,
  partition_num INTEGER NOT NULL,
  used INTEGER NOT NULL,
  used_status_last_updated TEXT NOT NULL,
  task_id TEXT,
  num_rows INTEGER,
  payload TEXT NOT NULL
);
CREATE INDEX segments_datasource_used_time ON segments (datasource, used, start_ms, end_ms);
CREATE INDEX segments_task ON segments (task_id);

CREATE TABLE pending_segments (
  id TEXT PRIMARY KEY,
  datasource TEXT NOT NULL,
  created_date TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  sequence_name TEXT NOT NULL,
  sequence_prev_id TEXT NOT NULL,
  sequence_name_prev_id_sha1 TEXT NOT NULL UNIQUE,
  task_allocator_id TEXT,
  payload TEXT NOT NULL
);
CREATE INDEX pending_segments_datasource_time ON pending_segments (datasource, start_ms, end_ms);
CREATE INDEX pending_segments_allocator ON pending_segments (task_allocator_id);
