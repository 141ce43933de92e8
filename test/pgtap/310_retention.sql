-- prune_snapshots and pin_snapshot: keep rules, reasons, pinned snapshots, label scope, dry runs, visibility.
BEGIN;
SELECT plan(22);

CREATE TABLE public.bk310_t (id integer PRIMARY KEY, v text);
INSERT INTO public.bk310_t SELECT g, md5(g::text) FROM generate_series(1, 50) g;

-- Ten snapshots labelled 'nightly', one per day going back, and three labelled 'other'.
CREATE TEMP TABLE bk310_ids AS
SELECT n, backupkit.snapshot_tables(ARRAY['public.bk310_t'::regclass], 'nightly') AS id
  FROM generate_series(1, 10) n;
CREATE TEMP TABLE bk310_other AS
SELECT n, backupkit.snapshot_tables(ARRAY['public.bk310_t'::regclass], 'other') AS id
  FROM generate_series(1, 3) n;
UPDATE backupkit.snapshot s SET created_at = date_trunc('day', now()) - ((i.n - 1) || ' days')::interval + interval '1 hour'
  FROM bk310_ids i WHERE s.snapshot_id = i.id;
UPDATE backupkit.snapshot s SET created_at = now() - (o.n || ' years')::interval
  FROM bk310_other o WHERE s.snapshot_id = o.id;

SELECT throws_ok($$SELECT * FROM backupkit.prune_snapshots(label => 'nightly')$$, '22023',
                 'retention policy has no rule', 'a policy without any rule is refused');
SELECT throws_ok($$SELECT * FROM backupkit.prune_snapshots(keep_last => 0)$$, '22023',
                 'keep_last must be at least 1', 'a count of zero is refused');
SELECT throws_ok($$SELECT * FROM backupkit.prune_snapshots(older_than => '-1 day')$$, '22023',
                 'older_than must not be negative', 'a negative older_than is refused');

-- Dry run: decisions reported, nothing removed.
SELECT results_eq(
    $$SELECT action, count(*)::integer FROM backupkit.prune_snapshots(keep_last => 3, label => 'nightly', dry_run => true)
       GROUP BY action ORDER BY action$$,
    $$VALUES ('drop', 7), ('keep', 3)$$,
    'dry run with keep_last 3 would drop 7 of 10');
SELECT is((SELECT count(*)::integer FROM backupkit.snapshot WHERE label = 'nightly'), 10, 'a dry run removes nothing');
SELECT is((SELECT outcome FROM backupkit.operations WHERE operation = 'prune' ORDER BY operation_id DESC LIMIT 1),
          'dry run', 'the dry run is in the operation log');

SELECT results_eq(
    $$SELECT snapshot_id FROM backupkit.prune_snapshots(keep_last => 3, label => 'nightly', dry_run => true)
       WHERE action = 'keep'$$,
    $$SELECT id FROM bk310_ids WHERE n <= 3 ORDER BY n$$,
    'keep_last keeps the newest, rows come newest first');

-- Pin the oldest nightly snapshot.
SELECT lives_ok($$SELECT backupkit.pin_snapshot((SELECT id FROM bk310_ids WHERE n = 10))$$, 'pin_snapshot pins a snapshot');
SELECT is((SELECT pinned FROM backupkit.snapshots WHERE id = (SELECT id FROM bk310_ids WHERE n = 10)), true,
          'the snapshot is pinned');
SELECT throws_ok($$SELECT backupkit.drop_snapshot((SELECT id FROM bk310_ids WHERE n = 10))$$, '55006', NULL,
                 'a pinned snapshot cannot be dropped');
SELECT throws_ok($$SELECT backupkit.pin_snapshot(-1)$$, '42704', 'snapshot -1 does not exist',
                 'pinning a missing snapshot fails');

-- Real prune: keep_daily 4 plus the pinned one, the others dropped; the 'other' label untouched.
CREATE TEMP TABLE bk310_result AS
SELECT * FROM backupkit.prune_snapshots(keep_daily => 4, keep_last => 1, label => 'nightly');
SELECT is((SELECT reason FROM bk310_result WHERE snapshot_id = (SELECT id FROM bk310_ids WHERE n = 1)),
          'keep_last, keep_daily', 'the reason names every rule that kept the snapshot');
SELECT is((SELECT reason FROM bk310_result WHERE snapshot_id = (SELECT id FROM bk310_ids WHERE n = 10)),
          'pinned', 'the pinned snapshot is kept as pinned');
SELECT is((SELECT count(*)::integer FROM bk310_result WHERE action = 'drop'), 5, 'five snapshots dropped');
SELECT set_eq($$SELECT snapshot_id FROM backupkit.snapshot WHERE label = 'nightly'$$,
              $$SELECT id FROM bk310_ids WHERE n IN (1, 2, 3, 4, 10)$$, 'exactly the kept snapshots remain');
SELECT is((SELECT count(*)::integer FROM backupkit.snapshot_chunk c JOIN bk310_result r USING (snapshot_id)
            WHERE r.action = 'drop'), 0, 'the chunks of dropped snapshots are gone');
SELECT is((SELECT count(*)::integer FROM backupkit.snapshot WHERE label = 'other'), 3, 'another label is not touched');
SELECT is((SELECT (details->>'dropped')::integer FROM backupkit.operations WHERE operation = 'prune'
            ORDER BY operation_id DESC LIMIT 1), 5, 'the prune is logged with its count');

-- older_than alone, across labels; the pinned snapshot survives it, yearly keeps one per year.
SELECT is((SELECT count(*)::integer FROM backupkit.prune_snapshots(keep_yearly => 1, older_than => '500 days')
            WHERE action = 'drop'), 2, 'older_than with keep_yearly drops the two old years');
SELECT lives_ok($$SELECT backupkit.pin_snapshot((SELECT id FROM bk310_ids WHERE n = 10), false)$$, 'pin_snapshot(..., false) unpins it');

-- A role that is not a member of the creator sees and prunes nothing.
CREATE ROLE bk310_stranger;
GRANT USAGE ON SCHEMA backupkit TO bk310_stranger;
SET LOCAL ROLE bk310_stranger;
SELECT is((SELECT count(*)::integer FROM backupkit.prune_snapshots(older_than => '0 seconds')), 0,
          'a prune only sees the snapshots of roles the caller is a member of');
RESET ROLE;
SELECT is((SELECT count(*)::integer FROM backupkit.snapshot WHERE label = 'nightly'), 5,
          'the other role removed nothing');

SELECT * FROM finish();
ROLLBACK;
