-- The change sequence must never go back: it was MAX(change_seq) + 1, and deleting the most
-- recently changed rows (a kill of segments just marked unused) lowered MAX, so the next change
-- reused a sequence the Coordinator had already read past and stayed invisible to its view. The
-- floor keeps the highest sequence of deleted rows: the next is past both.
CREATE TABLE segment_change_floor (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  value INTEGER NOT NULL
);
INSERT INTO segment_change_floor (id, value) VALUES (0, 0);
