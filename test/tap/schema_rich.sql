-- A rich set of table definitions for the schema capture tests (test/tap/400_schema_ddl_roundtrip.sh and
-- test/pgtap/400_schema_capture.sql): every kind of object snapshot_ddl must reproduce, with awkward names.
CREATE SCHEMA "sch ema;x";
DO $$BEGIN CREATE ROLE bk_rich_reader NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$;
CREATE SEQUENCE "sch ema;x".free_seq START 5 INCREMENT 3;
CREATE FUNCTION "sch ema;x".touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.note := coalesce(NEW.note, 't'); RETURN NEW; END$$;

CREATE TABLE "sch ema;x"."Cust""omers; x" (
    id integer GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 2 CACHE 3) PRIMARY KEY,
    "näme" text COLLATE "C" NOT NULL DEFAULT 'anon',
    serial_no serial,
    price numeric(10,2) DEFAULT 0 CHECK (price >= 0),
    price_x2 numeric GENERATED ALWAYS AS (price * 2) STORED,
    tags text[] DEFAULT '{}',
    note varchar(40),
    span int4range,
    "select" int DEFAULT nextval('"sch ema;x".free_seq'),
    CONSTRAINT "uq; name" UNIQUE ("näme") DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT no_overlap EXCLUDE USING gist (span WITH &&)
);
ALTER TABLE "sch ema;x"."Cust""omers; x" ALTER COLUMN note SET STORAGE EXTERNAL;
ALTER TABLE "sch ema;x"."Cust""omers; x" ALTER COLUMN tags SET STATISTICS 200;
ALTER TABLE "sch ema;x"."Cust""omers; x" ALTER COLUMN "näme" SET COMPRESSION pglz;
ALTER TABLE "sch ema;x"."Cust""omers; x" SET (fillfactor = 80, autovacuum_enabled = false);
ALTER TABLE "sch ema;x"."Cust""omers; x" ADD CONSTRAINT late_check CHECK (length(note) < 30) NOT VALID;
CREATE INDEX "idx partial" ON "sch ema;x"."Cust""omers; x" (price) WHERE price > 10;
CREATE INDEX idx_expr ON "sch ema;x"."Cust""omers; x" (lower("näme")) INCLUDE (price);
CREATE UNIQUE INDEX idx_nnd ON "sch ema;x"."Cust""omers; x" (note, serial_no) NULLS NOT DISTINCT;
ALTER TABLE "sch ema;x"."Cust""omers; x" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "sch ema;x"."Cust""omers; x" FORCE ROW LEVEL SECURITY;
CREATE POLICY "see; all" ON "sch ema;x"."Cust""omers; x" FOR SELECT TO bk_rich_reader USING (price > 0);
CREATE POLICY ins ON "sch ema;x"."Cust""omers; x" AS RESTRICTIVE FOR INSERT WITH CHECK ("näme" <> '');
CREATE TRIGGER "trg; touch" BEFORE INSERT OR UPDATE OF note ON "sch ema;x"."Cust""omers; x"
    FOR EACH ROW WHEN (NEW.price IS NOT NULL) EXECUTE FUNCTION "sch ema;x".touch();
ALTER TABLE "sch ema;x"."Cust""omers; x" DISABLE TRIGGER "trg; touch";
ALTER TABLE "sch ema;x"."Cust""omers; x" REPLICA IDENTITY USING INDEX "Cust""omers; x_pkey";
COMMENT ON TABLE "sch ema;x"."Cust""omers; x" IS 'customers; it''s "quoted"';
COMMENT ON COLUMN "sch ema;x"."Cust""omers; x"."näme" IS 'the näme';
COMMENT ON CONSTRAINT "uq; name" ON "sch ema;x"."Cust""omers; x" IS 'unique names';
COMMENT ON INDEX "sch ema;x"."idx partial" IS 'partial';
COMMENT ON TRIGGER "trg; touch" ON "sch ema;x"."Cust""omers; x" IS 'touches';
COMMENT ON POLICY "see; all" ON "sch ema;x"."Cust""omers; x" IS 'readers';
GRANT SELECT ON "sch ema;x"."Cust""omers; x" TO bk_rich_reader;
GRANT UPDATE (note), INSERT ("näme", price) ON "sch ema;x"."Cust""omers; x" TO bk_rich_reader;
INSERT INTO "sch ema;x"."Cust""omers; x" ("näme", price, tags, note, span)
    SELECT 'n' || i, i * 1.5, ARRAY['a', 'b' || i], CASE WHEN i % 3 = 0 THEN 'note ' || i END, int4range(i * 10, i * 10 + 5)
    FROM generate_series(1, 50) i;

