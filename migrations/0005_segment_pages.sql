-- The metadata endpoints stream used segments page by page (metadata/segmentPages.ts): a keyset
-- on this index's order makes every page an index range scan that starts where the last ended
-- (no OFFSET, no sort of the table), in the order the endpoints answered in before they streamed
-- (datasource, start, version, partition), with the id last to make each key unique.
CREATE INDEX segments_used_order ON segments (used, datasource, start_ms, version, partition_num, id);
