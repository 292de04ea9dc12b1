#!/usr/bin/env bash
# Makes sure the real tools the test suite drives are installed (Debian packages):
# mosquitto (broker + mosquitto_passwd), prometheus (server + promtool), nats-server,
# docker-compose (compose file validation), systemd (systemd-analyze), openssl (TLS tests),
# chromium (the console's browser test drives /usr/bin/chromium through Playwright; never
# `playwright install`).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
missing=()
command -v mosquitto   >/dev/null 2>&1 || missing+=(mosquitto)
command -v promtool    >/dev/null 2>&1 || missing+=(prometheus)
# prometheus-alertmanager: the server and amtool (tests/ops/test_alertmanager.py)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v amtool      >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
command -v mosquitto_passwd >/dev/null 2>&1 || missing+=(mosquitto)
command -v docker-compose  >/dev/null 2>&1 || missing+=(docker-compose)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v openssl         >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/bin/chromium ]   || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]} from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
