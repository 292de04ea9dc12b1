#!/usr/bin/env bash
# Re-vendor MQTT.js's browser bundle for the supervisor console (see VENDOR.md).
#
#   staffer/console/vendor/update-mqttjs.sh 5.16.0
#
# Needs npm (the npm registry, or a mirror npm is configured for). Writes, next to this
# script: mqtt.min.js (dist/mqtt.min.js of the npm package, unchanged), mqtt.LICENSE.md
# (its licence) and mqtt.THIRD-PARTY.txt (the licences of its runtime dependencies, which
# the bundle includes); then prints the new SHA-256 to put into VENDOR.md.
set -euo pipefail
version=${1:?usage: $0 VERSION (e.g. 5.16.0)}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --omit=dev --ignore-scripts "mqtt@$version" >/dev/null
pkg=node_modules/mqtt
[ "$(node -p "require('./$pkg/package.json').version")" = "$version" ]
cp "$pkg/dist/mqtt.min.js" "$here/mqtt.min.js"
cp "$pkg/LICENSE.md" "$here/mqtt.LICENSE.md"
{
  echo "Licences of the runtime dependencies of mqtt@$version (npm), bundled into mqtt.min.js."
  for dir in $(npm ls --omit=dev --all --parseable | tail -n +2 | sort -u); do
    name=$(node -p "require('$dir/package.json').name")
    case $name in mqtt | @types/* | undici-types) continue ;; esac
    echo
    echo "==== $name@$(node -p "require('$dir/package.json').version") ($(node -p "require('$dir/package.json').license"))"
    for lic in "$dir"/LICEN[CS]E* "$dir"/license*; do
      [ -f "$lic" ] && { cat "$lic"; break; }
    done
  done
} >"$here/mqtt.THIRD-PARTY.txt"
sha256sum "$here/mqtt.min.js"
