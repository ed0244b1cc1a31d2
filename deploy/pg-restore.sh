#!/usr/bin/env bash
# Restore a backup made by deploy/pg-backup.sh into an EMPTY database, then show its schema
# revision. Restore into a new database first and switch DATABASE_URL to it once it checks
# out; never over the live one.
#
#   createdb bot_restored
#   deploy/pg-restore.sh /var/backups/migrant-bot/bot-20261130T020000Z.dump postgresql://bot@localhost/bot_restored
set -euo pipefail
dump=${1:?usage: pg-restore.sh DUMP_FILE TARGET_DATABASE_URL}
target=${2:?usage: pg-restore.sh DUMP_FILE TARGET_DATABASE_URL}
pg_restore --exit-on-error --no-owner --dbname="$target" "$dump"
cd "$(dirname "$0")/.."
DATABASE_URL="$target" "${PYTHON:-.venv/bin/python}" -m bot db current
