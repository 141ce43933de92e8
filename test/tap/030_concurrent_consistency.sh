#!/bin/bash
# Snapshot consistency under concurrent writes: four writer sessions move money between accounts (every
# transaction keeps sum(balance) constant and logs a transfer) while this script takes 12 snapshots of accounts
# and transfers, all in READ COMMITTED. Each snapshot, read back through backupkit.snapshot_rows, must satisfy
# the invariants: the balances sum to the initial total, the number of transfers equals the operations counted
# on the accounts, and every balance equals its initial value plus incoming minus outgoing transfers.
# The interleaving does not depend on timing: the writers run until this script tells them to stop, and before
# each snapshot the script waits until more transfers are committed than the previous snapshot captured, so
# every snapshot sees a later state than the one before (the positive control: writes really were concurrent).
set -u
DB=bk_concurrent_$$
P="psql -X -q -v ON_ERROR_STOP=1 -d $DB"
NSNAP=12
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/# /'; done; }
check() { if [ "$1" = 0 ]; then ok "$2"; else shift; nok "$@"; fi; }
WORK=$(mktemp -d)
# Writers still running (after a failure) stop at their next transfer.
cleanup() { [ -n "${WRITERS:-}" ] && $P -c "UPDATE control SET stop = true" >/dev/null 2>&1 && wait; rm -rf "$WORK"; dropdb --if-exists "$DB" >/dev/null 2>&1; }
trap cleanup EXIT

echo "1..$((5 + NSNAP))"
out=$(createdb "$DB" 2>&1 && $P 2>&1 <<SQL
ALTER DATABASE $DB SET default_transaction_isolation = 'read committed';
CREATE EXTENSION backupkit;
CREATE TABLE accounts (id integer PRIMARY KEY, balance bigint NOT NULL, ops bigint NOT NULL DEFAULT 0);
CREATE TABLE transfers (id bigserial PRIMARY KEY, src integer NOT NULL, dst integer NOT NULL, amount bigint NOT NULL);
INSERT INTO accounts (id, balance) SELECT i, 1000 FROM generate_series(1, 100) i;
SQL
)
check $? "accounts (100 x 1000) and transfers created" "$out"

# The writers: each commits transfers in a loop until control.stop is set. The two accounts are updated in id
# order, so that writers never deadlock with one another.
out=$($P 2>&1 <<'SQL'
CREATE TABLE control (stop boolean NOT NULL);
INSERT INTO control VALUES (false);
CREATE PROCEDURE transfer_until_stopped() LANGUAGE plpgsql AS $$
DECLARE
    src integer;
    dst integer;
    amt bigint;
BEGIN
    LOOP
        EXIT WHEN (SELECT stop FROM control);
        src := 1 + floor(random() * 100);
        dst := 1 + floor(random() * 100);
        amt := 1 + floor(random() * 50);
        IF src <= dst THEN
            UPDATE accounts SET balance = balance - amt, ops = ops + 1 WHERE id = src;
            UPDATE accounts SET balance = balance + amt WHERE id = dst;
        ELSE
            UPDATE accounts SET balance = balance + amt WHERE id = dst;
            UPDATE accounts SET balance = balance - amt, ops = ops + 1 WHERE id = src;
        END IF;
        INSERT INTO transfers (src, dst, amount) VALUES (src, dst, amt);
        COMMIT;
    END LOOP;
END $$;
SQL
)
check $? "the writers' procedure is created" "$out"
WRITERS=""
for w in 1 2 3 4; do
    $P -c "CALL transfer_until_stopped()" >"$WORK/writer$w.log" 2>&1 &
    WRITERS="$WRITERS $!"
done
# Waits (at most 60 s) until more than $1 transfers are committed; prints the count seen.
wait_transfers_over() {
    local k c
    for k in $(seq 1 600); do
        c=$($P -At -c "SELECT count(*) FROM transfers")
        if [ "$c" -gt "$1" ]; then echo "$c"; return 0; fi
        sleep 0.1
    done
    echo "$c"
    return 1
}
sids=""
snaperr=""
last=0
for i in $(seq 1 $NSNAP); do
    if ! seen=$(wait_transfers_over "$last"); then
        snaperr="$snaperr no transfer committed after snapshot $((i - 1)) within 60 s ($seen);"
        break
    fi
    s=$($P -At -c "BEGIN ISOLATION LEVEL READ COMMITTED" \
        -c "SELECT backupkit.snapshot_tables(ARRAY['accounts', 'transfers']::regclass[], 'during writes $i')" -c "COMMIT" 2>&1)
    if [[ $s =~ ^[0-9]+$ ]]; then
        sids="$sids $s"
        last=$($P -At -c "SELECT rows FROM backupkit.snapshot_contents($s) WHERE table_name = 'public.transfers'")
    else
        snaperr="$snaperr $s"
    fi
done
$P -c "UPDATE control SET stop = true"
wrc=0
for pid in $WRITERS; do wait "$pid" || wrc=1; done
WRITERS=
[ "$wrc" = 0 ]; check $? "four writers committed transfers until told to stop" "$(cat "$WORK"/writer*.log)"
echo "# $($P -At -c "SELECT count(*) FROM transfers") transfers committed"
nsids=$(echo $sids | wc -w)
[ "$nsids" = "$NSNAP" ] && [ -z "$snaperr" ]; check $? "$nsids snapshots taken while the writers were writing" "$snaperr"

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
# Each snapshot was taken after more transfers were committed than the previous one captured.
increasing=$(awk 'NR > 1 && $1 <= prev { bad = 1 } { prev = $1 } END { print (NR == '"$NSNAP"' && !bad) ? "yes" : "no" }' "$WORK/counts" 2>/dev/null)
[ "$increasing" = yes ]; check $? "each snapshot saw more transfers than the one before ($(tr '\n' ' ' <"$WORK/counts" 2>/dev/null)): the writes really were concurrent" "$(cat "$WORK/counts" 2>/dev/null)"
