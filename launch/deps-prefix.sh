#!/usr/bin/env bash
# The C libraries dysco needs (libyaml, cJSON, PCRE2, utf8proc, cmocka) in a private prefix, for machines
# without root or without a package registry (cluster nodes, GPU hosts). Two steps:
#
#   launch/deps-prefix.sh download DIR   on any Debian machine with the archive: fetch the .debs
#   launch/deps-prefix.sh install DIR    on the node: unpack them into DIR/root, fix the pkg-config
#                                        files, write DIR/env.sh and print the cmake flags
#
# Debian 12's builds of these libraries need only old glibc symbols, so they load on newer
# distributions (Ubuntu 24.04 was checked). CUDA, NCCL and Open MPI come from the node itself.
set -euo pipefail

DEBS=(libyaml-0-2 libyaml-dev libcjson1 libcjson-dev libpcre2-8-0 libpcre2-dev libcmocka0 libcmocka-dev libutf8proc2
      libutf8proc-dev)

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -eq 2 ]] || usage
mode=$1 dir=$(mkdir -p "$2" && cd "$2" && pwd)

case $mode in
download)
  mkdir -p "$dir/debs"
  (cd "$dir/debs" && apt-get download "${DEBS[@]}")
  echo "deps-prefix: downloaded ${#DEBS[@]} packages into $dir/debs"
  ;;
install)
  shopt -s nullglob
  debs=("$dir"/debs/*.deb)
  ((${#debs[@]})) || { echo "deps-prefix: no .deb files in $dir/debs (run 'download' first)" >&2; exit 1; }
  root=$dir/root
  for d in "${debs[@]}"; do dpkg-deb -x "$d" "$root"; done
  libdir=$(dirname "$(find "$root/usr/lib" -name 'libcjson.so*' | head -n 1)")
  # The .pc files name /usr; point them at the prefix.
  sed -i -E "s#(^prefix=|^libdir=|^includedir=|-L|-I)/usr#\1$root/usr#g" "$libdir"/pkgconfig/*.pc
  cat >"$dir/env.sh" <<ENV
export PKG_CONFIG_PATH=$libdir/pkgconfig\${PKG_CONFIG_PATH:+:\$PKG_CONFIG_PATH}
export LD_LIBRARY_PATH=$libdir\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export CMAKE_PREFIX_PATH=$root/usr\${CMAKE_PREFIX_PATH:+:\$CMAKE_PREFIX_PATH}
ENV
  echo "deps-prefix: unpacked into $root"
  echo "deps-prefix: source $dir/env.sh, then: cmake -S . -B build -DCMAKE_PREFIX_PATH=$root/usr"
  ;;
*) usage ;;
esac
