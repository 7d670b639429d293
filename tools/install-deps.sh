#!/usr/bin/env bash
# Installs the Debian packages gourmet builds and tests with, and nothing
# else. Cheap when everything is present: one dpkg-query, no apt-get.
set -euo pipefail

packages=(
  build-essential pkg-config meson ninja-build
  libuv1-dev node-llhttp libyaml-cpp-dev libfmt-dev libre2-dev
  libgtest-dev libgmock-dev libexpected-dev libtomlplusplus-dev
  curl python3
  clang libclang-rt-14-dev
  clang-format  # /usr/bin/clang-format (14 on Debian 12): make format, make format-check
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$package")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "install-deps: missing ${missing[*]}, and not root without sudo" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}" >&2
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
