-- Coordinator metadata, after Druid's druid_rules / druid_config / druid_audit. The Coordinator
-- object is the only writer of these tables (the Overlord's stay its own).
CREATE TABLE coordinator_rules (
  datasource TEXT PRIMARY KEY,       -- a data source, or "_default"
  payload TEXT NOT NULL,             -- the rule list as Druid serialises it
  updated_ms INTEGER NOT NULL
);

CREATE TABLE coordinator_config (
  name TEXT PRIMARY KEY,             -- e.g. coordinator.config (Druid's CoordinatorDynamicConfig)
  payload TEXT NOT NULL
);

CREATE TABLE coordinator_audit (
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
CREATE INDEX coordinator_audit_key_created ON coordinator_audit (audit_key, created_ms);
CREATE INDEX coordinator_audit_type_created ON coordinator_audit (type, created_ms);
