#!/usr/bin/env bash
# GCE startup script of the gateway VM (runs as root on every boot; safe to run again).
# Installs Docker, the Ops Agent, the executor bundle and the systemd units, fetches each gateway's IBKR login from
# Secret Manager into files the containers mount, then (re)starts everything. Settings come from instance
# metadata written by terraform: spreadpilot-config (JSON) and spreadpilot-files ({path: base64}).
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
  install -d -m 0755 "${DEPLOY}" "${ETC}" "${ETC}/gateways" /var/lib/spreadpilot
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

# The image runs IB Gateway as its own user (uid 1000): the files it reads and the settings it keeps belong to it.
readonly IB_GATEWAY_UID=1000

fetch_gateway_secrets() {
  local gateway="$1" dir="${ETC}/secrets/$1" name userid
  install -d -m 0700 -o "${IB_GATEWAY_UID}" -g "${IB_GATEWAY_UID}" "${dir}"
  for name in password vnc-password; do
    # Straight from Secret Manager to a file only the gateway's user can read; never in a log or an argument.
    gcloud secrets versions access latest --secret "ibkr-${gateway}-${name}" --quiet > "${dir}/${name}.new"
    chown "${IB_GATEWAY_UID}:${IB_GATEWAY_UID}" "${dir}/${name}.new"
    chmod 0400 "${dir}/${name}.new"
    mv -f "${dir}/${name}.new" "${dir}/${name}"
  done
  # The image reads the login name from TWS_USERID only (it has no _FILE variant): a root-only env file for docker.
  userid="$(gcloud secrets versions access latest --secret "ibkr-${gateway}-username" --quiet)"
  (umask 077 && printf 'TWS_USERID=%s\n' "${userid}" > "${ETC}/gateways/${gateway}.userid.env")
  install -d -m 0700 -o "${IB_GATEWAY_UID}" -g "${IB_GATEWAY_UID}" "/var/lib/ib-gateway/${gateway}" \
    "/var/lib/ib-gateway/${gateway}/tws_settings"
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
  local gateways gateway
  gateways="$(python3 "${DEPLOY}/render.py" "${ETC}/config.json" --root /)"
  chown -R spreadpilot:spreadpilot /var/lib/spreadpilot
  chgrp spreadpilot "${ETC}/executor.env"
  for gateway in ${gateways}; do
    log "gateway ${gateway}"
    fetch_gateway_secrets "${gateway}"
    systemctl enable "ib-gateway@${gateway}.service" "spreadpilot-healthprobe@${gateway}.timer"
  done
  log "installing the executor"
  install_executor
  install_units
  for gateway in ${gateways}; do
    systemctl restart "ib-gateway@${gateway}.service"
    systemctl restart "spreadpilot-healthprobe@${gateway}.timer"
  done
  systemctl enable spreadpilot-executor.service
  systemctl restart spreadpilot-executor.service
  log "ready"
}

main "$@"
