#!/usr/bin/env bash
# Back up the assistant's PostgreSQL database (DATABASE_URL; also TRACKER_STORE_URL when it
# is a different database) to BACKUP_DIR as pg_dump custom-format files, readable by this
# user only, and delete backups older than KEEP_DAYS. Run daily by a systemd timer
# (docs/deploy.md). The dumps hold conversations and the pseudonym map: personal data.
#
#   DATABASE_URL=postgresql://bot@localhost/bot BACKUP_DIR=/var/backups/migrant-bot deploy/pg-backup.sh
set -euo pipefail
: "${DATABASE_URL:?set DATABASE_URL (postgresql://...)}"
BACKUP_DIR=${BACKUP_DIR:-/var/backups/migrant-bot}
KEEP_DAYS=${KEEP_DAYS:-14}
umask 077
mkdir -p "$BACKUP_DIR"
stamp=$(date -u +%Y%m%dT%H%M%SZ)

dump() {  # url, name
    local tmp="$BACKUP_DIR/.$2-$stamp.dump.partial"
    pg_dump --format=custom --no-owner --dbname="$1" --file="$tmp"
    mv "$tmp" "$BACKUP_DIR/$2-$stamp.dump"  # a half-written dump never looks like a backup
    echo "$BACKUP_DIR/$2-$stamp.dump"
}

dump "$DATABASE_URL" bot
if [[ -n "${TRACKER_STORE_URL:-}" && "$TRACKER_STORE_URL" == postgres* && "$TRACKER_STORE_URL" != "$DATABASE_URL" ]]; then
    dump "$TRACKER_STORE_URL" tracker
fi
find "$BACKUP_DIR" -maxdepth 1 -name '*.dump' -mtime +"$KEEP_DAYS" -delete
