#!/usr/bin/env bash
# Renders assets/default-image.html into assets/default.jpg (the embedded default image)
# with ogforge itself, so the default image uses the same fonts and encoder as every card.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/ogforge.toml" <<TOML
[[routes]]
name = "default-image"
path = "/{id}.jpg"
id_pattern = "default"
template = "$PWD/assets/default-image.html"
quality = 85
TOML
cargo run --quiet -- render /default.jpg -o "$tmp/default.jpg" --no-store -c "$tmp/ogforge.toml"
cp "$tmp/default.jpg" assets/default.jpg
echo "wrote assets/default.jpg ($(wc -c < assets/default.jpg) bytes)"
