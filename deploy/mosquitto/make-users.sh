#!/usr/bin/env bash
# Create (or update) the Mosquitto password file for staffer's users.
#
#   deploy/mosquitto/make-users.sh [-d DIR] USER[=PASSWORD] ...
#   deploy/mosquitto/make-users.sh staffer bridge-main observer alice bob
#
# For each USER it writes DIR/secrets/USER.password (mode 0600; the file a client's
# `password_file` points at, e.g. staffer's [mqtt] password_file) and adds USER to
# DIR/passwd, hashed by mosquitto_passwd. A password is taken from USER=PASSWORD, else
# reused from an existing DIR/secrets/USER.password, else generated at random, so
# re-running the script is safe. Reused and generated passwords never appear on a command
# line (ps); USER=PASSWORD does (in this script's own arguments), so to choose a password
# privately, write it to DIR/secrets/USER.password first and pass just USER.
# DIR defaults to this script's directory (what deploy/compose.yaml mounts).
# Users are only authenticated here: what they may do is in DIR/acl.
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = "-d" ]; then dir=$2; shift 2; fi
if [ $# -eq 0 ]; then
  echo "usage: $0 [-d DIR] USER[=PASSWORD] ..." >&2
  exit 2
fi
mosquitto_passwd=$(command -v mosquitto_passwd || true)
[ -n "$mosquitto_passwd" ] || { echo "make-users: mosquitto_passwd not found (Debian: apt-get install mosquitto)" >&2; exit 1; }

umask 077
mkdir -p "$dir/secrets"
passwd="$dir/passwd"
plain=$(mktemp "$dir/.passwd.XXXXXX")
trap 'rm -f "$plain" "$plain.keep"' EXIT

# Keep the users already in the file that are not being (re)set now.
declare -A setting=()
for arg in "$@"; do setting[${arg%%=*}]=1; done
if [ -f "$passwd" ]; then
  while IFS= read -r line; do
    [ -n "$line" ] && [ -z "${setting[${line%%:*}]:-}" ] && printf '%s\n' "$line" >>"$plain.keep"
  done <"$passwd"
fi

for arg in "$@"; do
  user=${arg%%=*}
  if ! [[ $user =~ ^[A-Za-z0-9_.-]+$ ]]; then
    echo "make-users: bad user name '$user' (letters, digits, . _ - only)" >&2; exit 2
  fi
  secret="$dir/secrets/$user.password"
  if [[ $arg == *=* ]]; then
    pw=${arg#*=}
  elif [ -s "$secret" ]; then
    pw=$(head -n 1 "$secret")
  else
    pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')
  fi
  printf '%s\n' "$pw" >"$secret"
  printf '%s:%s\n' "$user" "$pw" >>"$plain"
  echo "make-users: $user (password in $secret)"
done

"$mosquitto_passwd" -U "$plain"     # hash the plain-text file in place
if [ -f "$plain.keep" ]; then cat "$plain.keep" >>"$plain"; rm -f "$plain.keep"; fi
mv "$plain" "$passwd"
chmod 0644 "$passwd"   # salted PBKDF2 hashes; the broker container user must read it
trap - EXIT
