#!/bin/sh
# Entrypoint of strongroom's container image (see Containerfile and charts/strongroom).
#
#   serve      (the default) the stateless broker; every flag from STRONGROOM_<FLAG>, as the
#              chart's Deployment sets them
#   bootstrap  the one-shot Vault preparation the chart's hook Job runs (flags as arguments)
#
# Anything else is refused: the image runs the broker, not arbitrary commands. `exec` makes
# strongroom PID 1, so the kubelet's SIGTERM reaches it and it drains before exiting.
set -eu

if [ "$#" -eq 0 ]; then
  set -- serve
fi

case "$1" in
  serve | bootstrap | help | --help | -h | --version | -V) ;;
  *)
    echo "STRONGROOM_ERR_USAGE: the image runs \`serve\` (the default) or \`bootstrap\`, not \`$1\`" >&2
    exit 2
    ;;
esac

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
exec node "$here/strongroom.js" "$@"
