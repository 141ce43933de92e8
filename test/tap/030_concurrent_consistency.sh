#!/bin/bash
# Snapshot consistency under concurrent writes: pgbench moves money between accounts (every transaction keeps
# sum(balance) constant and logs a transfer) while this script takes 12 snapshots of accounts and transfers,
# all in READ COMMITTED. Each snapshot, read back through backupkit.snapshot_rows, must satisfy the
# invariants: the balances sum to the initial total, the number of transfers equals the operations counted
# on the accounts, and every balance equals its initial value plus incoming minus outgoing transfers.
set -u
PGBIN=${PG_CONFIG:+$("$PG_CONFIG" --bindir)/}
DB=bk_concurrent_$$
P="psql -X -q -v ON_ERROR_STOP=1 -d $DB"
NSNAP=12
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/# /'; done; }
check() { if [ "$1" = 0 ]; then ok "$2"; else shift; nok "$@"; fi; }
WORK=$(mktemp -d)
cleanup() { [ -n "${BENCH_PID:-}" ] && kill "$BENCH_PID" 2>/dev/null; rm -rf "$WORK"; dropdb --if-exists "$DB" >/dev/null 2>&1; }
trap cleanup EXIT

echo "1..$((4 + NSNAP))"
out=$(createdb "$DB" 2>&1 && $P 2>&1 <<SQL
ALTER DATABASE $DB SET default_transaction_isolation = 'read committed';
CREATE EXTENSION backupkit;
CREATE TABLE accounts (id integer PRIMARY KEY, balance bigint NOT NULL, ops bigint NOT NULL DEFAULT 0);
CREATE TABLE transfers (id bigserial PRIMARY KEY, src integer NOT NULL, dst integer NOT NULL, amount bigint NOT NULL);
INSERT INTO accounts (id, balance) SELECT i, 1000 FROM generate_series(1, 100) i;
SQL
)
check $? "accounts (100 x 1000) and transfers created" "$out"

cat >"$WORK/transfer.sql" <<'SQL'
\set src random(1, 100)
\set dst random(1, 100)
\set amt random(1, 50)
BEGIN;
UPDATE accounts SET balance = balance - :amt, ops = ops + 1 WHERE id = :src;
UPDATE accounts SET balance = balance + :amt WHERE id = :dst;
INSERT INTO transfers (src, dst, amount) VALUES (:src, :dst, :amt);
END;
SQL
"${PGBIN}pgbench" -n -c 4 -T 8 --max-tries=20 -f "$WORK/transfer.sql" "$DB" >"$WORK/pgbench.log" 2>&1 &
BENCH_PID=$!
sleep 0.5
sids=""
snaperr=""
for i in $(seq 1 $NSNAP); do
    s=$($P -At -c "BEGIN ISOLATION LEVEL READ COMMITTED" \
        -c "SELECT backupkit.snapshot_tables(ARRAY['accounts', 'transfers']::regclass[], 'during pgbench $i')" -c "COMMIT" 2>&1)
    if [[ $s =~ ^[0-9]+$ ]]; then sids="$sids $s"; else snaperr="$snaperr $s"; fi
    sleep 0.5
done
wait "$BENCH_PID"; rc=$?; BENCH_PID=
[ "$rc" = 0 ] && grep -q "number of transactions actually processed" "$WORK/pgbench.log"
check $? "pgbench ran 4 clients for 8 s" "$(cat "$WORK/pgbench.log")"
grep -E "^(number of transactions actually processed|number of failed)" "$WORK/pgbench.log" | sed 's/^/# /'
nsids=$(echo $sids | wc -w)
[ "$nsids" -ge 10 ] && [ -z "$snaperr" ]; check $? "$nsids snapshots taken while pgbench was writing" "$snaperr"

i=0
for sid in $sids; do
    i=$((i + 1))
    res=$($P -At 2>&1 <<SQL
WITH a AS (SELECT (r->>'id')::int AS id, (r->>'balance')::bigint AS bal, (r->>'ops')::bigint AS ops
             FROM backupkit.snapshot_rows($sid, 'accounts') r),
     t AS (SELECT (r->>'src')::int AS src, (r->>'dst')::int AS dst, (r->>'amount')::bigint AS amt
             FROM backupkit.snapshot_rows($sid, 'transfers') r)
SELECT format('accounts=%s sum=%s ops=%s transfers=%s ledger_mismatch=%s',
              (SELECT count(*) FROM a), (SELECT sum(bal) FROM a), (SELECT sum(ops) FROM a), (SELECT count(*) FROM t),
              (SELECT count(*) FROM a WHERE bal <> 1000 + coalesce((SELECT sum(amt) FROM t WHERE t.dst = a.id), 0)
                                                       - coalesce((SELECT sum(amt) FROM t WHERE t.src = a.id), 0)));
SQL
)
    count=$(echo "$res" | sed -n 's/.* transfers=\([0-9]*\) .*/\1/p')
    ops=$(echo "$res" | sed -n 's/.* ops=\([0-9]*\) .*/\1/p')
    echo "$res" | grep -qE "^accounts=100 sum=100000 ops=[0-9]+ transfers=[0-9]+ ledger_mismatch=0$" && [ "$ops" = "$count" ]
    check $? "snapshot $i: balances sum to 100000, transfers match the ledger ($res)" "$res"
    echo "$count" >>"$WORK/counts"
done
for j in $(seq $((i + 1)) $NSNAP); do nok "snapshot $j: missing"; done
distinct=$(sort -u "$WORK/counts" 2>/dev/null | wc -l)
[ "$distinct" -ge 5 ]; check $? "the snapshots saw $distinct different states (writes really were concurrent)" "$(cat "$WORK/counts" 2>/dev/null)"
