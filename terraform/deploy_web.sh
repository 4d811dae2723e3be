#!/usr/bin/env bash
# Publish web/ to the Firebase Hosting site: copy the app, add the deployment's config.json and a firebase.json
# whose rewrite serves index.html for every path (the app routes with pushState). Run by terraform (hosting.tf).
set -euo pipefail

: "${PROJECT:?}" "${SITE:?}" "${WEB_DIR:?}" "${OUT_DIR:?}" "${WEB_CONFIG:?}" "${FIREBASE_VERSION:?}"

rm -rf "${OUT_DIR}"
mkdir -p "${OUT_DIR}/public"
cp -R "${WEB_DIR}/." "${OUT_DIR}/public/"
rm -f "${OUT_DIR}/public/config.example.json" "${OUT_DIR}/public/README.md"
printf '%s\n' "${WEB_CONFIG}" > "${OUT_DIR}/public/config.json"
cat > "${OUT_DIR}/firebase.json" <<JSON
{
  "hosting": {
    "site": "${SITE}",
    "public": "public",
    "headers": [
      {"source": "/config.json", "headers": [{"key": "Cache-Control", "value": "no-store"}]},
      {"source": "**", "headers": [
        {"key": "X-Content-Type-Options", "value": "nosniff"},
        {"key": "X-Frame-Options", "value": "DENY"},
        {"key": "Referrer-Policy", "value": "no-referrer"}
      ]}
    ],
    "rewrites": [{"source": "**", "destination": "/index.html"}]
  }
}
JSON
cd "${OUT_DIR}"
npx --yes "firebase-tools@${FIREBASE_VERSION}" deploy --only "hosting:${SITE}" --project "${PROJECT}" --non-interactive
