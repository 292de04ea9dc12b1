BEGIN TRANSACTION;
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, site TEXT NOT NULL,
    kind TEXT NOT NULL, actor TEXT NOT NULL, payload TEXT NOT NULL);
INSERT INTO "audit" VALUES(1,1795000000.0,'main','override','ann','{"request_id":"r0","outcome":"accepted","action":"pin","fields":{"queue":"phone","min":3,"max":9},"ttl_s":3600.0,"reason":"why","override_id":"main-1","expires_at":1795003600.0,"removed":[]}');
INSERT INTO "audit" VALUES(2,1795000001.0,'main','override','ann','{"request_id":"r1","outcome":"accepted","action":"pin","fields":{"queue":"chat","max":2},"ttl_s":3600.0,"reason":"why","override_id":"main-2","expires_at":1795003601.0,"removed":[]}');
INSERT INTO "audit" VALUES(3,1795000002.0,'main','override','ann','{"request_id":"r2","outcome":"accepted","action":"target","fields":{"queue":"email","sl_target":0.95},"ttl_s":3600.0,"reason":"why","override_id":"main-3","expires_at":1795003602.0,"removed":[]}');
INSERT INTO "audit" VALUES(4,1795000003.0,'main','override','ann','{"request_id":"r3","outcome":"accepted","action":"target","fields":{"queue":"phone","sl_target":0.9,"target_s":15},"ttl_s":3600.0,"reason":"why","override_id":"main-4","expires_at":1795003603.0,"removed":[]}');
INSERT INTO "audit" VALUES(5,1795000004.0,'main','override','ann','{"request_id":"r4","outcome":"accepted","action":"mode","fields":{"mode":"shadow"},"ttl_s":null,"reason":"why","override_id":"main-5","expires_at":null,"removed":[]}');
INSERT INTO "audit" VALUES(6,1795000005.0,'main','override','ann','{"request_id":"r5","outcome":"accepted","action":"lock_agent","fields":{"agent":"a7"},"ttl_s":600.0,"reason":"why","override_id":"main-6","expires_at":1795000605.0,"removed":[]}');
INSERT INTO "audit" VALUES(7,1795000006.0,'main','override','ann','{"request_id":"r6","outcome":"accepted","action":"assign","fields":{"agent":"a1","queue":"phone"},"ttl_s":3600.0,"reason":"why","override_id":"main-7","expires_at":1795003606.0,"removed":[]}');
CREATE TABLE command_seq (site TEXT PRIMARY KEY, seq INTEGER NOT NULL);
INSERT INTO "command_seq" VALUES('main',1);
CREATE TABLE in_flight (
    site TEXT NOT NULL, agent TEXT NOT NULL, to_queue TEXT NOT NULL,
    command_id TEXT NOT NULL, issued_at REAL NOT NULL, PRIMARY KEY (site, agent));
INSERT INTO "in_flight" VALUES('main','a1','phone','main-00000001-abcdef',1795000000.0);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "meta" VALUES('schema_version','1');
CREATE TABLE overrides (
    override_id TEXT PRIMARY KEY, site TEXT NOT NULL, supervisor TEXT NOT NULL,
    action TEXT NOT NULL, fields TEXT NOT NULL, created_at REAL NOT NULL,
    expires_at REAL, reason TEXT NOT NULL);
INSERT INTO "overrides" VALUES('main-1','main','ann','pin','{"queue":"phone","min":3,"max":9}',1795000000.0,1795003600.0,'why');
INSERT INTO "overrides" VALUES('main-2','main','ann','pin','{"queue":"chat","max":2}',1795000001.0,1795003601.0,'why');
INSERT INTO "overrides" VALUES('main-3','main','ann','target','{"queue":"email","sl_target":0.95}',1795000002.0,1795003602.0,'why');
INSERT INTO "overrides" VALUES('main-4','main','ann','target','{"queue":"phone","sl_target":0.9,"target_s":15.0}',1795000003.0,1795003603.0,'why');
INSERT INTO "overrides" VALUES('main-5','main','ann','mode','{"mode":"shadow"}',1795000004.0,NULL,'why');
INSERT INTO "overrides" VALUES('main-6','main','ann','lock_agent','{"agent":"a7"}',1795000005.0,1795000605.0,'why');
INSERT INTO "overrides" VALUES('main-7','main','ann','assign','{"agent":"a1","queue":"phone"}',1795000006.0,1795003606.0,'why');
CREATE TABLE plans (site TEXT PRIMARY KEY, as_of REAL NOT NULL, plan TEXT NOT NULL);
INSERT INTO "plans" VALUES('main',1795000000.0,'{"plan_id":"p"}');
CREATE INDEX overrides_site ON overrides (site);
CREATE INDEX audit_site_ts ON audit (site, ts);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('audit',7);
COMMIT;
