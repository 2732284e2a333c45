-- Overlord metadata, after Druid's druid_tasks / druid_tasklocks / druid_config / druid_audit.

-- One row per start of the Overlord object: the fencing term and when it began.
CREATE TABLE overlord_terms (
  term INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL
);

CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  created_date TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  datasource TEXT NOT NULL,
  type TEXT NOT NULL,
  group_id TEXT NOT NULL,
  priority INTEGER NOT NULL,
  payload TEXT NOT NULL,              -- Task JSON as accepted (context defaults filled)
  status TEXT NOT NULL,               -- TaskState: RUNNING | SUCCESS | FAILED
  error_msg TEXT,
  duration INTEGER NOT NULL DEFAULT -1,
  active INTEGER NOT NULL,            -- 1 until the task is complete
  worker TEXT,                        -- worker host the task was assigned to (runner state)
  assigned_term INTEGER,              -- Overlord term of that assignment
  runner_status TEXT,                 -- PENDING | RUNNING as last known to the runner
  location TEXT,                      -- TaskLocation JSON
  updated_ms INTEGER NOT NULL
);
CREATE INDEX tasks_active_created ON tasks (active, created_ms);
CREATE INDEX tasks_datasource_active ON tasks (datasource, active);

CREATE TABLE tasklocks (
  task_id TEXT NOT NULL,
  lock_key TEXT NOT NULL,             -- type|interval|version: unique per task
  lock_payload TEXT NOT NULL,         -- TaskLock JSON (revoked flag included)
  PRIMARY KEY (task_id, lock_key)
);

CREATE TABLE config (
  name TEXT PRIMARY KEY,              -- e.g. worker.config
  payload TEXT NOT NULL
);

CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  audit_key TEXT NOT NULL,
  type TEXT NOT NULL,
  author TEXT NOT NULL DEFAULT '',
  comment TEXT NOT NULL DEFAULT '',
  ip TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  payload TEXT NOT NULL,
  request TEXT
);
CREATE INDEX audit_key_created ON audit (audit_key, created_ms);
CREATE INDEX audit_type_created ON audit (type, created_ms);

-- Workers the Overlord has seen, with the operator's enable/disable flag (survives restarts).
CREATE TABLE workers (
  host TEXT PRIMARY KEY,
  payload TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  last_seen_ms INTEGER NOT NULL
);

-- Task logs and reports shipped by agents; kept after the agent is gone.
CREATE TABLE task_logs (
  task_id TEXT PRIMARY KEY,
  log TEXT NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE TABLE task_reports (
  task_id TEXT PRIMARY KEY,
  payload TEXT NOT NULL,
  updated_ms INTEGER NOT NULL
);
