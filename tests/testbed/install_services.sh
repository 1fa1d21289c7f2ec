#!/usr/bin/env bash
# Debian packages the field matrix (tests/field) needs: MariaDB (server binaries and the
# headers mysqlclient builds against) and memcached; and chromium, the headless browser of
# the demo's cookie test (tests/demo/test_browser.py). The tests start their own servers on
# free loopback ports; nothing here starts a service. Idempotent: installs only what is
# missing, runs `apt-get update` only when something is. Needs root (or sudo).
set -euo pipefail

need=()
command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]] || need+=(mariadb-server)
command -v mariadb-install-db >/dev/null 2>&1 || need+=(mariadb-server)
command -v memcached >/dev/null 2>&1 || [[ -x /usr/bin/memcached ]] || need+=(memcached)
# mysqlclient has no Linux wheels: it is built against libmariadb's headers.
pkg-config --exists libmariadb 2>/dev/null || pkg-config --exists mysqlclient 2>/dev/null \
    || need+=(libmariadb-dev pkg-config)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [[ ${#need[@]} -eq 0 ]]; then
    echo "install_services: mariadb-server, memcached, libmariadb-dev and chromium are present"
    exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
echo "install_services: installing ${need[*]}"
# A fresh machine may have stale or empty package lists: update once, then install.
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
