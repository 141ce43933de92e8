-- Included by pgTAP files (\ir include/table_checksum.sql after \set checksum_schema NAME): creates
-- NAME.checksum(regclass), the row count and content hash of a whole table (generated columns included), as
-- test/datasets/fingerprint.sql computes them. The schema exists already; the file's transaction drops it.
CREATE FUNCTION :"checksum_schema".checksum(t regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    EXECUTE format('SELECT count(*) || '':'' || md5(coalesce(string_agg(x::text, chr(10) ORDER BY x::text COLLATE "C"), '''')) FROM %s x', t)
       INTO r;
    RETURN r;
END $$;
