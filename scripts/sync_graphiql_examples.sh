#!/usr/bin/env sh
# Copy the operation documents (graphql/*.graphql, the trusted-document set) into
# the package, where GraphiQL reads its example tabs from. graphql/ sits at the
# repository root and is not package data, so an installed wheel carries this copy;
# tests/api/test_graphiql.py fails when the two differ.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/ontology/api/graphiql/examples"
mkdir -p "$dest"
rm -f "$dest"/*.graphql
cp "$root"/graphql/*.graphql "$dest/"
echo "$(ls "$dest" | wc -l) examples in $dest"
