# Sourced by every interop scenario. Starts a private mailroom on free
# loopback ports with a temporary data directory and removes both on exit.
#
# After mr_start these are set:
#   MR_DIR   scratch directory for the scenario (removed on exit)
#   MR_DATA  the server's data directory
#   SMTP_PORT SUB_PORT POP3_PORT IMAP_PORT   the bound ports
#   ALICE BOB PASS   two accounts with the same password
# Helpers: fail MSG, expect_eq GOT WANT WHAT, mrcheck ARGS (interop/lib/mrcheck.py)
set -euo pipefail

INTEROP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${MAILROOM_BIN:?interop/run sets MAILROOM_BIN to the built binary}"

ALICE=alice@example.test
BOB=bob@example.test
PASS='s3cret pass!'
export ALICE BOB PASS

MR_DIR="$(mktemp -d "${TMPDIR:-/tmp}/mailroom-interop.XXXXXX")"
MR_DATA="$MR_DIR/data"
MR_PID=""
export MR_DIR MR_DATA

mr_cleanup() {
  local rc=$?
  if [ -n "$MR_PID" ] && kill -0 "$MR_PID" 2>/dev/null; then
    kill -TERM "$MR_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$MR_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$MR_PID" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ] && [ -f "$MR_DIR/server.log" ]; then
    echo "--- server log (last 40 lines) ---" >&2
    tail -n 40 "$MR_DIR/server.log" >&2
  fi
  rm -rf "$MR_DIR"
  exit "$rc"
}
trap mr_cleanup EXIT
trap 'exit 143' TERM INT # interop/run's timeout: still clean up

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_eq GOT WANT WHAT
expect_eq() {
  if [ "$1" != "$2" ]; then
    fail "$3: got [$1], want [$2]"
  fi
}

mrcheck() { python3 "$INTEROP_DIR/lib/mrcheck.py" "$@"; }

# mr_start [extra serve flags...]
mr_start() {
  local u
  for u in "$ALICE" "$BOB"; do
    printf '%s\n' "$PASS" | "$MAILROOM_BIN" user add "$u" --password-stdin --data "$MR_DATA" >/dev/null
  done
  local tls=()
  # Implicit-TLS listeners exist once TLS support is in the binary.
  if [[ "$("$MAILROOM_BIN" serve -h 2>&1 || true)" == *-imaps* ]]; then
    tls=(--smtps 127.0.0.1:0 --pop3s 127.0.0.1:0 --imaps 127.0.0.1:0)
  fi
  # Likewise the HTTP(S) listener, whose default ports would collide.
  if [[ "$("$MAILROOM_BIN" serve -h 2>&1 || true)" == *-https* ]]; then
    tls+=(--http 127.0.0.1:0 --https 127.0.0.1:0)
  fi
  # And the ManageSieve listener (default port 4190).
  if [[ "$("$MAILROOM_BIN" serve -h 2>&1 || true)" == *-managesieve* ]]; then
    tls+=(--managesieve 127.0.0.1:0)
  fi
  "$MAILROOM_BIN" serve --data "$MR_DATA" --hostname mx.example.test \
    --smtp 127.0.0.1:0 --submission 127.0.0.1:0 --pop3 127.0.0.1:0 --imap 127.0.0.1:0 \
    "${tls[@]}" "$@" 2>"$MR_DIR/server.log" &
  MR_PID=$!
  local i
  for i in $(seq 100); do
    grep -q 'msg=ready' "$MR_DIR/server.log" 2>/dev/null && break
    kill -0 "$MR_PID" 2>/dev/null || fail "mailroom serve exited early"
    sleep 0.05
  done
  grep -q 'msg=ready' "$MR_DIR/server.log" || fail "mailroom serve not ready after 5s"
  port_of() {
    sed -n "s/.*msg=listening protocol=$1 addr=[^ ]*:\([0-9]*\).*/\1/p" "$MR_DIR/server.log" | head -n1
  }
  SMTP_PORT=$(port_of smtp)
  SUB_PORT=$(port_of submission)
  POP3_PORT=$(port_of pop3)
  IMAP_PORT=$(port_of imap)
  SMTPS_PORT=$(port_of smtps)
  POP3S_PORT=$(port_of pop3s)
  IMAPS_PORT=$(port_of imaps)
  export SMTP_PORT SUB_PORT POP3_PORT IMAP_PORT SMTPS_PORT POP3S_PORT IMAPS_PORT
}
