-- A monotonically increasing change sequence on segment rows, written by their one writer (the
-- Overlord) in every statement that inserts a row or changes its used flag: the Coordinator reads
-- only rows past its watermark instead of scanning every segment per poll.
ALTER TABLE segments ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX segments_change_seq ON segments (change_seq, id);
