-- The unused segments of a data source in id order (GET .../datasources/{ds}/unusedSegments,
-- keyset-paged by id with lastSegmentId): an index range scan per page instead of a sort of
-- every unused segment of the data source.
CREATE INDEX segments_datasource_used_id ON segments (datasource, used, id);
