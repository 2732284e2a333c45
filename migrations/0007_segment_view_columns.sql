-- What the Coordinator's segment view needs of each row, as plain columns: its sync (every row at
-- a cold start, a million at scale) then reads narrow columns without parsing each payload's JSON
-- (json_extract was ~40 % of a page's cost). core_partitions is the shard spec's core-partition
-- count as src/segments/dataSegment.ts corePartitionsOf derives it (0: any chunk is complete).
ALTER TABLE segments ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE segments ADD COLUMN core_partitions INTEGER NOT NULL DEFAULT 0;
UPDATE segments SET
  size = COALESCE(CAST(json_extract(payload, '$.size') AS INTEGER), 0),
  core_partitions = CASE json_extract(payload, '$.shardSpec.type')
    WHEN 'none' THEN 0 WHEN 'linear' THEN 0 WHEN 'tombstone' THEN 0 WHEN 'numbered_overwrite' THEN 0
    WHEN 'single' THEN MAX(COALESCE(json_extract(payload, '$.shardSpec.numCorePartitions'), 0), 0)
    WHEN 'range' THEN MAX(COALESCE(json_extract(payload, '$.shardSpec.numCorePartitions'), 0), 0)
    ELSE COALESCE(json_extract(payload, '$.shardSpec.partitions'), json_extract(payload, '$.shardSpec.numCorePartitions'), 0)
  END;
