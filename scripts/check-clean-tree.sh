#!/usr/bin/env bash
# Fails when the working tree differs from the commit: setup and tests must leave a fresh clone as they
# found it (artefacts go to ignored folders such as test-results/). Lists what changed.
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "check-clean-tree: $(pwd) is not a git checkout; nothing to compare" >&2
  exit 0
fi
changes=$(git status --porcelain --untracked-files=all)
if [ -n "$changes" ]; then
  echo "check-clean-tree: setup or tests changed the tree (write artefacts to an ignored folder such as test-results/):" >&2
  echo "$changes" >&2
  exit 1
fi
echo "check-clean-tree: the tree is clean"