CREATE TABLE "sch ema;x".orders (
    order_id bigserial PRIMARY KEY,
    customer integer NOT NULL,
    amount numeric NOT NULL,
    placed date NOT NULL DEFAULT CURRENT_DATE,
    CONSTRAINT fk_cust FOREIGN KEY (customer) REFERENCES "sch ema;x"."Cust""omers; x" (id)
        MATCH FULL ON DELETE CASCADE ON UPDATE RESTRICT DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE "sch ema;x".orders ADD CONSTRAINT fk_cust2 FOREIGN KEY (customer)
    REFERENCES "sch ema;x"."Cust""omers; x" (id) ON DELETE SET NULL (customer) NOT VALID;
ALTER TABLE "sch ema;x".orders ALTER COLUMN customer DROP NOT NULL;
INSERT INTO "sch ema;x".orders (customer, amount) SELECT 100 + 2 * (i % 50), i FROM generate_series(1, 200) i;
COMMENT ON COLUMN "sch ema;x".orders.amount IS 'amount';

CREATE TABLE "sch ema;x".measure (
    city text NOT NULL,
    at date NOT NULL,
    v double precision DEFAULT 0,
    CHECK (v > -1000)
) PARTITION BY RANGE (at);
CREATE TABLE "sch ema;x".measure_2024 PARTITION OF "sch ema;x".measure
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (city);
CREATE TABLE "sch ema;x"."measure_2024 paris" PARTITION OF "sch ema;x".measure_2024 FOR VALUES IN ('paris');
CREATE TABLE "sch ema;x".measure_2024_other PARTITION OF "sch ema;x".measure_2024 DEFAULT;
CREATE TABLE "sch ema;x".measure_2025 PARTITION OF "sch ema;x".measure
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') WITH (fillfactor = 70);
CREATE TABLE "sch ema;x".measure_rest PARTITION OF "sch ema;x".measure DEFAULT;
ALTER TABLE "sch ema;x".measure ADD PRIMARY KEY (city, at);
CREATE INDEX measure_v ON "sch ema;x".measure (v);
CREATE INDEX measure_2025_city ON "sch ema;x".measure_2025 (city);
COMMENT ON TABLE "sch ema;x".measure_2025 IS 'year 2025';
INSERT INTO "sch ema;x".measure
    SELECT (ARRAY['paris', 'rome', 'oslo'])[1 + i % 3], date '2024-01-01' + i * 2, i FROM generate_series(0, 400) i;

-- An outside table (not captured) referencing a captured one, and views over captured tables.
CREATE TABLE "sch ema;x".outside_ref (id int PRIMARY KEY, cust int CONSTRAINT "out fk" REFERENCES "sch ema;x"."Cust""omers; x" (id) ON DELETE CASCADE);
CREATE VIEW "sch ema;x"."rich view" AS
    SELECT c.id, c."näme", count(o.*) AS n FROM "sch ema;x"."Cust""omers; x" c LEFT JOIN "sch ema;x".orders o ON o.customer = c.id GROUP BY c.id, c."näme";
COMMENT ON VIEW "sch ema;x"."rich view" IS 'a view';
GRANT SELECT ON "sch ema;x"."rich view" TO bk_rich_reader;
CREATE MATERIALIZED VIEW "sch ema;x".rich_mv AS SELECT city, sum(v) AS total FROM "sch ema;x".measure GROUP BY city;
CREATE INDEX rich_mv_city ON "sch ema;x".rich_mv (city);
COMMENT ON MATERIALIZED VIEW "sch ema;x".rich_mv IS 'totals';
