#!/usr/bin/env sh
# Re-create the GraphiQL page's third-party assets in ontology/api/graphiql/static/
# from the npm packages pinned in scripts/graphiql/package.json and its lock file.
# The copies are committed, so installing the Python package needs no npm and the
# page works without internet access. Run after changing a version:
#   sh scripts/fetch_graphiql.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dest="$here/../ontology/api/graphiql/static"
cd "$here/graphiql"
npm ci --ignore-scripts --no-audit --no-fund
mkdir -p "$dest"
cp node_modules/graphiql/graphiql.min.js node_modules/graphiql/graphiql.min.css "$dest/"
cp node_modules/react/umd/react.production.min.js "$dest/"
cp node_modules/react-dom/umd/react-dom.production.min.js "$dest/"

version() { node -p "require('./node_modules/$1/package.json').version"; }
{
  echo "# Third-party assets of the GraphiQL page"
  echo
  echo "Copied by scripts/fetch_graphiql.sh from the npm registry (versions pinned in"
  echo "scripts/graphiql/package-lock.json). Each keeps its own licence, reproduced below."
  echo "graphiql.min.js bundles graphiql's own dependencies (CodeMirror 5, graphql-js,"
  echo "graphql-ws, markdown-it, and others), all under MIT-style licences named in the bundle."
  echo
  echo "| file | package | licence |"
  echo "|---|---|---|"
  echo "| graphiql.min.js, graphiql.min.css | graphiql@$(version graphiql) | $(node -p "require('./node_modules/graphiql/package.json').license") |"
  echo "| react.production.min.js | react@$(version react) | $(node -p "require('./node_modules/react/package.json').license") |"
  echo "| react-dom.production.min.js | react-dom@$(version react-dom) | $(node -p "require('./node_modules/react-dom/package.json').license") |"
  for package in graphiql react react-dom; do
    echo
    echo "## $package@$(version "$package")"
    echo
    echo '```'
    cat "node_modules/$package/LICENSE"
    echo '```'
  done
} > "$dest/THIRD_PARTY_LICENSES.md"

cd "$dest"
sha256sum graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js > SHA256SUMS
echo "GraphiQL assets written to $dest"
