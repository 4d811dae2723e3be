#!/usr/bin/env bash
# GCE startup script of the gateway VM (runs as root on every boot; safe to run again).
# Installs Docker, the Ops Agent, the executor bundle and the systemd units, then (re)starts the executor and the
# supervisor, which runs one IB Gateway container per gateways/{id} document of this VM with its login from Secret
# Manager (gateways are data: nothing here knows them). Settings come from instance metadata written by terraform:
# spreadpilot-config (JSON) and spreadpilot-files ({path: base64}).
set -euo pipefail

readonly METADATA="http://metadata.google.internal/computeMetadata/v1/instance/attributes"
readonly DEPLOY=/opt/spreadpilot/deploy
readonly EXECUTOR=/opt/spreadpilot/executor
readonly ETC=/etc/spreadpilot

log() { printf '{"severity":"INFO","component":"startup","message":"%s"}\n' "$*"; }

metadata() { curl --silent --fail --header "Metadata-Flavor: Google" "${METADATA}/$1"; }

install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q docker.io python3 python3-venv unzip curl
  systemctl enable --now docker
  if ! systemctl is-active --quiet google-cloud-ops-agent; then
    curl --silent --fail --output /tmp/add-ops-agent-repo.sh \
      https://dl.google.com/cloudagents/add-google-cloud-ops-agent-repo.sh
    bash /tmp/add-ops-agent-repo.sh --also-install
  fi
}

write_deploy_files() {
  install -d -m 0755 "${DEPLOY}" "${ETC}" /var/lib/spreadpilot
  install -d -m 0700 "${ETC}/gateways" "${ETC}/secrets" /var/lib/ib-gateway
  metadata spreadpilot-config > "${ETC}/config.json"
  metadata spreadpilot-files | python3 -c '
import base64, json, pathlib, sys
root = pathlib.Path(sys.argv[1])
for name, content in json.load(sys.stdin).items():
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(content))
' "${DEPLOY}"
  id -u spreadpilot >/dev/null 2>&1 || useradd --system --home-dir /var/lib/spreadpilot --shell /usr/sbin/nologin spreadpilot
  chown spreadpilot:spreadpilot /var/lib/spreadpilot
}

config_value() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "${ETC}/config.json" "$1"
}

install_executor() {
  local bundle
  bundle="$(config_value executor_bundle)"
  install -d -m 0755 "${EXECUTOR}"
  gcloud storage cp "${bundle}" "${EXECUTOR}/bundle.zip" --quiet
  rm -rf "${EXECUTOR}/app.new"
  unzip -q -o "${EXECUTOR}/bundle.zip" -d "${EXECUTOR}/app.new"
  rm -rf "${EXECUTOR}/app" && mv "${EXECUTOR}/app.new" "${EXECUTOR}/app"
  [[ -x "${EXECUTOR}/venv/bin/python" ]] || python3 -m venv "${EXECUTOR}/venv"
  "${EXECUTOR}/venv/bin/pip" install --quiet --disable-pip-version-check -r "${EXECUTOR}/app/requirements.txt"
}

install_units() {
  install -m 0644 "${DEPLOY}"/systemd/*.service "${DEPLOY}"/systemd/*.timer /etc/systemd/system/
  install -d -m 0755 /etc/google-cloud-ops-agent
  install -m 0644 "${DEPLOY}/ops-agent.yaml" /etc/google-cloud-ops-agent/config.yaml
  systemctl daemon-reload
  systemctl restart google-cloud-ops-agent || true
}

main() {
  log "installing packages"
  install_packages
  write_deploy_files
  python3 "${DEPLOY}/render.py" "${ETC}/config.json" --root /
  chown -R spreadpilot:spreadpilot /var/lib/spreadpilot
  chgrp spreadpilot "${ETC}/executor.env"
  log "installing the executor"
  install_executor
  install_units
  # The supervisor (re)starts the gateways' containers from Firestore; a container whose login and settings did
  # not change keeps running across a supervisor restart (a new IB Gateway login would need a 2FA).
  systemctl enable spreadpilot-supervisor.service spreadpilot-executor.service
  systemctl restart spreadpilot-supervisor.service spreadpilot-executor.service
  log "ready"
}

main "$@"
