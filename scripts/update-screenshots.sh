#!/usr/bin/env bash
# Refreshes the screenshots the docs show, on purpose: runs the end-to-end suite (which writes its
# screenshots to test-results/screenshots, never into the tracked tree) and copies the ones docs/ uses.
set -euo pipefail
cd "$(dirname "$0")/.."

rm -rf test-results/screenshots
npx vitest run test/e2e
for file in docs/screenshots/*.png; do
  name=$(basename "$file")
  if [ -f "test-results/screenshots/$name" ]; then
    cp "test-results/screenshots/$name" "$file"
  else
    echo "update-screenshots: the suite wrote no $name (docs/screenshots keeps the old one)" >&2
  fi
done
