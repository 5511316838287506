#!/usr/bin/env bash
# Installs the system packages the tests need on a fresh Debian 12 machine without a GPU:
# a CPU Vulkan driver that Dawn accepts (lavapipe from Mesa 25 in bookworm-backports; Debian 12's
# own Mesa 22.3 is rejected by Dawn) and Debian's Chromium for the browser test.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
sources=/etc/apt/sources.list.d/bookworm-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # Same URIs as the machine's existing Debian main entry (a snapshot mirror or deb.debian.org).
  uri=$(grep -hE '^URIs:.*debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 | awk '{print $2}')
  if [ -z "$uri" ]; then
    uri=$(grep -hE '^deb .*debian/? bookworm ' /etc/apt/sources.list 2>/dev/null | head -n1 | awk '{print $2}')
  fi
  uri=${uri:-http://deb.debian.org/debian}
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" > "$sources"
fi
apt-get update -q
apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers
apt-get install -y -q chromium
